"""A user's own account: changing the password, and the owner's one-time reset links.

Each use case runs in the caller's unit of work and writes its audit entry
(``password_change``, ``password_reset_link``, ``password_reset``). The password hashing is
handed in by the caller (the web app's argon2id hasher; ``None``: argon2id defaults).

Notes
-----
- A reset link carries a random 256-bit token; the database keeps only its SHA-256. It works
  once, expires (:data:`RESET_HOURS` by default), and a newer link for the same user voids the
  older ones.
- After any password change every login session and API token of that user ends (a thief who
  had the old password or a session is out); the caller starts a fresh session for the user's
  own browser.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import ApiToken, PasswordReset, User, WebSession
from ashiguard.domain.errors import InputError, NotFound
from ashiguard.services import login_guard
from ashiguard.services.password_policy import check_password
from ashiguard.services.uow import Actor, UnitOfWork, require_role

__all__ = [
    "RESET_HOURS",
    "ResetLink",
    "change_password",
    "end_other_logins",
    "list_logins",
    "make_reset_link",
    "reset_password",
    "reset_target",
]

RESET_HOURS = 24.0
_HASHER = PasswordHasher()


def _hash(password: str) -> str:
    return str(_HASHER.hash(password))


def _verify(stored: str, password: str) -> bool:
    try:
        return bool(_HASHER.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _end_logins(uow: UnitOfWork, user_id: int) -> None:
    s = uow.session
    s.execute(delete(WebSession).where(WebSession.user_id == user_id))
    s.execute(delete(ApiToken).where(ApiToken.user_id == user_id))


def _new_password(new: str, repeat: str, username: str) -> None:
    check_password(new, username=username, field="new_password")
    if new != repeat:
        raise InputError("repeat_password: does not match the new password")


def change_password(
    uow: UnitOfWork,
    actor: Actor,
    current: str,
    new: str,
    repeat: str,
    *,
    ip: str,
    hash_password: Callable[[str], str] | None = None,
    verify_password: Callable[[str, str], bool] | None = None,
) -> None:
    """The logged-in ``actor`` changes their own password, giving the current one.

    A wrong current password is refused (``current_password: ...``) and counted by the login
    back-off of the account and the address; every session and token of the user ends.
    """
    s = uow.session
    user: User | None = s.get(User, actor.id)
    if user is None or not user.active:
        raise NotFound(f"user {actor.id} not found")
    _check_current(uow, user, actor, current, ip, verify_password, "password_change_refused")
    _new_password(new, repeat, user.username)
    if new == current:
        raise InputError("new_password: the same as the current password")
    user.password_hash = (hash_password or _hash)(new)
    _end_logins(uow, user.id)
    repo.audit(s, actor, "password_change", "user", user.id, ip=ip, detail=user.username)


def _check_current(
    uow: UnitOfWork,
    user: User,
    actor: Actor,
    current: str,
    ip: str,
    verify_password: Callable[[str, str], bool] | None,
    refused: str,
) -> None:
    """Refuse a wrong current password (``current_password: ...``), counted by the back-off."""
    s = uow.session
    now = repo.utcnow()
    keys = [login_guard.address_key(ip), login_guard.account_key(user.username)]
    wait = login_guard.waiting(s, keys, now)
    if wait is not None:
        raise InputError(f"current_password: {wait.message()}")
    if not (verify_password or _verify)(user.password_hash, current):
        login_guard.record_failure(s, keys, now)
        repo.audit(s, actor, refused, "user", user.id, ip=ip)
        uow.commit()
        raise InputError("current_password: this is not your current password")


def list_logins(uow: UnitOfWork, actor: Actor) -> list[WebSession]:
    """The user's login sessions that are open now (newest first)."""
    now = repo.utcnow()
    return list(
        uow.session.scalars(
            select(WebSession)
            .where(
                WebSession.user_id == actor.id,
                WebSession.expires_at >= now,
                WebSession.code_pending.is_(False),
            )
            .order_by(WebSession.created_at.desc())
        )
    )


