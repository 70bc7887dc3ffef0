"""Login back-off: growing waits per account, per client address and per known device.

Shared by the login page, the API's token exchange and the two-factor step. Each failed
attempt (a wrong password, a wrong code) is counted under every key it belongs to; an attempt
under a key that is still waiting is refused before the password is even looked at, with the
time left.

Notes
-----
- Nothing here is a hard lock. Every wait ends by itself, doubles with each further failure
  and is capped (:data:`ACCOUNT`: 30 s after 5 failures, up to 15 min; :data:`ADDRESS`: 2 s
  after 10 failures, up to 10 min); a key whose last failure is older than an hour starts
  afresh.
- An outsider who knows a user name can keep that *account* waiting. So that this cannot
  lock the owner out, a browser that has logged in to the account before carries a signed
  device cookie (see ``entrypoints/web/security.py``): its attempts are held back by its own
  *device* key instead of the account's, so the owner's usual browser logs in while someone
  else is hammering the account. A new browser waits like everyone else, or the owner clears
  the wait on the users page.
- The *address* key holds back one client that tries many names; it never touches other
  addresses (the owner's). Only a trusted proxy's ``X-Forwarded-For`` changes the address.
- An unknown user name is counted like a known one, so the answers do not tell which exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ashiguard.adapters.db.models import LoginThrottle

__all__ = [
    "ACCOUNT",
    "ADDRESS",
    "DEVICE",
    "Backoff",
    "Waiting",
    "account_key",
    "address_key",
    "device_key",
    "forget",
    "record_failure",
    "waiting",
]


@dataclass(frozen=True)
class Backoff:
    """How one kind of key backs off.

    Parameters
    ----------
    free : int
        Failures allowed before any wait.
    base_s : float
        The first wait, s; it doubles with every further failure.
    cap_s : float
        The longest wait, s.
    forget_s : float
        A key whose last failure is older than this, s, starts from zero again.
    """

    kind: str
    free: int
    base_s: float
    cap_s: float
    forget_s: float = 3600.0

    def wait_s(self, failures: int) -> float:
        """The wait after ``failures`` failures, s (0 while under ``free``)."""
        if failures < self.free:
            return 0.0
        return float(min(self.cap_s, self.base_s * 2 ** min(failures - self.free, 30)))


ACCOUNT = Backoff("account", free=5, base_s=30.0, cap_s=900.0)
ADDRESS = Backoff("address", free=10, base_s=2.0, cap_s=600.0)
DEVICE = Backoff("device", free=5, base_s=30.0, cap_s=900.0)
_BY_KIND = {b.kind: b for b in (ACCOUNT, ADDRESS, DEVICE)}


@dataclass(frozen=True)
class Waiting:
    """A key that must wait: its kind (``account``, ``address``, ``device``) and the time left."""

    kind: str
    seconds: int

    def message(self) -> str:
        """What the login form says, e.g. ``Too many failed logins for this account: try again
        in 2 min.``"""
        where = {
            "account": "for this account",
            "address": "from this address",
            "device": "from this browser",
        }[self.kind]
        left = f"{self.seconds} s" if self.seconds < 90 else f"{math.ceil(self.seconds / 60)} min"
        return f"Too many failed logins {where}: try again in {left}."


def account_key(username: str) -> str:
    return "account:" + username.strip().lower()[:120]


def address_key(ip: str) -> str:
    return "address:" + (ip or "-")[:120]


def device_key(device_id: str) -> str:
    return "device:" + device_id[:120]


def _kind(key: str) -> Backoff:
    return _BY_KIND[key.split(":", 1)[0]]


def waiting(s: Session, keys: list[str], now: datetime) -> Waiting | None:
    """The longest wait still running among ``keys``, or None when an attempt may go ahead."""
    rows = s.execute(
        select(LoginThrottle.key, LoginThrottle.wait_until).where(LoginThrottle.key.in_(keys))
    ).all()
    worst: Waiting | None = None
    for key, until in rows:
        if until is not None and until > now:
            left = math.ceil((until - now).total_seconds())
            if worst is None or left > worst.seconds:
                worst = Waiting(_kind(key).kind, left)
    return worst


def record_failure(s: Session, keys: list[str], now: datetime) -> None:
    """Count one failed attempt under each key (safe with concurrent attempts: one upsert
    each, counted in the database) and set its next wait."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    for key in keys:
        b = _kind(key)
        fresh_since = now - timedelta(seconds=b.forget_s)
        stmt = insert(LoginThrottle).values(
            key=key, failures=1, last_failure_at=now, wait_until=None
        )
        table = LoginThrottle.__table__
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": _failures_after(table, fresh_since),
                "last_failure_at": now,
            },
        )
        s.execute(stmt)
        failures = int(s.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == key)))
        wait = b.wait_s(failures)
        s.execute(
            LoginThrottle.__table__.update()
            .where(LoginThrottle.key == key)
            .values(wait_until=now + timedelta(seconds=wait) if wait else None)
        )


def _failures_after(table: object, fresh_since: datetime) -> object:
    from sqlalchemy import case

    c = table.c  # type: ignore[attr-defined]
    return case((c.last_failure_at < fresh_since, 1), else_=c.failures + 1)


def forget(s: Session, key: str) -> None:
    """Clear a key's count and wait (a successful login, or the owner's "Clear wait")."""
    s.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
