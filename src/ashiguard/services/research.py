"""De-identified research data: treatment sessions without names, ids, birth dates or notes.

Notes
-----
A client appears only as a keyed pseudonym (SHA-256 of the clinic's secret and the client's
row id: stable, not reversible without the secret), the age in 10-year bands, the date as the
year and month. Notes, file paths, references and names are never included.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Screening, TreatmentSession
from ashiguard.services.uow import Actor, UnitOfWork, require_role

__all__ = ["RESEARCH_ROLES", "deidentified", "export_research", "pseudonym", "research_rows"]

RESEARCH_ROLES: tuple[str, ...] = ("owner", "researcher")


def pseudonym(secret: str, client_id: int) -> str:
    """A stable pseudonym for a client in de-identified data (keyed hash, not reversible)."""
    return "s-" + hashlib.sha256(f"{secret}:{client_id}".encode()).hexdigest()[:12]


def deidentified(t: TreatmentSession, sc: Screening | None, secret: str) -> dict[str, Any]:
    """A session without names, ids, dates of birth, notes or file paths.

    Age is given in 10-year bands and the date only as the year and month.
    """
    birth = t.client.birth_date
    age_band = None
    if birth is not None:
        age = (
            t.started_at.year
            - birth.year
            - ((t.started_at.month, t.started_at.day) < (birth.month, birth.day))
        )
        age_band = f"{age // 10 * 10}-{age // 10 * 10 + 9}"
    return {
        "subject": pseudonym(secret, t.client_id),
        "month": t.started_at.strftime("%Y-%m"),
        "age_band": age_band,
        "sex": t.client.sex or None,
        "decision": sc.decision if sc else None,
        "restrictions": (sc.payload.get("restrictions") if sc else None),
        "status": t.status,
        "duration_s": (t.ended_at - t.started_at).total_seconds() if t.ended_at else None,
        "alerts": t.alerts or [],
        "summary": t.summary,
    }


def research_rows(uow: UnitOfWork, secret: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The latest ``limit`` sessions that are no longer live, de-identified, newest first."""
    s = uow.session
    rows = s.scalars(
        select(TreatmentSession)
        .where(TreatmentSession.status != "live")
        .order_by(TreatmentSession.started_at.desc())
        .limit(limit)
    ).all()
    return [deidentified(t, s.get(Screening, t.screening_id), secret) for t in rows]


def export_research(
    uow: UnitOfWork,
    secret: str,
    actor: Actor | None,
    ip: str,
    detail: str = "",
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """:func:`research_rows`, audited as ``read research_export``."""
    require_role(actor, RESEARCH_ROLES, "read research data")
    repo.audit(uow.session, actor, "read", "research_export", "", ip=ip, detail=detail)
    return research_rows(uow, secret, limit)
