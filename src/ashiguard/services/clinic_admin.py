"""Owner use cases: users, practitioners, rooms, overhead bars and their inspections.

Shared by the owner pages, the JSON API, ``ashiguard admin`` and the demo. Each runs in the
caller's unit of work, validates its input (:class:`InputError` naming the field) and writes
its audit entry. Units: body mass in kg, rated load in N, training in hours, intervals in days.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from ashiguard.adapters.db import audit_chain, repo
from ashiguard.adapters.db.audit_chain import ChainReport
from ashiguard.adapters.db.models import ROLES, Bar, BarInspection, Practitioner, Room, User
from ashiguard.domain.errors import InputError
from ashiguard.services import login_guard
from ashiguard.services.password_policy import MIN_LENGTH, check_password
from ashiguard.services.uow import Actor, UnitOfWork, fetch, parse_record_id, require_role

__all__ = [
    "MIN_PASSWORD",
    "OWNER_ROLES",
    "PRACTITIONER_FIELDS",
    "add_bar",
    "add_inspection",
    "add_room",
    "add_user",
    "check_audit_log",
    "create_user",
    "list_users",
    "parse_practitioner",
    "practitioner_values",
    "save_practitioner",
    "set_user_active",
]

OWNER_ROLES: tuple[str, ...] = ("owner",)
MIN_PASSWORD = MIN_LENGTH

_HASHER = PasswordHasher()  # argon2id, argon2-cffi's default costs (as the web app's)


def _argon2_hash(password: str) -> str:
    return str(_HASHER.hash(password))


def _text(data: dict[str, Any], key: str, limit: int, required: bool = True) -> str:
    val = str(data.get(key) or "").strip()
    if required and not val:
        raise InputError(f"{key}: required")
    if len(val) > limit:
        raise InputError(f"{key}: at most {limit} characters")
    return val


def _float(data: dict[str, Any], key: str, lo: float, hi: float, unit: str) -> float:
    raw = data.get(key)
    if raw is None or str(raw).strip() == "":
        raise InputError(f"{key}: required")
    try:
        val = float(str(raw).replace(",", "."))
    except ValueError:
        raise InputError(f"{key}: must be a number (got {raw!r})") from None
    if not lo <= val <= hi:
        raise InputError(f"{key}: {val:g} {unit} is outside {lo:g} to {hi:g} {unit}")
    return val


def _date(data: dict[str, Any], key: str, required: bool) -> date | None:
    raw = str(data.get(key) or "").strip()
    if not raw:
        if required:
            raise InputError(f"{key}: required")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"{key}: expected YYYY-MM-DD, got {raw!r}") from None


# ------------------------------------------------------------------------------ users


def add_user(
    s: Session,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    *,
    hash_password: Callable[[str], str] | None = None,
) -> User:
    """Add a user row (not audited: :func:`create_user` is the audited use case).

    Refuses a name that is not letters, digits, '.', '-' or '_', a taken name, an unknown role
    or a password against the policy (``password_policy.check_password``: ``MIN_PASSWORD``
    characters, not on the breached-password list). ``hash_password`` defaults to argon2id.
    """
    username = username.strip()
    if (
        not username
        or len(username) > 80
        or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
    ):
        raise InputError("username: letters, digits, '.', '-' or '_' (1 to 80 characters)")
    if role not in ROLES:
        raise InputError(f"role: must be one of {', '.join(ROLES)}")
    check_password(password, username=username)
    if s.scalar(select(User.id).where(User.username == username)) is not None:
        raise InputError(f"username: {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        password_hash=(hash_password or _argon2_hash)(password),
        active=True,
        failed_logins=0,
        created_at=repo.utcnow(),
    )
    s.add(user)
    s.flush()
    return user


def create_user(
    uow: UnitOfWork,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    *,
    actor: Actor | None,
    ip: str = "",
    via: str = "",
    hash_password: Callable[[str], str] | None = None,
) -> User:
    """Add a user (see :func:`add_user`), audited as ``create user`` with ``NAME (ROLE)`` and
    ``via`` (``api``, ``via cli``) in the detail. ``actor`` None: the ``ashiguard admin`` CLI."""
    require_role(actor, OWNER_ROLES, "create users")
    u = add_user(uow.session, username, password, role, display_name, hash_password=hash_password)
    detail = f"{u.username} ({u.role})" + (f" {via}" if via else "")
    repo.audit(uow.session, actor, "create", "user", u.id, ip=ip, detail=detail)
    return u


def set_user_active(
    uow: UnitOfWork, user_id: int, active: bool, actor: Actor | None, ip: str
) -> User:
    """Activate (and clear the login back-off of) or deactivate a user; nobody deactivates
    their own account."""
    require_role(actor, OWNER_ROLES, "change users")
    u: User = fetch(uow, User, user_id)
    if actor is not None and u.id == actor.id:
        raise InputError("active: you cannot deactivate your own account")
    u.active = active
    if u.active:
        u.failed_logins, u.locked_until = 0, None
        login_guard.forget(uow.session, login_guard.account_key(u.username))
    repo.audit(
        uow.session,
        actor,
        "update",
        "user",
        u.id,
        ip=ip,
        detail=f"{u.username} {'activated' if u.active else 'deactivated'}",
    )
    return u


def list_users(uow: UnitOfWork) -> list[User]:
    """Every user, by username."""
    return list(uow.session.scalars(select(User).order_by(User.username)))


def check_audit_log(uow: UnitOfWork, actor: Actor | None, ip: str) -> ChainReport:
    """Walk the audit log's hash chain (``audit_chain.verify``); the check is audited itself
    (``audit_check``, after the walk)."""
    require_role(actor, OWNER_ROLES, "check the audit log")
    report = audit_chain.verify(uow.session)
    detail = f"{report.checked} entries check" + (f"; {report.problem}" if report.problem else "")
    repo.audit(uow.session, actor, "audit_check", "audit_log", "", ip=ip, detail=detail)
    return report


# ---------------------------------------------------------------------- practitioners


def parse_practitioner(data: dict[str, Any]) -> dict[str, Any]:
    """Validated practitioner fields (mass in kg, training in hours)."""
    out: dict[str, Any] = {
        "name": _text(data, "name", 200),
        "certification": _text(data, "certification", 200, required=False),
        "certified_on": _date(data, "certified_on", required=False),
        "certified_until": _date(data, "certified_until", required=False),
        "training_hours": _float(data, "training_hours", 0, 100000, "h")
        if str(data.get("training_hours") or "").strip()
        else 0.0,
        "mass_kg": _float(data, "mass_kg", 30, 250, "kg"),
    }
    if out["certification"] and out["certified_on"] is None:
        raise InputError("certified_on: required when a certification is given")
    if (
        out["certified_on"]
        and out["certified_until"]
        and out["certified_until"] < out["certified_on"]
    ):
        raise InputError("certified_until: before certified_on")
    uid = str(data.get("user_id") or "").strip()
    out["user_id"] = parse_record_id(uid, "user_id") if uid else None
    return out


def practitioner_values(pr: Practitioner) -> dict[str, str]:
    """A stored practitioner as the text fields of its form (what an edit starts from)."""
    return {
        "name": pr.name,
        "certification": pr.certification or "",
        "certified_on": pr.certified_on.isoformat() if pr.certified_on else "",
        "certified_until": pr.certified_until.isoformat() if pr.certified_until else "",
        "training_hours": f"{pr.training_hours:g}",
        "mass_kg": f"{pr.mass_kg:g}",
        "user_id": str(pr.user_id) if pr.user_id is not None else "",
    }


def save_practitioner(
    uow: UnitOfWork,
    data: dict[str, Any],
    actor: Actor | None,
    ip: str,
    practitioner_id: int | None = None,
) -> Practitioner:
    """Validate ``data`` (:func:`parse_practitioner`) and add a practitioner, or update the
    one with ``practitioner_id`` (:class:`NotFound` when missing).

    An update changes only the fields ``data`` holds (the others keep their stored values)
    and audits each change with its old and new value.
    """
    require_role(actor, OWNER_ROLES, "change practitioners")
    s = uow.session
    existing = fetch(uow, Practitioner, practitioner_id) if practitioner_id is not None else None
    before = practitioner_values(existing) if existing is not None else {}
    given = {k: v for k, v in data.items() if k in PRACTITIONER_FIELDS}
    fields = parse_practitioner({**before, **given})
    if fields.get("user_id") is not None and s.get(User, fields["user_id"]) is None:
        raise InputError(f"user_id: no user {fields['user_id']}")
    pr = existing or Practitioner(active=True)
    for k, v in fields.items():
        setattr(pr, k, v)
    if existing is None:
        s.add(pr)
    s.flush()
    if existing is None:
        repo.audit(s, actor, "create", "practitioner", pr.id, ip=ip, detail=pr.name)
    else:
        after = practitioner_values(pr)
        changed = [
            f"{k}: {before[k] or '(empty)'} -> {after[k] or '(empty)'}"
            for k in after
            if before[k] != after[k]
        ]
        detail = f"{pr.name}: " + ("; ".join(changed) if changed else "no change")
        repo.audit(s, actor, "update", "practitioner", pr.id, ip=ip, detail=detail)
    return pr


PRACTITIONER_FIELDS = (
    "name",
    "certification",
    "certified_on",
    "certified_until",
    "training_hours",
    "mass_kg",
    "user_id",
)
"""The fields of a practitioner's form (as :func:`practitioner_values` gives them)."""


