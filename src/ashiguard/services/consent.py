"""Clients' consent to barefoot massage: signing it for the current intake, and finding it.

A consent belongs to one intake version (the answers the screening read). The readiness gate
(:func:`ashiguard.services.treatments.start_session`) refuses a session whose screening's
intake has no consent signed on the current form
(:data:`~ashiguard.domain.consent.CONSENT_VERSION`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Client, Consent, Intake
from ashiguard.domain.consent import CONSENT_VERSION, parse_consent
from ashiguard.domain.errors import InputError
from ashiguard.services.uow import Actor, UnitOfWork, fetch, require_role

__all__ = ["CONSENT_ROLES", "consent_for", "consent_missing", "latest_intake", "sign_consent"]

CONSENT_ROLES: tuple[str, ...] = ("owner", "therapist", "front_desk")
"""Roles that may take a client's signature in the clinic."""


def latest_intake(s: Session, client_id: int) -> Intake | None:
    """The client's newest intake version (None before the first)."""
    return s.scalars(
        select(Intake).where(Intake.client_id == client_id).order_by(Intake.version.desc()).limit(1)
    ).first()


def consent_for(s: Session, intake_id: int) -> Consent | None:
    """The newest consent signed on the current form for intake ``intake_id`` (or None)."""
    return s.scalars(
        select(Consent)
        .where(Consent.intake_id == intake_id, Consent.form_version == CONSENT_VERSION)
        .order_by(Consent.id.desc())
        .limit(1)
    ).first()


def consent_missing(s: Session, intake_id: int) -> str | None:
    """Why a session may not start on this intake's screening for want of consent (None: a
    consent is signed)."""
    if consent_for(s, intake_id) is not None:
        return None
    version = s.scalar(select(Intake.version).where(Intake.id == intake_id))
    return (
        f"consent: the client has not signed the consent to barefoot massage for intake "
        f"v{version}; ask the client to read and sign it"
    )


def sign_consent(
    uow: UnitOfWork,
    client_id: int,
    data: dict[str, Any],
    actor: Actor | None,
    ip: str,
    *,
    mode: str = "in_clinic",
) -> Consent:
    """Store the client's signature (``typed_name``, ``agreed``, optional ``drawing``) for
    the client's latest intake version; audited as ``sign consent``.

    ``actor`` None with ``mode="client_link"``: the client signed on a one-time link.
    :class:`InputError` (nothing stored) for a bad signature or a client without an intake.
    """
    if mode != "client_link":
        require_role(actor, CONSENT_ROLES, "take consents")
    s = uow.session
    client: Client = fetch(uow, Client, client_id)
    intake = latest_intake(s, client.id)
    if intake is None:
        raise InputError("intake: fill the intake first; the consent is signed for it")
    agreed = str(data.get("agreed") or "").strip().lower() in ("1", "true", "yes", "on")
    sig = parse_consent(str(data.get("typed_name") or ""), agreed, str(data.get("drawing") or ""))
    row = Consent(
        client_id=client.id,
        intake_id=intake.id,
        form_version=CONSENT_VERSION,
        typed_name=sig.typed_name,
        drawing_png=sig.drawing_png,
        signed_at=repo.utcnow(),
        ip=ip[:64],
        taken_by=actor.id if actor else None,
        mode=mode,
    )
    s.add(row)
    s.flush()
    repo.audit(
        s,
        actor,
        "sign",
        "consent",
        row.id,
        ip=ip,
        detail=f"client {client.id} intake v{intake.version}, {mode.replace('_', ' ')}",
    )
    return row
