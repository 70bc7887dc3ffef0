"""A client's history: what happened when (intakes, screenings, consents, sessions, the
client's "too much" markers), and how the measured sessions trend from visit to visit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from ashiguard.adapters.db.models import Consent, Intake, Screening, SoapNote, TreatmentSession
from ashiguard.domain.zone_names import zone_words
from ashiguard.services.comfort import stored_markers
from ashiguard.services.uow import UnitOfWork

__all__ = ["HistoryEntry", "VisitTrend", "client_history", "visit_trends"]


@dataclass(frozen=True)
class HistoryEntry:
    """One thing that happened in a client's record, in the clinic's words."""

    at: datetime
    kind: str  # intake, screening, consent, session, too_much
    title: str
    detail: str = ""
    record_id: int = 0


@dataclass(frozen=True)
class VisitTrend:
    """What one finished session measured (for the trend plots across visits)."""

    session_id: int
    started_at: datetime
    duration_s: float | None
    peak_load_n: float | None
    load_share: float | None
    alarms: int
    too_much: int
    dose_kpa_s: dict[str, float] = field(default_factory=dict)
    pain_before: int | None = None  # 0-10, from the session's note (None: not asked)
    pain_after: int | None = None


def _decision_words(decision: str) -> str:
    return decision.replace("_", " ")


def client_history(uow: UnitOfWork, client_id: int) -> list[HistoryEntry]:
    """Every intake, screening, consent, session and "too much" marker of the client, newest
    first (the caller has read the client record, audited)."""
    s = uow.session
    out: list[HistoryEntry] = []
    versions: dict[int, int] = {}
    for it in s.scalars(select(Intake).where(Intake.client_id == client_id)):
        versions[it.id] = it.version
        day = it.payload.get("date", "")
        out.append(
            HistoryEntry(it.created_at, "intake", f"Intake v{it.version}", f"for {day}", it.id)
        )
    for sc in s.scalars(select(Screening).where(Screening.client_id == client_id)):
        out.append(
            HistoryEntry(
                sc.created_at,
                "screening",
                f"Screening: {_decision_words(sc.decision)}",
                f"intake v{versions.get(sc.intake_id, '?')}",
                sc.id,
            )
        )
    for c in s.scalars(select(Consent).where(Consent.client_id == client_id)):
        how = "on the client's own link" if c.mode == "client_link" else "in the clinic"
        out.append(
            HistoryEntry(
                c.signed_at,
                "consent",
                "Consent signed",
                f"by {c.typed_name}, {how}, for intake v{versions.get(c.intake_id, '?')}",
                c.id,
            )
        )
    for t in s.scalars(select(TreatmentSession).where(TreatmentSession.client_id == client_id)):
        detail = f"with {t.practitioner.name}, {t.status}"
        if t.ended_at is not None:
            detail += f", {round((t.ended_at - t.started_at).total_seconds() / 60)} min"
        if t.alerts:
            detail += f", {len(t.alerts)} alarm{'s' if len(t.alerts) != 1 else ''}"
        out.append(HistoryEntry(t.started_at, "session", "Session", detail, t.id))
        for m in stored_markers(t):
            if m.get("kind") != "too_much":
                continue
            at = t.started_at + timedelta(seconds=float(m.get("t") or 0.0))
            where = zone_words(m.get("zone")) if m.get("zone") else ""
            out.append(
                HistoryEntry(
                    at, "too_much", 'Client said "too much"', where or "during a session", t.id
                )
            )
    # newest first; within one second, the later step of the visit first (intake, screening,
    # consent, session were collected in that order)
    order = {id(e): i for i, e in enumerate(out)}
    out.sort(key=lambda e: (e.at, order[id(e)]), reverse=True)
    return out


def visit_trends(uow: UnitOfWork, client_id: int) -> list[VisitTrend]:
    """The client's finished sessions (ended or signed) in time order, as measured."""
    rows = uow.session.scalars(
        select(TreatmentSession)
        .where(
            TreatmentSession.client_id == client_id,
            TreatmentSession.status.in_(("ended", "signed")),
        )
        .order_by(TreatmentSession.started_at)
    )
    rows = list(rows)
    notes = {
        n.session_id: n
        for n in uow.session.scalars(
            select(SoapNote).where(SoapNote.session_id.in_([t.id for t in rows]))
        )
    }
    out = []
    for t in rows:
        summary: dict[str, Any] = t.summary or {}
        note = notes.get(t.id)
        load = summary.get("load") or {}
        zones = summary.get("zones") or {}
        out.append(
            VisitTrend(
                session_id=t.id,
                started_at=t.started_at,
                duration_s=(t.ended_at - t.started_at).total_seconds() if t.ended_at else None,
                peak_load_n=load.get("max_n"),
                load_share=load.get("max_share"),
                alarms=len(t.alerts or []),
                too_much=sum(1 for m in stored_markers(t) if m.get("kind") == "too_much"),
                dose_kpa_s={
                    z: float(v.get("dose_kpa_s") or 0.0)
                    for z, v in zones.items()
                    if v.get("dose_kpa_s")
                },
                pain_before=note.pain_before if note is not None else None,
                pain_after=note.pain_after if note is not None else None,
            )
        )
    return out
