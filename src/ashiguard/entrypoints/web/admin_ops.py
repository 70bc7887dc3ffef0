"""Owner operations shared by the owner pages and the API: users, practitioners, rooms, bars."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Bar, BarInspection, Practitioner, Room, User
from ashiguard.domain.errors import InputError
from ashiguard.entrypoints.web.security import Actor

__all__ = ["add_bar", "add_inspection", "add_room", "parse_practitioner", "save_practitioner"]


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
    out["user_id"] = int(uid) if uid.isdigit() else None
    return out


def save_practitioner(
    s: Session, fields: dict[str, Any], user: Actor, ip: str, existing: Practitioner | None = None
) -> Practitioner:
    if fields.get("user_id") is not None and s.get(User, fields["user_id"]) is None:
        raise InputError(f"user_id: no user {fields['user_id']}")
    pr = existing or Practitioner(active=True)
    for k, v in fields.items():
        setattr(pr, k, v)
    if existing is None:
        s.add(pr)
    s.flush()
    repo.audit(
        s, user, "update" if existing else "create", "practitioner", pr.id, ip=ip, detail=pr.name
    )
    return pr


def add_room(s: Session, data: dict[str, Any], user: Actor, ip: str) -> Room:
    name = _text(data, "name", 200)
    if s.scalar(select(Room.id).where(Room.name == name)) is not None:
        raise InputError(f"name: a room called {name!r} exists")
    room = Room(name=name, notes=_text(data, "notes", 2000, required=False))
    s.add(room)
    s.flush()
    repo.audit(s, user, "create", "room", room.id, ip=ip, detail=name)
    return room


def add_bar(s: Session, room: Room, data: dict[str, Any], user: Actor, ip: str) -> Bar:
    """A new overhead bar; ``rated_load_n`` is its rated working load in N."""
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
    repo.audit(s, user, "create", "bar", bar.id, ip=ip, detail=f"room {room.id}: {bar.label}")
    return bar


def add_inspection(
    s: Session, bar: Bar, data: dict[str, Any], user: Actor, ip: str
) -> BarInspection:
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
        user,
        "create",
        "bar_inspection",
        ins.id,
        ip=ip,
        detail=f"bar {bar.id}: {'passed' if ins.passed else 'FAILED'}",
    )
    return ins
