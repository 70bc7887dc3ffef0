"""Clients' consent to barefoot massage: signing it for the current intake, and finding it.

A consent belongs to one intake version (the answers the screening read). The readiness gate
(:func:`ashiguard.services.treatments.start_session`) refuses a session whose screening's
intake has no consent signed on the current form
(:data:`~ashiguard.domain.consent.CONSENT_VERSION`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Client, ClientLink, Consent, Intake, Screening
from ashiguard.domain.consent import CONSENT_VERSION, parse_consent
from ashiguard.domain.errors import InputError, NotFound
from ashiguard.services.clinic import store_intake
from ashiguard.services.uow import Actor, UnitOfWork, fetch, require_role

__all__ = [
    "CONSENT_ROLES",
    "LINK_HOURS",
    "consent_for",
    "consent_missing",
    "create_link",
    "latest_intake",
    "open_link",
    "sign_consent",
    "submit_by_client",
]

LINK_HOURS = 2.0
"""How long a one-time client link stays open, h."""

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


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(uow: UnitOfWork, client_id: int, actor: Actor | None, ip: str) -> str:
    """A one-time link token for the client to fill the intake and sign the consent alone
    (open :data:`LINK_HOURS`; only its SHA-256 is stored); audited."""
    require_role(actor, CONSENT_ROLES, "hand the intake to a client")
    client: Client = fetch(uow, Client, client_id)
    token = secrets.token_urlsafe(24)
    now = repo.utcnow()
    uow.session.add(
        ClientLink(
            client_id=client.id,
            token_hash=_hash(token),
            created_by=actor.id if actor else None,
            created_at=now,
            expires_at=now + timedelta(hours=LINK_HOURS),
        )
    )
    repo.audit(uow.session, actor, "create", "client_link", client.id, ip=ip)
    return token


def open_link(uow: UnitOfWork, token: str) -> tuple[ClientLink, Client]:
    """The link and its client; :class:`NotFound` (in the client's words) for a link that is
    unknown, used or expired."""
    link = uow.session.scalars(
        select(ClientLink).where(ClientLink.token_hash == _hash(token))
    ).first()
    if link is None or link.used_at is not None or link.expires_at < repo.utcnow():
        raise NotFound(
            "this link has been used or has expired; please ask the clinic for a new one"
        )
    client: Client = fetch(uow, Client, link.client_id)
    return link, client


def submit_by_client(
    uow: UnitOfWork,
    token: str,
    payload: dict[str, Any],
    pain_sites: list[str],
    signature: dict[str, Any],
    ip: str,
) -> Screening:
    """The client's own intake and consent from a one-time link, stored together (both or
    neither), the link then spent. :class:`InputError` names the field (nothing stored)."""
    link, client = open_link(uow, token)
    _, sc = store_intake(uow, client.id, payload, pain_sites, None, ip)
    sign_consent(uow, client.id, signature, None, ip, mode="client_link")
    link.used_at = repo.utcnow()
    return sc
