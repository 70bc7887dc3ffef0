"""Security headers on every answer of a real uvicorn server (issue 16): every page route of
the route table walked as the owner (plus redirects, errors, the API and static files) gets the
CSP without 'unsafe-inline' and with frame-ancestors 'none', Referrer-Policy,
X-Content-Type-Options and X-Frame-Options; no page carries inline script or style; HTTPS adds
HSTS."""

from __future__ import annotations

import re
import ssl

from liveserver import client_from, log_in, self_signed, serving
from test_web_routes import EXPECTED, _records, _routes, _url
from webhelpers import PASSWORDS

from ashiguard.entrypoints.web.app import CSP

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def _check(r, where):
    h = r.headers
    csp = h.get("content-security-policy", "")
    assert csp == CSP, (where, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("referrer-policy") == "same-origin", where
    assert h.get("x-frame-options") == "DENY", where
    if not where[1].startswith("/static/"):  # nothing shared caches may keep
        cc = h.get("cache-control", "")
        assert cc == "no-store" or cc.startswith("private,"), (where, cc)
    if h.get("content-type", "").startswith("text/html"):
        body = r.text
        assert not INLINE_SCRIPT.search(body), (where, INLINE_SCRIPT.search(body).group(0))
        assert not INLINE_STYLE.search(body), (where, INLINE_STYLE.search(body).group(0))
        assert not HANDLER.search(body), (where, HANDLER.search(body).group(0))


def test_every_page_route_and_every_kind_of_answer_carries_the_security_headers(app, db):
    ids = {**_records(db), "token": "not-a-real-link"}
    walked = 0
    with serving(app) as base:
        with client_from(base) as anonymous:
            for path in (
                "/login",
                "/healthz",
                "/",
                "/clients",
                "/api/v1/me",
                "/no-such-page",
                "/static/app.css",
                "/static/live.js",
                "/login/code",
                "/reset/x",
            ):
                _check(anonymous.get(path), ("GET", path))
            _check(anonymous.post("/login", data={"username": "owner"}), ("POST", "/login"))
        with client_from(base) as owner:
            assert log_in(owner, "owner", PASSWORDS["owner"]).status_code == 303
            for method, path in _routes(app):
                if method != "GET":
                    continue
                r = owner.get(_url(path, ids))
                _check(r, (method, path))
                walked += 1
            # errors of every kind: 403 (no CSRF token), 400, 404, 422 in the API
            _check(owner.post("/clients/new", data={"name": "x"}), ("POST", "/clients/new"))
            _check(owner.get("/clients/99999999"), ("GET", "/clients/99999999"))
            _check(owner.get("/clients/x"), ("GET", "/clients/x"))
            _check(owner.get("/api/v1/clients/x"), ("GET", "/api/v1/clients/x"))
    assert walked == sum(1 for m, _ in EXPECTED if m == "GET")


def test_under_https_the_answers_also_ask_the_browser_to_stay_on_https(app, tmp_path):
    cert, key = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    with serving(app, certfile=cert, keyfile=key) as base, client_from(base, verify=trust) as c:
        for path in ("/login", "/static/app.css", "/api/v1/me"):
            r = c.get(path)
            _check(r, ("GET", path))
            assert r.headers["strict-transport-security"] == "max-age=31536000"
    with serving(app) as base, client_from(base) as c:
        assert "strict-transport-security" not in c.get("/login").headers
