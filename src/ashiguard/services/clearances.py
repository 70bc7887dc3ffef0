"""Physicians' clearances: recording one with its letter, listing them, what they cover.

A screening's ``clearance_required`` findings are satisfied for the rules a current clearance
names (:func:`ashiguard.domain.clearance.clearance_state`): the readiness gate
(:func:`ashiguard.services.treatments.start_session`) then lets a session start under the
screening's restrictions, and the dashboard's waiting list
(:func:`ashiguard.adapters.db.repo.clients_awaiting_clearance`) no longer lists the client.
The stored screening is never rewritten.

Notes
-----
The letter is checked by its content (:func:`ashiguard.adapters.uploads.sniff`) before
anything is stored; it is written under a random name first and removed again when the record
cannot be stored (a refused clearance leaves no file behind).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Clearance as ClearanceRow
from ashiguard.adapters.db.models import Client, Screening
from ashiguard.adapters.uploads import UploadStore, display_name, sniff
from ashiguard.domain.clearance import (
    Clearance,
    ClearanceState,
    clearance_required_rules,
    clearance_state,
    facts_shown,
)
from ashiguard.domain.errors import InputError
from ashiguard.domain.screening import parse_screening
from ashiguard.services.uow import Actor, UnitOfWork, fetch, require_role

__all__ = [
    "CLEARANCE_ROLES",
    "EARLIEST_CLEARANCE",
    "MAX_RESTRICTIONS",
    "Letter",
    "clearance_of",
    "clearances_of",
    "read_letter",
    "record_clearance",
    "screening_as_treated",
    "state_for",
    "validate_clearance_fields",
]

CLEARANCE_ROLES: tuple[str, ...] = ("owner", "therapist", "front_desk")
"""Roles that may record clearances and read their letters."""

EARLIEST_CLEARANCE = date(2000, 1, 1)
"""Clearance dates before this are refused as typing errors."""

MAX_RESTRICTIONS = 2000
"""Longest restriction text (characters)."""


@dataclass(frozen=True)
class Letter:
    """An uploaded letter as received: its bytes (already cut at the size limit + 1) and the
    name the client's file had (kept as text only)."""

    data: bytes
    filename: str


