"""Clinic use cases shared by the pages and the API: clients, intakes + screening, lookups."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Client, Intake, Screening
from ashiguard.domain.errors import InputError
from ashiguard.domain.zone_names import ZONE_SLUGS
from ashiguard.entrypoints.web.security import Actor

__all__ = [
    "create_client",
    "get_or_404",
    "intakes_of",
    "readiness",
    "screen_and_store",
    "screenings_of",
    "validate_client_fields",
]


def get_or_404(s: Session, model: Any, ident: int) -> Any:
    row = s.get(model, ident)
    if row is None:
        raise HTTPException(404, f"{model.__tablename__[:-1]} {ident} not found")
    return row


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
    else:
        out["birth_date"] = None
    for key, limit in (("sex", 20), ("phone", 50), ("email", 200)):
        val = str(data.get(key) or "").strip()
        if len(val) > limit:
            raise InputError(f"{key}: at most {limit} characters")
        out[key] = val
    if out["email"] and "@" not in out["email"]:
        raise InputError("email: not an e-mail address")
    return out


def create_client(s: Session, fields: dict[str, Any], user: Actor, ip: str) -> Client:
    client = Client(ref=repo.next_client_ref(s), created_at=repo.utcnow(), **fields)
    s.add(client)
    s.flush()
    repo.audit(s, user, "create", "client", client.id, ip=ip, detail=client.ref)
    return client


def screen_and_store(
    s: Session,
    client: Client,
    payload: dict[str, Any],
    pain_sites: list[str],
    user: Actor,
    ip: str,
) -> tuple[Intake, Screening]:
    """Validate and screen an intake, then store it as a new version with its screening.

    Raises :class:`InputError` (nothing stored) for an invalid intake or pain site.
    """
    from ashiguard.domain.intake import parse_intake
    from ashiguard.domain.screening import screen

    bad = [z for z in pain_sites if z not in ZONE_SLUGS]
    if bad:
        raise InputError(f"pain_sites: unknown zone {bad[0]!r}")
    client_ref = (payload.get("client") or {}).get("id") if isinstance(payload, dict) else None
    if client_ref != client.ref:
        raise InputError(f"client.id: must be this client's reference {client.ref!r}")
    intake = parse_intake(payload)
    result = screen(intake).to_json()
    row = repo.add_intake_version(s, client, intake.to_json(), user)
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
        user,
        "create",
        "intake",
        row.id,
        ip=ip,
        detail=f"client {client.id} version {row.version}: {sc.decision}",
    )
    return row, sc


def intakes_of(s: Session, client_id: int) -> list[Intake]:
    return list(
        s.scalars(
            select(Intake).where(Intake.client_id == client_id).order_by(Intake.version.desc())
        )
    )


def screenings_of(s: Session, client_id: int) -> list[Screening]:
    return list(
        s.scalars(
            select(Screening).where(Screening.client_id == client_id).order_by(Screening.id.desc())
        )
    )


def readiness(s: Session, practitioner: Any, room: Any, screening: Screening, on: date) -> Any:
    """The domain's readiness gate (``ready_to_treat``) for stored records.

    A bar's ``last_inspected`` is its latest *passed* inspection: a failed one does not count.
    """
    from ashiguard.domain.practice import (
        Bar,
        Certification,
        Equipment,
        Practitioner,
        ready_to_treat,
    )
    from ashiguard.domain.screening import parse_screening

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
    return ready_to_treat(who, equipment, parse_screening(screening.payload), on)
