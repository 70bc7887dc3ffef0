"""De-identified research data: treatment sessions without names, ids, birth dates or notes.

Notes
-----
A client appears only as a keyed pseudonym (SHA-256 of the clinic's secret and the client's
row id: stable, not reversible without the secret), the age in 10-year bands, the date as the
year and month. Notes, file paths, references, names, session numbers and free text are never
included. The stored analysis summary and alarm episodes pass through allow-lists
(:data:`SUMMARY_KEYS`, :data:`ALERT_KEYS`): a key not listed is left out, so a field added to
the analysis later is not exported until someone decides it may be. The therapist's weight
is a quasi-identifier: the summary keeps loads only as a share of it (``share``,
``max_share``), never in newtons.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Screening, TreatmentSession
from ashiguard.services.uow import Actor, UnitOfWork, require_role

__all__ = [
    "ALERT_KEYS",
    "RESEARCH_ROLES",
    "SUMMARY_KEYS",
    "deidentified",
    "export_research",
    "pseudonym",
    "research_alert",
    "research_rows",
    "research_summary",
]

RESEARCH_ROLES: tuple[str, ...] = ("owner", "researcher")

# what of the stored analysis summary reaches researchers: top-level key -> None (the value
# as it is: numbers, zone slugs, limits and their sources) or the allowed keys of a nested object
SUMMARY_KEYS: dict[str, frozenset[str] | None] = {
    "schema": None,
    "placement": None,
    "therapist_mass_known": None,
    "checks": None,
    "limits": None,
    "alerts_by_kind": None,
    "sensels_never_reporting": None,
    "frames": None,
    "t_first": None,
    "t_last": None,
    "zones": None,
    "load": frozenset({"source", "bin_s", "max_share", "allowed_share", "series"}),
    "symmetry": frozenset({"source", "index_percent"}),
    "cop_paths_mm": None,
    "delivery": None,
}
_LOAD_BIN_KEYS = frozenset({"t", "share"})

# the fields of an alarm episode (contract section 5) that are measurements or enums
ALERT_KEYS = frozenset(
    {
        "kind",
        "priority",
        "t_start",
        "t_end",
        "zone",
        "peak",
        "limit",
        "unit",
        "depth_mm",
        "value_seen",
        "rule",
        "source",
    }
)


def research_summary(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored analysis summary with only the :data:`SUMMARY_KEYS` (no recording path, no
    therapist weight, no loads in newtons)."""
    if not isinstance(summary, dict):
        return None
    out: dict[str, Any] = {}
    for key, allowed in SUMMARY_KEYS.items():
        if key not in summary:
            continue
        value = summary[key]
        if allowed is not None and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k in allowed}
            if key == "load" and isinstance(value.get("series"), list):
                value["series"] = [
                    {k: v for k, v in b.items() if k in _LOAD_BIN_KEYS}
                    for b in value["series"]
                    if isinstance(b, dict)
                ]
        out[key] = value
    return out


def research_alert(alert: dict[str, Any]) -> dict[str, Any]:
    """An alarm episode with only the :data:`ALERT_KEYS` (no free text, no names)."""
    return {k: v for k, v in alert.items() if k in ALERT_KEYS}


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
        "alerts": [research_alert(a) for a in (t.alerts or []) if isinstance(a, dict)],
        "summary": research_summary(t.summary),
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