def _date(value: str, field: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{field}: expected YYYY-MM-DD, got {value!r}") from None


def validate_clearance_fields(
    data: dict[str, Any], needed: tuple[str, ...], today: date
) -> dict[str, Any]:
    """Check a clearance's fields (one-line :class:`InputError` naming the field).

    ``data``: ``physician_name``, ``practice``, ``contact``, ``cleared_on``, ``valid_until``
    (optional), ``rules`` (a list of rule ids, each one of ``needed``), ``restrictions``
    (optional free text). Returns them cleaned.
    """
    out: dict[str, Any] = {}
    for key, words in (
        ("physician_name", "the physician's name"),
        ("practice", "the practice or hospital"),
        ("contact", "a phone number or e-mail address of the practice"),
    ):
        val = " ".join(str(data.get(key) or "").split())
        if not val:
            raise InputError(f"{key}: required ({words})")
        if len(val) > 200:
            raise InputError(f"{key}: at most 200 characters")
        out[key] = val
    cleared_on = _date(str(data.get("cleared_on") or ""), "cleared_on")
    if cleared_on is None:
        raise InputError("cleared_on: required (the date on the letter)")
    if cleared_on > today:
        raise InputError(f"cleared_on: {cleared_on.isoformat()} lies in the future")
    if cleared_on < EARLIEST_CLEARANCE:
        raise InputError(f"cleared_on: before {EARLIEST_CLEARANCE.isoformat()}")
    until = _date(str(data.get("valid_until") or ""), "valid_until")
    if until is not None and until < cleared_on:
        raise InputError(f"valid_until: {until.isoformat()} is before cleared_on")
    if until is not None and until < today:
        raise InputError(f"valid_until: {until.isoformat()} has already passed")
    out["cleared_on"], out["valid_until"] = cleared_on, until
    if not needed:
        raise InputError("rules: the client's latest screening needs no physician clearance")
    raw = data.get("rules") or []
    rules = [str(r).strip() for r in (raw if isinstance(raw, list | tuple) else [raw])]
    rules = [r for r in rules if r]
    if not rules:
        raise InputError("rules: tick the findings the physician clears")
    for r in rules:
        if r not in needed:
            raise InputError(
                f"rules: {r[:80]!r} is not a finding of the latest screening that needs "
                f"clearance ({', '.join(needed)})"
            )
    out["rules"] = [r for r in needed if r in rules]
    text = str(data.get("restrictions") or "").strip()
    if len(text) > MAX_RESTRICTIONS:
        raise InputError(f"restrictions: at most {MAX_RESTRICTIONS} characters")
    out["restrictions"] = text
    return out


def _domain(row: ClearanceRow) -> Clearance:
    return Clearance(
        row.id,
        frozenset(row.rules or ()),
        row.cleared_on,
        row.valid_until,
        row.physician_name,
        {k: frozenset(v) for k, v in (row.facts or {}).items()},
    )


def clearances_of(s: Session, client_id: int) -> list[ClearanceRow]:
    """The client's clearances, newest first."""
    return list(
        s.scalars(
            select(ClearanceRow)
            .where(ClearanceRow.client_id == client_id)
            .order_by(ClearanceRow.cleared_on.desc(), ClearanceRow.id.desc())
        )
    )


def state_for(s: Session, screening: Screening, on: date | None = None) -> ClearanceState:
    """What the client's clearances do for this stored screening on ``on`` (today)."""
    rows = clearances_of(s, screening.client_id)
    return clearance_state(
        parse_screening(screening.payload), [_domain(r) for r in rows], on or date.today()
    )


def screening_as_treated(s: Session, screening: Screening, on: date) -> dict[str, Any]:
    """The stored ``ashiguard.screening/1`` object as a session on ``on`` was treated under:
    a copy with the effective decision when current clearances covered every
    ``clearance_required`` finding that day, else the object as stored. For the live session's
    plan and the review's planned-vs-delivered; the stored record is never changed."""
    payload = dict(screening.payload)
    if screening.decision != "clearance_required":  # a clearance changes nothing else
        return payload
    state = state_for(s, screening, on)
    if state.cleared_by_physician:
        payload["decision"] = state.effective.value
    return payload


def record_clearance(
    uow: UnitOfWork,
    client_id: int,
    data: dict[str, Any],
    letter: Letter | None,
    uploads: UploadStore,
    actor: Actor | None,
    ip: str,
    *,
    today: date | None = None,
) -> ClearanceRow:
    """Store a physician's clearance with its letter; audited as ``create clearance``.

    The rules must be among the ``clearance_required`` findings of the client's latest
    screening. :class:`InputError` (nothing stored, no file left) for a bad field, a missing
    letter or a letter that is not a clean PDF, PNG or JPEG.
    """
    require_role(actor, CLEARANCE_ROLES, "record clearances")
    s = uow.session
    client: Client = fetch(uow, Client, client_id)
    today = today or date.today()
    sc = repo.latest_screening(s, client.id)
    result = parse_screening(sc.payload) if sc is not None else None
    needed = clearance_required_rules(result) if result is not None else ()
    fields = validate_clearance_fields(data, needed, today)
    fields["facts"] = facts_shown(result, fields["rules"]) if result is not None else {}
    if letter is None or not letter.data:
        raise InputError("letter: attach the physician's letter (PDF, PNG or JPEG)")
    kind = sniff(letter.data)
    stored = uploads.save(letter.data, kind)
    try:
        row = ClearanceRow(
            client_id=client.id,
            screening_id=sc.id if sc is not None else None,
            letter_path=stored.path,
            letter_type=stored.media_type,
            letter_name=display_name(letter.filename),
            letter_bytes=stored.size,
            letter_sha256=stored.sha256,
            recorded_at=repo.utcnow(),
            recorded_by=actor.id if actor else None,
            **fields,
        )
        s.add(row)
        s.flush()
        repo.audit(
            s,
            actor,
            "create",
            "clearance",
            row.id,
            ip=ip,
            detail=(
                f"client {client.id}: {row.physician_name}, {row.cleared_on.isoformat()}, "
                f"rules {', '.join(row.rules)}; letter {kind}, {stored.size} bytes, "
                f"sha256 {stored.sha256[:16]}"
            ),
        )
    except BaseException:
        uploads.delete(stored.path)
        raise
    return row


def clearance_of(uow: UnitOfWork, clearance_id: int) -> ClearanceRow:
    """A stored clearance (:class:`NotFound` when missing)."""
    row: ClearanceRow = fetch(uow, ClearanceRow, clearance_id)
    return row


def read_letter(
    uow: UnitOfWork, clearance_id: int, uploads: UploadStore, actor: Actor | None, ip: str
) -> tuple[ClearanceRow, bytes]:
    """A clearance and its letter's bytes, audited as ``read clearance`` ("letter")."""
    require_role(actor, CLEARANCE_ROLES, "read clearance letters")
    row = clearance_of(uow, clearance_id)
    data = uploads.read(row.letter_path)
    repo.audit(
        uow.session,
        actor,
        "read",
        "clearance",
        row.id,
        ip=ip,
        detail=f"client {row.client_id} letter",
    )
    return row, data
