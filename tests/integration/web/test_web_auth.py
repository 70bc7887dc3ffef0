"""Login, sessions, lockout, logout, CSRF and /healthz, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from webhelpers import csrf_of, login

from ashiguard.adapters.db.models import AuditEntry, LoginThrottle, User, WebSession
from ashiguard.entrypoints.web.security import COOKIE, token_id
from ashiguard.services.login_guard import ACCOUNT, account_key

MAX_FAILED = ACCOUNT.free


def test_healthz_answers_without_login(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


def test_pages_redirect_to_login_and_api_answers_401_without_a_session(client):
    r = client.get("/clients?q=a")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/clients%3Fq%3Da"
    r = client.get("/api/v1/clients")
    assert r.status_code == 401
    assert "login required" in r.json()["detail"]


def test_login_sets_an_httponly_samesite_cookie_and_stores_only_its_hash(client, db):
    r = login(client, "therapist")
    assert r.status_code == 303
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    value = client.cookies.get(COOKIE)
    with db.session() as s:
        ids = s.scalars(select(WebSession.id)).all()
    assert token_id(value) in ids
    assert value not in ids
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_with_the_same_message_as_an_unknown_user(client):
    r1 = login(client, "therapist", "wrong-password")
    r2 = login(client, "nobody", "wrong-password")
    assert r1.status_code == r2.status_code == 401
    assert "Invalid username or password." in r1.text
    assert "Invalid username or password." in r2.text
    assert COOKIE not in client.cookies


def test_login_without_the_form_token_is_refused(client):
    r = client.post("/login", data={"username": "owner", "password": "owner-pass-123"})
    assert r.status_code == 400
    assert COOKIE not in client.cookies


def test_repeated_failed_logins_hold_back_a_new_browser_even_for_the_right_password(client, db):
    for _ in range(MAX_FAILED):
        assert login(client, "front_desk", "not-the-password").status_code == 401
    r = login(client, "front_desk")
    assert r.status_code == 429
    assert "try again in" in r.text
    with db.session() as s:
        row = s.get(LoginThrottle, account_key("front_desk"))
        assert row.failures == MAX_FAILED
        assert row.wait_until is not None
        fails = s.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed")).all()
        assert len(fails) == MAX_FAILED + 1


def test_logout_ends_the_server_side_session(client, db):
    login(client, "owner")
    old = client.cookies.get(COOKIE)
    token = csrf_of(client)
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303
    with db.session() as s:
        assert s.get(WebSession, token_id(old)) is None
    client.cookies.set(COOKIE, old)
    assert client.get("/").status_code == 303


def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(client, db):
    login(client, "owner")
    r = client.post("/clients/new", data={"name": "Eve Forged"})
    assert r.status_code == 403
    assert "csrf_token" in r.text
    r = client.post("/clients/new", data={"name": "Eve Forged", "csrf_token": "wrong"})
    assert r.status_code == 403
    from ashiguard.adapters.db.models import Client

    with db.session() as s:
        assert s.scalars(select(Client)).all() == []


def test_api_token_login_and_bearer_auth(client):
    r = client.post(
        "/api/v1/auth/token", json={"username": "therapist", "password": "therapist-pass-123"}
    )
    assert r.status_code == 200
    tok = r.json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tok}"})
    assert me.json()["role"] == "therapist"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    bad = client.post("/api/v1/auth/token", json={"username": "therapist", "password": "nope"})
    assert bad.status_code == 401


def test_expired_sessions_and_deactivated_users_are_logged_out_at_once(client, db):
    login(client, "therapist")
    token = client.post(
        "/api/v1/auth/token", json={"username": "therapist", "password": "therapist-pass-123"}
    ).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/clients").status_code == 200
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    with db.session() as s:
        ws = s.get(WebSession, token_id(client.cookies.get(COOKIE)))
        ws.expires_at = ws.created_at - timedelta(seconds=1)
    assert client.get("/clients").status_code == 303
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    with db.session() as s:
        s.scalar(select(User).where(User.username == "therapist")).active = False
    assert client.get("/api/v1/me", headers=bearer).status_code == 401


def test_security_headers_forbid_framing_and_foreign_scripts(client):
    r = client.get("/login")
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
