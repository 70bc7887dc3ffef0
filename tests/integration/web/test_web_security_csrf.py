"""Cross-site request forgery against a real uvicorn server (issue 16): every HTML form the
pages show and every mutating route of the route table, posted with a logged-in cookie but
without (or with someone else's) CSRF token, is refused and changes nothing; the same API
calls with a bearer token need no CSRF token."""

from __future__ import annotations

from html.parser import HTMLParser

from liveserver import client_from, form_token, log_in, serving
from sqlalchemy import select, text
from test_web_routes import EXPECTED, PUBLIC, _records, _routes, _url
from webhelpers import PASSWORDS

from ashiguard.adapters.db.models import Base

JSON_PAGE_CALLS = ("/ack", "/markers", "/tare")
LOGS = {"audit_log", "web_sessions", "api_tokens", "login_throttle", "audit_head"}


class _Forms(HTMLParser):
    """The POST forms of a page: action and fields (name -> value)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._open = {}
            self.forms.append((a.get("action") or "", self._open))
        elif tag in ("input", "select", "textarea") and self._open is not None and a.get("name"):
            self._open[a["name"]] = a.get("value") or "x"

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def _snapshot(db):
    """Every clinic table's rows (logs and login bookkeeping aside)."""
    out = {}
    with db.engine.connect() as conn:
        for t in Base.metadata.sorted_tables:
            if t.name in LOGS:
                continue
            out[t.name] = sorted(map(repr, conn.execute(select(t)).all()))
    return out


def _pages(ids):
    return [
        _url(path, ids)
        for method, path in EXPECTED
        if method == "GET" and not path.startswith("/api/") and "plots" not in path
    ]


def test_every_form_on_every_page_is_refused_without_its_csrf_token(app, db):
    ids = {**_records(db), "token": "x"}
    before = _snapshot(db)
    seen: set[str] = set()
    with serving(app) as base, client_from(base) as owner:
        log_in(owner, "owner", PASSWORDS["owner"])
        forms: list[tuple[str, dict[str, str]]] = []
        for url in _pages(ids):
            parser = _Forms()
            parser.feed(owner.get(url).text)
            forms.extend(parser.forms)
        for action, fields in forms:
            if action in seen or action.startswith("/login"):
                continue
            seen.add(action)
            assert "csrf_token" in fields, f"form {action} has no csrf_token field"
            without = {k: v for k, v in fields.items() if k != "csrf_token"}
            r = owner.post(action, data=without)
            assert r.status_code == 403, (action, r.status_code)
            assert "csrf_token" in r.text
            r = owner.post(action, data={**without, "csrf_token": "forged-" + "0" * 40})
            assert r.status_code == 403, (action, r.status_code)
        assert owner.get("/").status_code == 200  # the refused logout left the session alone
    assert len(seen) >= 10, sorted(seen)
    assert _snapshot(db) == before


def test_every_mutating_route_refuses_a_cookie_call_without_the_token(app, db):
    ids = _records(db)
    before = _snapshot(db)
    mutating = [(m, p) for m, p in _routes(app) if m != "GET" and EXPECTED[(m, p)] != PUBLIC]
    with serving(app) as base, client_from(base) as owner, client_from(base) as other:
        log_in(owner, "owner", PASSWORDS["owner"])
        log_in(other, "therapist", PASSWORDS["therapist"])
        foreign = form_token(other.get("/").text)  # a real token, of another session
        for method, path in mutating:
            url = _url(path, ids)
            for token in (None, foreign):
                headers = {"X-CSRF-Token": token} if token else {}
                if path.startswith("/api/") or path.endswith(JSON_PAGE_CALLS):
                    r = owner.request(method, url, json={}, headers=headers)
                else:
                    r = owner.request(method, url, data={"csrf_token": token} if token else {})
                assert r.status_code == 403, (method, path, token, r.status_code, r.text[:200])
    assert len(mutating) >= 25
    assert _snapshot(db) == before


def test_bearer_token_api_calls_need_no_csrf_token(app, db):
    ids = _records(db)
    with serving(app) as base, client_from(base) as c:
        tok = c.post(
            "/api/v1/auth/token", json={"username": "owner", "password": PASSWORDS["owner"]}
        ).json()["token"]
        bearer = {"Authorization": f"Bearer {tok}"}
        r = c.post("/api/v1/clients", json={"name": "Via Token"}, headers=bearer)
        assert r.status_code == 201
        for method, path in _routes(app):
            if (
                method == "GET"
                or not path.startswith("/api/")
                or EXPECTED[(method, path)] == PUBLIC
            ):
                continue
            r = c.request(method, _url(path, ids), json={}, headers=bearer)
            assert r.status_code != 403, (method, path, r.text[:200])


def test_the_public_forms_have_their_own_token(app, db):
    with serving(app) as base, client_from(base) as c:
        r = c.post("/login", data={"username": "owner", "password": PASSWORDS["owner"]})
        assert r.status_code == 400 and "form expired" in r.text
        with db.engine.connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM web_sessions")).scalar()
        assert n == 0
        assert c.post("/login/code", data={"code": "123456"}).headers["location"] == "/login"
    # the reset form's own token: test_web_security_passwords.py
