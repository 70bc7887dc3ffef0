"""Passwords, login throttling, server-side sessions, API tokens, CSRF and role checks.

Notes
-----
- Passwords are hashed with argon2id (argon2-cffi defaults); only hashes are stored.
- Session cookies and API tokens are random 256-bit values; the database keeps only their
  SHA-256, so a leaked database does not leak live sessions.
- Failed logins back off per account, per client address and per known browser
  (:mod:`ashiguard.services.login_guard`): growing waits, never a hard lock. A browser that
  logged in to an account before carries a signed device cookie (``DEVICE_COOKIE``) and is
  held back by its own count instead of the account's, so nobody who merely knows the owner's
  user name can keep the owner out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from sqlalchemy import bindparam, delete, literal, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ashiguard.adapters.db.models import ApiToken, User, WebSession
from ashiguard.adapters.db.repo import utcnow
from ashiguard.entrypoints.web.text_guard import refuse_nul
from ashiguard.services import login_guard, two_factor
from ashiguard.services.clinic_admin import add_user
from ashiguard.services.uow import Actor

__all__ = [
    "COOKIE",
    "DB_SESSION",
    "DEVICE_COOKIE",
    "Actor",
    "LoginRefused",
    "NotAuthenticated",
    "Principal",
    "api_user",
    "authenticate",
    "check_code",
    "check_csrf",
    "checked_form",
    "client_ip",
    "cookie_secure",
    "count_failure",
    "create_user",
    "db_session",
    "device_cookie",
    "device_id",
    "end_session",
    "hash_password",
    "html_user",
    "issue_api_token",
    "principal_from_request",
    "start_session",
    "token_id",
    "verify_password",
]

COOKIE = "ashiguard_session"
DEVICE_COOKIE = "ashiguard_device"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-for-timing")


class LoginRefused(Exception):
    """A refused login; the message is safe to show. ``retry_after`` (s) is set when the
    attempt was not even looked at because of the back-off."""

    def __init__(self, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotAuthenticated(Exception):
    """No valid session or token: 401 for the API, a redirect to /login for pages."""

    def __init__(self, api: bool) -> None:
        super().__init__("login required")
        self.api = api


@dataclass
class Principal:
    user: Actor
    csrf: str
    via: str  # "cookie" or "token"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_ip(request: Any) -> str:
    c = getattr(request, "client", None)
    return c.host if c else ""


def cookie_secure(request: Any) -> bool:
    """Whether cookies get the ``Secure`` flag: on an HTTPS request (TLS of ``serve``, or a
    trusted proxy's ``X-Forwarded-Proto``) or when the settings say so."""
    settings = request.app.state.settings
    return bool(settings.secure_cookies) or request.url.scheme in ("https", "wss")


def create_user(
    s: Session, username: str, password: str, role: str, display_name: str = ""
) -> User:
    """Add a user (not audited); refuses a taken name, an unknown role or a short password.

    :func:`ashiguard.services.clinic_admin.add_user` with this module's password hashing.
    """
    return add_user(s, username, password, role, display_name, hash_password=hash_password)


def _device_sig(secret: str, user_id: int, nonce: str) -> str:
    key = hmac.new(secret.encode(), b"ashiguard device cookie", hashlib.sha256).digest()
    return hmac.new(key, f"{user_id}.{nonce}".encode(), hashlib.sha256).hexdigest()[:40]


def device_cookie(secret: str, user_id: int) -> str:
    """A new signed device cookie value for a browser that just logged in as ``user_id``."""
    nonce = secrets.token_urlsafe(18)
    return f"{user_id}.{nonce}.{_device_sig(secret, user_id, nonce)}"


def device_id(secret: str, value: str, user_id: int) -> str | None:
    """The back-off id of a device cookie that is genuine and belongs to ``user_id``."""
    parts = value.split(".")
    if len(parts) != 3 or not secret or parts[0] != str(user_id):
        return None
    if not hmac.compare_digest(parts[2], _device_sig(secret, user_id, parts[1])):
        return None
    return hashlib.sha256(value.encode()).hexdigest()[:40]


def authenticate(
    s: Session,
    username: str,
    password: str,
    now: datetime | None = None,
    *,
    ip: str = "",
    device: str = "",
    secret: str = "",
) -> User:
    """The user with these credentials, or :class:`LoginRefused`.

    An attempt under a waiting key (this address; this account, or this browser when it
    carries a genuine device cookie of the account) is refused before the password is looked
    at; a failure is counted under the address, the account and the device (committed at once).
    """
    now = now or utcnow()
    name = username.strip()
    user = s.scalar(select(User).where(User.username == name))
    dev = device_id(secret, device, user.id) if user is not None and device else None
    own_key = login_guard.device_key(dev) if dev else login_guard.account_key(name)
    wait = login_guard.waiting(s, [login_guard.address_key(ip), own_key], now)
    if wait is not None:
        raise LoginRefused(wait.message(), wait.seconds)
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if not ok or user is None:
        count_failure(s, name, ip, dev, now)
        raise LoginRefused("Invalid username or password.")
    if not user.totp_secret:  # with two-step login, only the right code clears the count
        login_guard.forget(s, login_guard.account_key(name))
        if dev:
            login_guard.forget(s, login_guard.device_key(dev))
    return user


def check_code(s: Session, user: User, code: str, *, ip: str = "", dev: str | None = None) -> None:
    """The second step of a two-step login: the code from the user's app, or
    :class:`LoginRefused` (a wrong code counts as a failed login, a waiting key is refused
    first, a code is accepted only once)."""
    now = utcnow()
    own_key = login_guard.device_key(dev) if dev else login_guard.account_key(user.username)
    wait = login_guard.waiting(s, [login_guard.address_key(ip), own_key], now)
    if wait is not None:
        raise LoginRefused(wait.message(), wait.seconds)
    secret = user.totp_secret or ""
    step = two_factor.matching_step(secret, code, user.totp_last_step) if secret else None
    if step is None:
        count_failure(s, user.username, ip, dev, now)
        raise LoginRefused("That code is not right: type the 6 digits your app shows now.")
    user.totp_last_step = step
    login_guard.forget(s, login_guard.account_key(user.username))
    if dev:
        login_guard.forget(s, login_guard.device_key(dev))


def count_failure(s: Session, username: str, ip: str, dev: str | None, now: datetime) -> None:
    """Count one failed login attempt (password or code) and commit it at once."""
    keys = [login_guard.address_key(ip), login_guard.account_key(username)]
    if dev:
        keys.append(login_guard.device_key(dev))
    login_guard.record_failure(s, keys, now)
    s.commit()


def start_session(
    s: Session, user: User, hours: float, ip: str, *, code_pending: bool = False
) -> str:
    """Create a server-side session; returns the cookie value. A ``code_pending`` session
    (password right, two-step code still due) opens no page until the code is given."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    s.execute(delete(WebSession).where(WebSession.expires_at < now))
    s.add(
        WebSession(
            id=token_id(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            ip=ip,
            code_pending=code_pending,
        )
    )
    return token


def end_session(s: Session, token: str) -> None:
    s.execute(delete(WebSession).where(WebSession.id == token_id(token)))


def issue_api_token(s: Session, user: User, hours: float) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    s.add(
        ApiToken(
            id=token_id(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return token


def _principal_query(table: Any) -> Any:
    """The user and CSRF token of a live session or token row: one indexed join, built once.

    A prebuilt statement with bound parameters skips SQLAlchemy's per-call statement building
    and ORM loading (the lookup runs on every request; about half the time of ``Session.get``
    plus the joined user).
    """
    csrf = table.csrf_token if table is WebSession else literal("")
    stmt = (
        select(User.id, User.username, User.display_name, User.role, csrf)
        .select_from(table)
        .join(User, User.id == table.user_id)
        .where(
            table.id == bindparam("h"),
            table.expires_at >= bindparam("now"),
            User.active.is_(True),
        )
    )
    if table is WebSession:  # a session still waiting for its two-step code opens nothing
        stmt = stmt.where(WebSession.code_pending.is_(False))
    return stmt


_SESSION_LOOKUP = _principal_query(WebSession)
_TOKEN_LOOKUP = _principal_query(ApiToken)


def principal_from_request(s: Session, request: Any) -> Principal | None:
    """The logged-in user of a request or WebSocket: bearer token first, then the cookie.

    An unknown, expired or deleted session or token, or a deactivated user, gives None.
    """
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        stmt, secret, via = _TOKEN_LOOKUP, auth[7:].strip(), "token"
    else:
        stmt, secret, via = _SESSION_LOOKUP, request.cookies.get(COOKIE), "cookie"
        if not secret:
            return None
    row = s.connection().execute(stmt, {"h": token_id(secret), "now": utcnow()}).first()
    if row is None:
        return None
    uid, username, display_name, role, csrf = row
    return Principal(Actor(uid, username, display_name, role), csrf, via)


async def db_session(request: Request) -> AsyncIterator[Session]:
    """One database session per request (committed when the handler succeeds).

    An async dependency on purpose: opening and committing a session is quick, and this saves
    two thread-pool round trips per request (the handlers themselves run in the thread pool).
    """
    with request.app.state.db.session() as s:
        yield s


DB_SESSION: Any = Depends(db_session, scope="function")
"""The request's database session as every route and dependency takes it: committed when the
handler returns, *before* the response is sent (FastAPI's ``scope="function"``). With the
default scope the commit ran after the response had started: a database that went away at that
moment showed the user a page as if their change (or an audited read's entry) was stored, and
the 503 could no longer be sent."""


_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


async def _submitted_token(request: Request) -> str:
    """The CSRF token a cookie call sent: the ``X-CSRF-Token`` header (API, the pages' JSON
    calls) or the form's ``csrf_token`` field."""
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return str((await request.form()).get("csrf_token", ""))
    return ""


def _checker(api: bool, roles: tuple[str, ...]) -> Callable[..., Principal]:
    async def dep(request: Request, s: Session = DB_SESSION) -> Principal:
        p = principal_from_request(s, request)
        if p is None:
            raise NotAuthenticated(api=api)
        if roles and p.user.role not in roles:
            raise HTTPException(403, f"role {p.user.role!r} may not use this page")
        if request.method not in _SAFE and p.via == "cookie":
            # before the body is even validated: a forged request learns nothing
            submitted = await _submitted_token(request)
            try:
                check_csrf(p, submitted)
            except HTTPException:
                read_form = not request.headers.get("x-csrf-token")
                if read_form and request.headers.get("content-type", "").startswith(
                    "multipart/form-data"
                ):  # the form read for its token: close an upload's temporary files
                    await (await request.form()).close()
                raise
        request.state.principal = p
        return p

    dep.roles = roles  # type: ignore[attr-defined]
    return dep


def html_user(*roles: str) -> Callable[..., Principal]:
    """Dependency for pages: redirect to /login without a session, 403 for other roles, and
    for a change (POST, ...) 403 without the session's CSRF token."""
    return _checker(False, roles)


def api_user(*roles: str) -> Callable[..., Principal]:
    """Dependency for /api/v1: 401 without a token or session, 403 for other roles, and for
    a cookie-authenticated change 403 without ``X-CSRF-Token`` (bearer calls need none)."""
    return _checker(True, roles)


def check_csrf(p: Principal, submitted: str | None) -> None:
    """Refuse a cookie-authenticated change without the session's CSRF token."""
    if p.via == "token":
        return
    if not submitted or not hmac.compare_digest(submitted, p.csrf):
        raise HTTPException(403, "csrf_token: missing or wrong (reload the page and try again)")


async def checked_form(request: Request, p: Principal) -> FormData:
    """The posted form, after :func:`check_csrf` on its ``csrf_token`` field."""
    form = await request.form()
    check_csrf(p, str(form.get("csrf_token", "")))
    refuse_nul(form.multi_items())
    return form
