"""A client's comfort ceiling from the "too much" markers of their stored sessions.

For each of the client's most recent finished treatment sessions (newest first) the "too much"
markers are read from the session's recording (``/annotations``, each with the zone pressure
at its moment: :func:`ashiguard.services.delivery.recording_markers`), or, when the recording
is gone, from the markers stored with the session (``recording_meta["markers"]``) or its
``comfort`` alarm episodes; :func:`ashiguard.domain.comfort.comfort_ceiling` turns them into
the ceiling the planner proposes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ashiguard.adapters.db.models import TreatmentSession
from ashiguard.domain.comfort import LAST_VISITS, ComfortCeiling, TooMuch, comfort_ceiling
from ashiguard.services.delivery import recording_markers
from ashiguard.services.uow import UnitOfWork

__all__ = ["client_comfort", "session_too_much", "stored_markers"]


def stored_markers(t: TreatmentSession) -> list[dict[str, Any]]:
    """The markers stored with a session row: ``recording_meta["markers"]`` when the live
    session's outcome put them there, else its ``comfort`` alarm episodes as "too much"."""
    meta = t.recording_meta or {}
    marks = meta.get("markers")
    if isinstance(marks, list) and marks:
        return [dict(m) for m in marks if isinstance(m, Mapping)]
    out = []
    for a in t.alerts or []:
        if isinstance(a, Mapping) and a.get("kind") == "comfort":
            out.append(
                {
                    "t": a.get("t_start"),
                    "kind": "too_much",
                    "text": "",
                    "who": str(a.get("source") or "").removeprefix("marked by "),
                    "zone": a.get("zone"),
                    "zone_kpa": a.get("value_seen"),
                }
            )
    return out


def session_too_much(t: TreatmentSession, data_dir: Path) -> list[TooMuch]:
    """The "too much" markers of one session with the zone pressure at each."""
    path = Path(data_dir) / t.recording_path if t.recording_path else None
    rows = recording_markers(path if path is not None and path.is_file() else None,
                             stored_markers(t))  # fmt: skip
    day = t.started_at.date()
    out = []
    for r in rows:
        if r.kind != "too_much":
            continue
        kpa, measured = (r.kpa, True) if r.kpa is not None else (r.peak_kpa, False)
        if kpa is not None and kpa > 0:
            out.append(TooMuch(day, r.t, r.zone, float(kpa), measured, t.id))
    return out


def client_comfort(
    uow: UnitOfWork, client_id: int, data_dir: Path, last_visits: int = LAST_VISITS
) -> ComfortCeiling | None:
    """The comfort ceiling proposed for a client from their last ``last_visits`` finished
    sessions (ended or signed), or None when those hold no "too much" with a pressure."""
    rows = uow.session.scalars(
        select(TreatmentSession)
        .where(
            TreatmentSession.client_id == client_id,
            TreatmentSession.status.in_(("ended", "signed")),
        )
        .order_by(TreatmentSession.started_at.desc(), TreatmentSession.id.desc())
        .limit(last_visits)
    ).all()
    return comfort_ceiling([session_too_much(t, data_dir) for t in rows], last_visits)
