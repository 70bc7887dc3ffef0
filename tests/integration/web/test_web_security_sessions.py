"""Login sessions under attack, against a real uvicorn server (issue 16): a new session id at
every login and none left after logout, a session id planted before login is never adopted,
and the cookie flags (HttpOnly, SameSite, Secure under HTTPS) as the browser receives them."""

from __future__ import annotations

import ssl
from http.cookies import SimpleCookie

from liveserver import client_from, form_token, log_in, self_signed, serving
from sqlalchemy import func, select
from webhelpers import PASSWORDS

from ashiguard.adapters.db.models import WebSession
from ashiguard.entrypoints.web.security import COOKIE, token_id


def _set_cookie(r, name):
    """The parsed ``Set-Cookie`` header of ``name`` (a morsel; its flags in lower case)."""
    for header in r.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(header)
        if name in jar:
            return jar[name], header.lower()
    raise AssertionError(f"no Set-Cookie for {name}: {r.headers.get_list('set-cookie')}")


def _works(base, cookie):
    """Whether a request carrying only this session cookie reaches the dashboard."""
    with client_from(base, cookies={COOKIE: cookie}) as c:
        return c.get("/").status_code == 200


def test_every_login_gives_a_new_session_id_and_the_old_one_stops_working(app, db):
    with serving(app) as base, client_from(base) as c:
        assert log_in(c, "owner", PASSWORDS["owner"]).status_code == 303
        first = c.cookies[COOKIE]
        assert log_in(c, "owner", PASSWORDS["owner"]).status_code == 303
        second = c.cookies[COOKIE]
        assert second != first
        assert not _works(base, first)
        assert _works(base, second)
        with db.session() as s:
            assert s.get(WebSession, token_id(first)) is None


def test_logout_ends_the_session_so_a_copied_cookie_no_longer_works(app, db):
    with serving(app) as base, client_from(base) as c:
        log_in(c, "therapist", PASSWORDS["therapist"])
        cookie = c.cookies[COOKIE]
        r = c.post("/logout", data={"csrf_token": form_token(c.get("/").text)})
        assert r.status_code == 303
        morsel, _ = _set_cookie(r, COOKIE)
        assert morsel.value in ("", '""')  # the browser is told to forget it
        assert not _works(base, cookie)
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(WebSession)) == 0


def test_a_session_id_planted_in_the_browser_before_login_is_never_adopted(app, db):
    with serving(app) as base:
        with client_from(base) as attacker:  # a valid session of the attacker's own account
            log_in(attacker, "front_desk", PASSWORDS["front_desk"])
            planted = attacker.cookies[COOKIE]
        with client_from(base) as victim:
            victim.cookies.set(COOKIE, planted, domain="127.0.0.1", path="/")
            assert victim.get("/").status_code == 200  # the planted session is live
            assert log_in(victim, "owner", PASSWORDS["owner"]).status_code == 303
            assert victim.cookies[COOKIE] != planted
        assert not _works(base, planted)


def test_session_and_login_form_cookies_are_httponly_and_samesite_over_http(app):
    with serving(app) as base, client_from(base) as c:
        form = c.get("/login")
        morsel, raw = _set_cookie(form, "ashiguard_login_csrf")
        assert morsel["httponly"] and morsel["samesite"].lower() == "strict"
        assert "secure" not in raw  # plain HTTP: a Secure cookie would never come back
        r = log_in(c, "owner", PASSWORDS["owner"])
        morsel, raw = _set_cookie(r, COOKIE)
        assert morsel["httponly"]
        assert morsel["samesite"].lower() == "lax"
        assert morsel["path"] == "/"
        assert int(morsel["max-age"]) == 12 * 3600
        assert "secure" not in raw


def test_under_https_every_cookie_is_secure_as_well(app, tmp_path):
    cert, key = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    assert app.state.settings.secure_cookies is False  # the scheme alone decides here
    with serving(app, certfile=cert, keyfile=key) as base, client_from(base, verify=trust) as c:
        assert base.startswith("https://")
        form = c.get("/login")
        assert _set_cookie(form, "ashiguard_login_csrf")[0]["secure"]
        r = log_in(c, "owner", PASSWORDS["owner"])
        assert r.status_code == 303
        morsel, _ = _set_cookie(r, COOKIE)
        assert morsel["secure"] and morsel["httponly"]
        assert morsel["samesite"].lower() == "lax"
        assert c.get("/").status_code == 200


def test_a_user_sees_their_logins_and_ends_all_others_with_their_password(app, db):
    with (
        serving(app) as base,
        client_from(base, "127.0.0.1") as desk,
        client_from(base, "127.0.0.7") as lost,
    ):
        log_in(desk, "therapist", PASSWORDS["therapist"])
        log_in(lost, "therapist", PASSWORDS["therapist"])
        tok = desk.post(
            "/api/v1/auth/token",
            json={"username": "therapist", "password": PASSWORDS["therapist"]},
        ).json()["token"]
        page = desk.get("/account/password")
        assert "127.0.0.7" in page.text and "this browser" in page.text
        data = {"csrf_token": form_token(page.text), "current_password": "not-my-password"}
        wrong = desk.post("/account/logins/end-others", data=data)
        assert wrong.status_code == 400 and "not your current password" in wrong.text
        assert lost.get("/").status_code == 200
        data["current_password"] = PASSWORDS["therapist"]
        r = desk.post("/account/logins/end-others", data=data)
        assert r.status_code == 303
        assert "2 logins ended" in desk.get(r.headers["location"]).text  # a browser, a token
        assert lost.get("/").status_code == 303
        me = desk.get("/api/v1/me", headers={"Authorization": f"Bearer {tok}"})
        assert me.status_code == 401
        assert desk.get("/").status_code == 200  # this browser stays in
