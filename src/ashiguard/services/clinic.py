"""Clinic use cases: clients, intake versions with their screening, the readiness gate.

Every function runs in the caller's :class:`~ashiguard.services.uow.UnitOfWork`, raises the
errors of :mod:`ashiguard.domain.errors` (bad input, a missing record, a refusal) and writes
its audit entry (who, what, from where) with :func:`ashiguard.adapters.db.repo.audit`.
Treatment sessions are in :mod:`ashiguard.services.treatments`, owner operations in
:mod:`ashiguard.services.clinic_admin`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Client, Intake, Screening
from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import parse_intake
from ashiguard.domain.practice import (
    Bar,
    Certification,
    Equipment,
    Practitioner,
    Readiness,
    ready_to_treat,
)
from ashiguard.domain.screening import Screening as ScreeningResult
from ashiguard.domain.screening import parse_screening, screen
from ashiguard.domain.zone_names import ZONE_SLUGS
from ashiguard.services.uow import Actor, UnitOfWork, fetch, require_role

__all__ = [
    "CLIENT_ROLES",
    "EARLIEST_BIRTH_DATE",
    "create_client",
    "intakes_of",
    "read_client",
    "read_intake",
    "read_screening",
    "readiness",
    "screenings_of",
    "store_intake",
    "validate_client_fields",
]

CLIENT_ROLES: tuple[str, ...] = ("owner", "therapist", "front_desk")
"""Roles that may read and change client records, intakes and screenings."""


EARLIEST_BIRTH_DATE = date(1900, 1, 1)
"""Birth dates before this are refused as typing errors."""

# one @, a dot in the domain, no spaces or angle brackets: what a clinic can write to
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>.]+(\.[^@\s<>.]+)+")


def validate_client_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Check the fields of a new client; returns them cleaned (one-line error naming the field)."""
    name = str(data.get("name") or "").strip()
    if not name:
        raise InputError("name: required")
    if len(name) > 200:
        raise InputError("name: at most 200 characters")
    out: dict[str, Any] = {"name": name}
    bd = str(data.get("birth_date") or "").strip()
    if bd:
        try:
            out["birth_date"] = date.fromisoformat(bd)
        except ValueError:
            raise InputError(f"birth_date: expected YYYY-MM-DD, got {bd!r}") from None
        if out["birth_date"] > date.today():
            raise InputError("birth_date: lies in the future")
        if out["birth_date"] < EARLIEST_BIRTH_DATE:
            raise InputError(f"birth_date: before {EARLIEST_BIRTH_DATE.year}")
    else:
        out["birth_date"] = None
    for key, limit in (("sex", 20), ("phone", 50), ("email", 200)):
        val = str(data.get(key) or "").strip()
        if len(val) > limit:
            raise InputError(f"{key}: at most {limit} characters")
        out[key] = val
    if out["email"] and not _EMAIL.fullmatch(out["email"]):
        raise InputError("email: not an e-mail address (like name@example.org)")
    return out


def create_client(uow: UnitOfWork, data: dict[str, Any], actor: Actor | None, ip: str) -> Client:
    """Validate ``data`` (name, birth_date, sex, phone, email) and store a new client with a
    fresh reference ``c-00042``; audited as ``create client``."""
    require_role(actor, CLIENT_ROLES, "create clients")
    fields = validate_client_fields(data)
    s = uow.session
    client = repo.add_client(s, **fields)
    repo.audit(s, actor, "create", "client", client.id, ip=ip, detail=client.ref)
    return client


def read_client(
    uow: UnitOfWork, client_id: int, actor: Actor | None, ip: str, detail: str = ""
) -> Client:
    """A client record, audited as ``read client`` (every read of a client record is)."""
    require_role(actor, CLIENT_ROLES, "read client records")
    client: Client = fetch(uow, Client, client_id)
    repo.audit(uow.session, actor, "read", "client", client.id, ip=ip, detail=detail)
    return client


