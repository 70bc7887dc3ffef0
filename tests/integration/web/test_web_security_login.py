"""Password guessing against a real uvicorn server from several loopback addresses (issue 16):
waits that grow per account, per client address and per known browser, and that an outsider
cannot use to keep the owner out (docs/security.md, "Login back-off")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from liveserver import client_from, form_token, log_in, serving
from sqlalchemy import select, update
from webhelpers import PASSWORDS

from ashiguard.adapters.db.models import AuditEntry, LoginThrottle, User
from ashiguard.adapters.db.repo import utcnow
from ashiguard.entrypoints.web.security import COOKIE, DEVICE_COOKIE
from ashiguard.services import login_guard

OWNER_PW = PASSWORDS["owner"]


def _owner_browser(base):
    """The owner's own browser on 127.0.0.1: it has logged in before (device cookie kept) and
    logged out again."""
    c = client_from(base, "127.0.0.1")
    assert log_in(c, "owner", OWNER_PW).status_code == 303
    assert c.cookies.get(DEVICE_COOKIE)
    c.post("/logout", data={"csrf_token": form_token(c.get("/").text)})
    return c


def _time_passes(db, key):
    """The running wait of ``key`` ends (as if its time had passed)."""
    with db.session() as s:
        s.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(wait_until=utcnow() - timedelta(seconds=1))
        )


def test_guessing_the_owner_password_from_elsewhere_never_keeps_the_owner_out(app, db):
    with serving(app) as base:
        owner = _owner_browser(base)
        with client_from(base, "127.0.0.2") as attacker:
            for _ in range(login_guard.ACCOUNT.free):
                assert log_in(attacker, "owner", "guess-number-n").status_code == 401
            held = log_in(attacker, "owner", "guess-number-n")
            assert held.status_code == 429
            assert "Too many failed logins for this account" in held.text
            assert 0 < int(held.headers["retry-after"]) <= 30
            # the wait holds back even the right password from a browser the account never used
            assert log_in(attacker, "owner", OWNER_PW).status_code == 429
        with client_from(base, "127.0.0.3") as new_browser:
            assert log_in(new_browser, "owner", OWNER_PW).status_code == 429
        # the owner's own browser is held back by its own count, which is clean
        r = log_in(owner, "owner", OWNER_PW)
        assert r.status_code == 303
        assert owner.get("/").status_code == 200
        owner.close()


def test_the_wait_doubles_with_every_further_failure_up_to_its_cap(app, db):
    key = login_guard.account_key("therapist")
    with serving(app) as base, client_from(base, "127.0.0.2") as attacker:
        waits = []
        for _ in range(login_guard.ACCOUNT.free):
            log_in(attacker, "therapist", "wrong-guess-123")
        for _ in range(7):
            with db.session() as s:
                row = s.get(LoginThrottle, key)
                waits.append(round((row.wait_until - row.last_failure_at).total_seconds()))
            _time_passes(db, key)
            _time_passes(db, login_guard.address_key("127.0.0.2"))
            assert log_in(attacker, "therapist", "wrong-guess-123").status_code == 401
        assert waits == [30, 60, 120, 240, 480, 900, 900]


def test_one_address_trying_many_names_is_held_back_and_no_other_address_is(app, db):
    with serving(app) as base:
        with client_from(base, "127.0.0.2") as sprayer:
            for i in range(login_guard.ADDRESS.free):
                assert log_in(sprayer, f"user{i}", "Summer2026!!").status_code == 401
            held = log_in(sprayer, "therapist", PASSWORDS["therapist"])
            assert held.status_code == 429
            assert "from this address" in held.text
        with client_from(base, "127.0.0.1") as owner:  # no device cookie: a fresh browser
            assert log_in(owner, "owner", OWNER_PW).status_code == 303
        with client_from(base, "127.0.0.4") as colleague:
            assert log_in(colleague, "therapist", PASSWORDS["therapist"]).status_code == 303


def test_an_unknown_name_is_held_back_exactly_like_a_real_one(app):
    with serving(app) as base, client_from(base, "127.0.0.2") as c:
        answers = []
        for name in ("owner", "no-such-user"):
            answers.append([log_in(c, name, "wrong-guess-123").status_code for _ in range(6)])
        assert answers[0] == answers[1] == [401] * 5 + [429]


def test_a_forged_x_forwarded_for_does_not_escape_the_address_limit(app):
    with serving(app) as base, client_from(base, "127.0.0.2") as c:
        codes = [
            c.post(
                "/login",
                data={
                    "username": f"name{i}",
                    "password": "wrong-guess-123",
                    "csrf_token": form_token(c.get("/login").text),
                },
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            ).status_code
            for i in range(login_guard.ADDRESS.free + 1)
        ]
    assert codes == [401] * login_guard.ADDRESS.free + [429]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(app, db):
    def via_proxy(c, name, pw, client):
        token = form_token(c.get("/login", headers={"X-Forwarded-For": client}).text)
        return c.post(
            "/login",
            data={"username": name, "password": pw, "csrf_token": token},
            headers={"X-Forwarded-For": client},
        )

    with serving(app, trusted_proxies="127.0.0.1") as base, client_from(base) as proxy:
        for i in range(login_guard.ADDRESS.free):
            assert via_proxy(proxy, f"name{i}", "wrong-guess-123", "203.0.113.7").status_code == 401
        assert via_proxy(proxy, "owner", OWNER_PW, "203.0.113.7").status_code == 429
        assert via_proxy(proxy, "owner", OWNER_PW, "203.0.113.8").status_code == 303
    with db.session() as s:
        ips = set(s.scalars(select(AuditEntry.ip).where(AuditEntry.action == "login_failed")))
    assert ips == {"203.0.113.7"}


def test_a_forged_or_borrowed_device_cookie_does_not_skip_the_account_wait(app, db):
    with serving(app) as base:
        with client_from(base, "127.0.0.1") as desk:  # a genuine device cookie of front_desk
            log_in(desk, "front_desk", PASSWORDS["front_desk"])
            borrowed = desk.cookies[DEVICE_COOKIE]
        with client_from(base, "127.0.0.2") as attacker:
            for _ in range(login_guard.ACCOUNT.free):
                log_in(attacker, "owner", "wrong-guess-123")
        with db.session() as s:
            owner_id = s.scalar(select(User.id).where(User.username == "owner"))
        for cookie in (borrowed, f"{owner_id}.made-up-nonce.{'0' * 40}"):
            with client_from(base, "127.0.0.3") as c:
                c.cookies.set(DEVICE_COOKIE, cookie, domain="127.0.0.1", path="/login")
                assert log_in(c, "owner", OWNER_PW).status_code == 429


def test_the_api_token_exchange_is_held_back_too(app):
    with serving(app) as base, client_from(base, "127.0.0.2") as c:
        body = {"username": "researcher", "password": "wrong-guess-123"}
        codes = [c.post("/api/v1/auth/token", json=body).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        r = c.post(
            "/api/v1/auth/token",
            json={"username": "researcher", "password": PASSWORDS["researcher"]},
        )
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert "try again in" in r.json()["detail"]


def test_the_owner_lets_a_held_back_colleague_log_in_at_once(app, db):
    with serving(app) as base:
        with client_from(base, "127.0.0.2") as c:
            for _ in range(login_guard.ACCOUNT.free):
                log_in(c, "therapist", "wrong-guess-123")
            assert log_in(c, "therapist", PASSWORDS["therapist"]).status_code == 429
        with client_from(base, "127.0.0.1") as owner:
            log_in(owner, "owner", OWNER_PW)
            page = owner.get("/admin/users")
            assert "waiting after failed logins" in page.text
            with db.session() as s:
                uid = s.scalar(select(User.id).where(User.username == "therapist"))
            r = owner.post(
                f"/admin/users/{uid}/active",
                data={"csrf_token": form_token(page.text), "active": "true"},
            )
            assert r.status_code == 303
        with client_from(base, "127.0.0.5") as c:
            assert log_in(c, "therapist", PASSWORDS["therapist"]).status_code == 303
            assert c.cookies.get(COOKIE)


@pytest.mark.parametrize("failures", [0, 4, 5, 6, 20, 10_000])
def test_the_back_off_grows_and_is_capped(failures):
    wait = login_guard.ACCOUNT.wait_s(failures)
    assert wait == (0 if failures < 5 else min(900, 30 * 2 ** (failures - 5)))


def test_a_key_starts_afresh_an_hour_after_its_last_failure(db):
    key = login_guard.account_key("someone")
    t0 = utcnow()
    with db.session() as s:
        for _ in range(7):
            login_guard.record_failure(s, [key], t0)
        assert login_guard.waiting(s, [key], t0).seconds == 120
        later = t0 + timedelta(hours=1, seconds=1)
        assert login_guard.waiting(s, [key], later) is None
        login_guard.record_failure(s, [key], later)
        assert s.get(LoginThrottle, key).failures == 1
        assert login_guard.waiting(s, [key], later) is None
