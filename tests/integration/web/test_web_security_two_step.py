"""Two-step login (TOTP) for owners against a real uvicorn server (issue 16): set-up with the
secret as text and an otpauth URI, confirmed by a code; then the login asks for the code, a
wrong code is refused and counted by the back-off, a code works once, the API wants it too."""

from __future__ import annotations

import re
import time

import pyotp
from liveserver import client_from, form_token, log_in, serving
from sqlalchemy import select, update
from webhelpers import PASSWORDS

from ashiguard.adapters.db.models import AuditEntry, LoginThrottle, User
from ashiguard.entrypoints.web.security import COOKIE
from ashiguard.services import login_guard

PW = PASSWORDS["owner"]


def _code(secret, ahead_s=0.0):
    return pyotp.TOTP(secret).at(time.time() + ahead_s)


def _enrol(base, db, c=None):
    """The owner sets up two-step login through the pages (in browser ``c``, kept open, or a
    throw-away one); returns the secret."""
    with c or client_from(base) as c:
        log_in(c, "owner", PW)
        page = c.get("/account/two-factor")
        assert "Set up two-step login" in page.text
        c.post("/account/two-factor/start", data={"csrf_token": form_token(page.text)})
        page = c.get("/account/two-factor")
        secret = re.search(r'id="two-step-secret">([A-Z2-7 ]+)<', page.text).group(1)
        secret = secret.replace(" ", "")
        uri = re.search(r'id="two-step-uri">([^<]+)<', page.text).group(1)
        assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
        assert "issuer=ashiguard%20clinic" in uri
        wrong = c.post(
            "/account/two-factor/confirm",
            data={"csrf_token": form_token(page.text), "code": "000000"},
        )
        assert wrong.status_code == 400 and "not the code the app shows" in wrong.text
        ok = c.post(
            "/account/two-factor/confirm",
            data={"csrf_token": form_token(page.text), "code": _code(secret)},
        )
        assert ok.status_code == 303
        assert "Two-step login is on" in c.get(ok.headers["location"]).text
    _time_moves_on(db)
    return secret


def _time_moves_on(db):
    """Forget which code step was used last (as if the next 30-second step had come)."""
    with db.session() as s:
        s.execute(update(User).where(User.username == "owner").values(totp_last_step=None))


def _code_step(c, code, next_="/"):
    page = c.get("/login/code")
    return c.post(
        f"/login/code?next={next_}",
        data={"csrf_token": form_token(page.text), "code": code, "next": next_},
    )


def test_after_set_up_the_login_asks_for_the_code_and_only_the_right_one_opens(app, db):
    with serving(app) as base:
        secret = _enrol(base, db)
        with client_from(base, "127.0.0.2") as c:
            r = log_in(c, "owner", PW)
            assert r.status_code == 303 and r.headers["location"].startswith("/login/code")
            pending = c.cookies[COOKIE]
            assert c.get("/").status_code == 303  # the password alone opens nothing
            assert c.get("/api/v1/me").status_code == 401
            bad = _code_step(c, "123456")
            assert bad.status_code == 401 and "That code is not right" in bad.text
            ok = _code_step(c, _code(secret))
            assert ok.status_code == 303 and ok.headers["location"] == "/"
            assert c.cookies[COOKIE] != pending  # a new session id after the code
            assert c.get("/").status_code == 200
    with db.session() as s:
        row = s.get(LoginThrottle, login_guard.account_key("owner"))
        assert row is None  # the right code cleared the count
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "two_step_on" in actions and "login_code_asked" in actions


def test_a_code_works_once(app, db):
    with serving(app) as base:
        secret = _enrol(base, db)
        code = _code(secret)
        with client_from(base) as first:
            log_in(first, "owner", PW)
            assert _code_step(first, code).status_code == 303
        with client_from(base, "127.0.0.2") as second:  # someone who saw it over a shoulder
            log_in(second, "owner", PW)
            assert _code_step(second, code).status_code == 401


def test_wrong_codes_are_counted_and_the_right_password_does_not_reset_the_count(app, db):
    with serving(app) as base, client_from(base) as owner:
        secret = _enrol(base, db, _Kept(owner))
        with client_from(base, "127.0.0.3") as attacker:  # knows the password, not the phone
            for _ in range(login_guard.ACCOUNT.free):
                assert log_in(attacker, "owner", PW).status_code == 303
                assert _code_step(attacker, "654321").status_code == 401
            held = log_in(attacker, "owner", PW)
            assert held.status_code == 429 and "for this account" in held.text
        with client_from(base, "127.0.0.4") as c:
            assert log_in(c, "owner", PW).status_code == 429
        # the owner's own browser (its device cookie from before) still gets in
        assert log_in(owner, "owner", PW).status_code == 303
        assert _code_step(owner, _code(secret)).headers["location"] == "/"
        assert owner.get("/").status_code == 200


class _Kept:
    """A client used in a ``with`` block without being closed at its end."""

    def __init__(self, c):
        self.c = c

    def __enter__(self):
        return self.c

    def __exit__(self, *exc):
        return False


def test_the_api_token_exchange_needs_the_code_too(app, db):
    with serving(app) as base:
        secret = _enrol(base, db)
        with client_from(base) as c:
            body = {"username": "owner", "password": PW}
            r = c.post("/api/v1/auth/token", json=body)
            assert r.status_code == 401 and r.json()["detail"].startswith("code: this account")
            r = c.post("/api/v1/auth/token", json={**body, "code": "999999"})
            assert r.status_code == 401 and "not right" in r.json()["detail"]
            r = c.post("/api/v1/auth/token", json={**body, "code": _code(secret)})
            assert r.status_code == 200
            me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"})
            assert me.json()["username"] == "owner"


def test_turning_it_off_needs_a_current_code(app, db):
    with serving(app) as base:
        secret = _enrol(base, db)
        with client_from(base) as c:
            log_in(c, "owner", PW)
            _code_step(c, _code(secret))
            page = c.get("/account/two-factor")
            bad = c.post(
                "/account/two-factor/off",
                data={"csrf_token": form_token(page.text), "code": "111111"},
            )
            assert bad.status_code == 400
            ok = c.post(
                "/account/two-factor/off",
                data={"csrf_token": form_token(page.text), "code": _code(secret, 30)},
            )
            assert ok.status_code == 303
        with client_from(base, "127.0.0.2") as c:
            assert log_in(c, "owner", PW).headers["location"] == "/"
