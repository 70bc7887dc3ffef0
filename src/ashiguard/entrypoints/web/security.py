"""Passwords, login throttling, server-side sessions, API tokens, CSRF and role checks.

Notes
-----
- Passwords are hashed with argon2id (argon2-cffi defaults); only hashes are stored.
- Session cookies and API tokens are random 256-bit values; the database keeps only their
  SHA-256, so a leaked database does not leak live sessions.
- After ``MAX_FAILED`` consecutive failed logins an account is locked for ``LOCK_BASE_S``
  seconds, doubling with every further failure up to ``LOCK_MAX_S``.
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
from ashiguard.services.clinic_admin import add_user
from ashiguard.services.uow import Actor

__all__ = [
    "COOKIE",
    "LOCK_BASE_S",
    "LOCK_MAX_S",
    "MAX_FAILED",
    "Actor",
    "LoginRefused",
    "NotAuthenticated",
    "Principal",
    "api_user",
    "authenticate",
    "check_csrf",
    "checked_form",
    "client_ip",
    "create_user",
    "db_session",
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
MAX_FAILED = 5
LOCK_BASE_S = 60
LOCK_MAX_S = 3600

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-for-timing")


class LoginRefused(Exception):
    """A refused login; the message is safe to show."""


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


def create_user(
    s: Session, username: str, password: str, role: str, display_name: str = ""
) -> User:
    """Add a user (not audited); refuses a taken name, an unknown role or a short password.

    :func:`ashiguard.services.clinic_admin.add_user` with this module's password hashing.
    """
    return add_user(s, username, password, role, display_name, hash_password=hash_password)


def authenticate(s: Session, username: str, password: str, now: datetime | None = None) -> User:
    """The user with these credentials, or :class:`LoginRefused` (failures are counted)."""
    now = now or utcnow()
    user = s.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        raise LoginRefused("Invalid username or password.")
    if user.locked_until is not None and user.locked_until > now:
        raise LoginRefused("Too many failed logins: this account is locked for a while; try later.")
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED:
            wait = min(LOCK_MAX_S, LOCK_BASE_S * 2 ** (user.failed_logins - MAX_FAILED))
            user.locked_until = now + timedelta(seconds=wait)
        s.commit()
        raise LoginRefused("Invalid username or password.")
    user.failed_logins = 0
    user.locked_until = None
    return user


def start_session(s: Session, user: User, hours: float, ip: str) -> str:
    """Create a server-side session; returns the cookie value."""
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
    return (
        select(User.id, User.username, User.display_name, User.role, csrf)
        .select_from(table)
        .join(User, User.id == table.user_id)
        .where(
            table.id == bindparam("h"),
            table.expires_at >= bindparam("now"),
            User.active.is_(True),
        )
    )


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


def _checker(api: bool, roles: tuple[str, ...]) -> Callable[..., Principal]:
    async def dep(request: Request, s: Session = Depends(db_session)) -> Principal:
        p = principal_from_request(s, request)
        if p is None:
            raise NotAuthenticated(api=api)
        if roles and p.user.role not in roles:
            raise HTTPException(403, f"role {p.user.role!r} may not use this page")
        request.state.principal = p
        return p

    dep.roles = roles  # type: ignore[attr-defined]
    return dep


def html_user(*roles: str) -> Callable[..., Principal]:
    """Dependency for pages: redirect to /login without a session, 403 for other roles."""
    return _checker(False, roles)


def api_user(*roles: str) -> Callable[..., Principal]:
    """Dependency for /api/v1: 401 without a token or session, 403 for other roles."""
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
