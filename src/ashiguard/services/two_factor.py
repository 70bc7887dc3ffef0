"""Two-step login for owners: a 6-digit code from an authenticator app (TOTP, RFC 6238).

Set up on "Your password" -> "Two-step login": the secret is shown as text and as an
``otpauth://`` URI (no QR code: the page draws no images of secrets), the owner types it into
an authenticator app and confirms with a code; from then on the login asks for a code after
the password, and the API's token exchange wants it as ``code``.

Notes
-----
- Codes: 6 digits, 30 s steps, SHA-1 (what every authenticator app does by default); the
  step before and after are accepted for clock drift. A code is accepted once: a step at or
  before the last accepted one is refused (no replay of a code seen over a shoulder).
- A wrong code counts as a failed login in the back-off (account, address, browser).
- The secret is stored as it is (a server has to be able to compute the codes): whoever reads
  the database can compute codes, but still needs the password.
"""

from __future__ import annotations

import hmac
import time

import pyotp

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import User
from ashiguard.domain.errors import InputError
from ashiguard.services.uow import Actor, UnitOfWork, fetch, require_role

__all__ = [
    "ISSUER",
    "confirm",
    "matching_step",
    "start",
    "turn_off",
    "uri",
]

ISSUER = "ashiguard clinic"
_ROLES = ("owner",)


def uri(secret: str, username: str) -> str:
    """The ``otpauth://totp/...`` URI of a secret, for authenticator apps."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def matching_step(
    secret: str, code: str, last_step: int | None, now: float | None = None
) -> int | None:
    """The time step ``code`` is right for (now, one before or one after), newer than
    ``last_step``; None when it is wrong, malformed or used already."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = int((time.time() if now is None else now) // totp.interval)
    for s in (step - 1, step, step + 1):
        if hmac.compare_digest(totp.generate_otp(s), code) and (last_step is None or s > last_step):
            return s
    return None


def start(uow: UnitOfWork, actor: Actor, ip: str) -> str:
    """Begin setting up two-step login: a new secret, kept as pending until confirmed."""
    require_role(actor, _ROLES, "set up two-step login")
    user: User = fetch(uow, User, actor.id)
    user.totp_pending = pyotp.random_base32()
    repo.audit(uow.session, actor, "two_step_setup", "user", user.id, ip=ip)
    return user.totp_pending


def confirm(uow: UnitOfWork, actor: Actor, code: str, ip: str) -> None:
    """Turn two-step login on with a code from the app for the pending secret."""
    require_role(actor, _ROLES, "set up two-step login")
    user: User = fetch(uow, User, actor.id)
    if not user.totp_pending:
        raise InputError("code: start the set-up first")
    step = matching_step(user.totp_pending, code, None)
    if step is None:
        raise InputError(
            "code: not the code the app shows for this secret; check the phone's clock and "
            "type the 6 digits again"
        )
    user.totp_secret, user.totp_pending, user.totp_last_step = user.totp_pending, None, step
    repo.audit(uow.session, actor, "two_step_on", "user", user.id, ip=ip)


def turn_off(uow: UnitOfWork, actor: Actor, code: str, ip: str) -> None:
    """Turn two-step login off; needs a current code."""
    require_role(actor, _ROLES, "change two-step login")
    user: User = fetch(uow, User, actor.id)
    if not user.totp_secret:
        raise InputError("code: two-step login is not on")
    step = matching_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        raise InputError("code: not the code your app shows now")
    user.totp_secret, user.totp_pending, user.totp_last_step = None, None, step
    repo.audit(uow.session, actor, "two_step_off", "user", user.id, ip=ip)