# ---------------------------------------------------------------- rooms, bars, inspections


def add_room(uow: UnitOfWork, data: dict[str, Any], actor: Actor | None, ip: str) -> Room:
    """A new treatment room (``name`` unique, ``notes``)."""
    require_role(actor, OWNER_ROLES, "change rooms")
    s = uow.session
    name = _text(data, "name", 200)
    if s.scalar(select(Room.id).where(Room.name == name)) is not None:
        raise InputError(f"name: a room called {name!r} exists")
    room = Room(name=name, notes=_text(data, "notes", 2000, required=False))
    s.add(room)
    s.flush()
    repo.audit(s, actor, "create", "room", room.id, ip=ip, detail=name)
    return room


def add_bar(
    uow: UnitOfWork, room_id: int, data: dict[str, Any], actor: Actor | None, ip: str
) -> Bar:
    """A new overhead bar in room ``room_id``; ``rated_load_n`` is its rated working load in N,
    ``inspection_interval_days`` defaults to 90."""
    require_role(actor, OWNER_ROLES, "change rooms")
    s = uow.session
    room: Room = fetch(uow, Room, room_id)
    interval = (
        _float(data, "inspection_interval_days", 1, 3650, "days")
        if str(data.get("inspection_interval_days") or "").strip()
        else 90.0
    )
    bar = Bar(
        room_id=room.id,
        label=_text(data, "label", 100),
        rated_load_n=_float(data, "rated_load_n", 100, 50000, "N"),
        inspection_interval_days=int(interval),
    )
    s.add(bar)
    s.flush()
    repo.audit(s, actor, "create", "bar", bar.id, ip=ip, detail=f"room {room.id}: {bar.label}")
    return bar