def store_intake(
    uow: UnitOfWork,
    client_id: int,
    payload: dict[str, Any],
    pain_sites: list[str],
    actor: Actor | None,
    ip: str,
) -> tuple[Intake, Screening]:
    """Validate and screen an intake, then store it as the client's next version with its
    screening; audited as ``create intake``.

    Raises :class:`InputError` (nothing stored) for an invalid intake, a pain site that is not
    a zone slug, or an intake of another client (``client.id`` must be the client's reference).
    """
    require_role(actor, CLIENT_ROLES, "store intakes")
    s = uow.session
    client: Client = fetch(uow, Client, client_id)
    bad = [z for z in pain_sites if z not in ZONE_SLUGS]
    if bad:
        raise InputError(f"pain_sites: unknown zone {bad[0]!r}")
    client_ref = (payload.get("client") or {}).get("id") if isinstance(payload, dict) else None
    if client_ref != client.ref:
        raise InputError(f"client.id: must be this client's reference {client.ref!r}")
    intake = parse_intake(payload)
    if intake.date > date.today():
        raise InputError(
            f"date: {intake.date.isoformat()} lies in the future (an intake is for today or an "
            "earlier day)"
        )
    result = screen(intake).to_json()
    row = repo.add_intake_version(s, client, intake.to_json(), actor)
    row.pain_sites = sorted(set(pain_sites))
    sc = Screening(
        client_id=client.id,
        intake_id=row.id,
        screened_for=intake.date,
        decision=str(result["decision"]),
        rules_version=str(result.get("rules_version", "")),
        payload=result,
        created_at=repo.utcnow(),
    )
    s.add(sc)
    s.flush()
    repo.audit(
        s,
        actor,
        "create",
        "intake",
        row.id,
        ip=ip,
        detail=f"client {client.id} version {row.version}: {sc.decision}",
    )
    return row, sc


def intakes_of(uow: UnitOfWork, client_id: int) -> list[Intake]:
    """The client's intake versions, newest first."""
    return list(
        uow.session.scalars(
            select(Intake).where(Intake.client_id == client_id).order_by(Intake.version.desc())
        )
    )


def screenings_of(uow: UnitOfWork, client_id: int) -> list[Screening]:
    """The client's screenings, newest first."""
    return list(
        uow.session.scalars(
            select(Screening).where(Screening.client_id == client_id).order_by(Screening.id.desc())
        )
    )


def read_intake(
    uow: UnitOfWork, intake_id: int, actor: Actor | None, ip: str, detail: str = ""
) -> Intake:
    """One stored intake version, audited as ``read intake``."""
    require_role(actor, CLIENT_ROLES, "read intakes")
    row: Intake = fetch(uow, Intake, intake_id)
    repo.audit(uow.session, actor, "read", "intake", row.id, ip=ip, detail=detail)
    return row


def read_screening(
    uow: UnitOfWork, screening_id: int, actor: Actor | None, ip: str, detail: str = ""
) -> Screening:
    """One stored screening, audited as ``read screening``."""
    require_role(actor, CLIENT_ROLES, "read screenings")
    sc: Screening = fetch(uow, Screening, screening_id)
    repo.audit(uow.session, actor, "read", "screening", sc.id, ip=ip, detail=detail)
    return sc


def readiness(
    practitioner: Any,
    room: Any,
    screening: Screening,
    on: date,
    *,
    effective: ScreeningResult | None = None,
) -> Readiness:
    """The domain's readiness gate (``ready_to_treat``) for stored records.

    A bar's ``last_inspected`` is its latest *passed* inspection: a failed one does not count.
    A room without bars raises :class:`InputError` (``room_id``). ``effective``: the screening
    as the client's physician clearances leave it
    (:func:`ashiguard.services.clearances.state_for`), read instead of the stored one.
    """
    certs = []
    if practitioner.certification and practitioner.certified_on:
        certs.append(
            Certification(
                technique=practitioner.technique,
                issuer=practitioner.certification,
                issued=practitioner.certified_on,
                expires=practitioner.certified_until,
            )
        )
    who = Practitioner(
        schema="ashiguard.practitioner/1",
        id=f"p-{practitioner.id}",
        name=practitioner.name,
        weight_kg=practitioner.mass_kg,
        training_hours=practitioner.training_hours,
        certifications=tuple(certs),
    )
    bars = []
    for b in room.bars:
        passed = [i.inspected_on for i in b.inspections if i.passed]
        bars.append(
            Bar(
                id=b.label,
                rated_load_n=b.rated_load_n,
                last_inspected=max(passed) if passed else None,
            )
        )
    if not bars:
        raise InputError(f"room_id: room {room.name!r} has no overhead bar on file")
    equipment = Equipment(schema="ashiguard.equipment/1", room=room.name, bars=tuple(bars))
    result = effective if effective is not None else parse_screening(screening.payload)
    return ready_to_treat(who, equipment, result, on)