def end_other_logins(
    uow: UnitOfWork,
    actor: Actor,
    current: str,
    keep_session_id: str,
    *,
    ip: str,
    verify_password: Callable[[str, str], bool] | None = None,
) -> int:
    """Log the user out everywhere but this browser (session ``keep_session_id``, a SHA-256)
    after the current password; API tokens end too. Returns how many logins ended."""
    s = uow.session
    user: User | None = s.get(User, actor.id)
    if user is None or not user.active:
        raise NotFound(f"user {actor.id} not found")
    _check_current(uow, user, actor, current, ip, verify_password, "logout_elsewhere_refused")
    ended = s.execute(
        delete(WebSession).where(WebSession.user_id == user.id, WebSession.id != keep_session_id)
    )
    tokens = s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    n = int(getattr(ended, "rowcount", 0) or 0) + int(getattr(tokens, "rowcount", 0) or 0)
    repo.audit(s, actor, "logout_elsewhere", "user", user.id, ip=ip, detail=f"{n} logins ended")
    return n


@dataclass(frozen=True)
class ResetLink:
    """A reset link just made: the token (shown once, never stored) and when it expires."""

    token: str
    username: str
    expires_at: object


def make_reset_link(
    uow: UnitOfWork,
    username: str,
    *,
    actor: Actor | None,
    hours: float = RESET_HOURS,
    ip: str = "",
    via: str = "",
) -> ResetLink:
    """A one-time reset link for ``username`` (owner or the ``ashiguard admin`` CLI).

    Older unused links of the same user stop working.
    """
    require_role(actor, ("owner",), "make password reset links")
    if not 0 < hours <= 24 * 7:
        raise InputError("hours: a reset link lasts more than 0 and at most 168 hours")
    s = uow.session
    user = s.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise NotFound(f"user {username.strip()!r} not found")
    if not user.active:
        raise InputError(f"username: {user.username!r} is deactivated; activate it first")
    now = repo.utcnow()
    s.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=hours)
    s.add(PasswordReset(id=_digest(token), user_id=user.id, created_at=now, expires_at=expires))
    detail = f"for {user.username}, valid {hours:g} h" + (f" {via}" if via else "")
    repo.audit(s, actor, "password_reset_link", "user", user.id, ip=ip, detail=detail)
    return ResetLink(token, user.username, expires)


def reset_target(uow: UnitOfWork, token: str) -> User:
    """The user a reset link is for, or :class:`NotFound` when it is unknown, used or expired."""
    s = uow.session
    row = s.get(PasswordReset, _digest(token)) if token else None
    if row is None or row.used_at is not None or row.expires_at <= repo.utcnow():
        raise NotFound(
            "this password reset link is not valid: it was used already, it expired, or a "
            "newer link replaced it; ask the clinic owner for a new one"
        )
    user: User | None = s.get(User, row.user_id)
    if user is None or not user.active:
        raise NotFound("this password reset link is not valid: the account is not active")
    return user


def reset_password(
    uow: UnitOfWork,
    token: str,
    new: str,
    repeat: str,
    *,
    ip: str,
    hash_password: Callable[[str], str] | None = None,
) -> User:
    """Set a new password through a reset link (used up at once); every login of the user
    ends and the account's login back-off is cleared."""
    s = uow.session
    user = reset_target(uow, token)
    _new_password(new, repeat, user.username)
    # used up in one statement: of two requests racing with the same link only one gets it
    taken = s.execute(
        update(PasswordReset)
        .where(PasswordReset.id == _digest(token), PasswordReset.used_at.is_(None))
        .values(used_at=repo.utcnow())
    )
    if getattr(taken, "rowcount", 1) != 1:
        raise NotFound("this password reset link is not valid: it was used already")
    user.password_hash = (hash_password or _hash)(new)
    _end_logins(uow, user.id)
    login_guard.forget(s, login_guard.account_key(user.username))
    repo.audit(s, Actor.of(user), "password_reset", "user", user.id, ip=ip, detail=user.username)
    return user