def add_inspection(
    uow: UnitOfWork, bar_id: int, data: dict[str, Any], actor: Actor | None, ip: str
) -> BarInspection:
    """Record an inspection of bar ``bar_id`` (``inspected_on`` not in the future,
    ``inspector``, ``passed`` yes/no, ``notes``)."""
    require_role(actor, OWNER_ROLES, "record inspections")
    s = uow.session
    bar: Bar = fetch(uow, Bar, bar_id)
    day = _date(data, "inspected_on", required=True)
    assert day is not None
    if day > date.today():
        raise InputError("inspected_on: lies in the future")
    passed_raw = str(data.get("passed") or "").strip().lower()
    if passed_raw not in ("true", "false", "yes", "no", "1", "0", "on"):
        raise InputError("passed: must be yes or no")
    ins = BarInspection(
        bar_id=bar.id,
        inspected_on=day,
        inspector=_text(data, "inspector", 200),
        passed=passed_raw in ("true", "yes", "1", "on"),
        notes=_text(data, "notes", 2000, required=False),
    )
    s.add(ins)
    s.flush()
    repo.audit(
        s,
        actor,
        "create",
        "bar_inspection",
        ins.id,
        ip=ip,
        detail=f"bar {bar.id}: {'passed' if ins.passed else 'FAILED'}",
    )
    return ins
