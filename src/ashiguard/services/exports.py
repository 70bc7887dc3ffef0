"""Exports of the clinic's records: a session's report PDF, its per-zone table as CSV, the
de-identified research table as CSV, a client's whole record as one PDF and a session as FHIR.

Every export is a use case like the others: it takes the unit of work first, checks the
actor's role itself and writes one audit entry (action ``export``, the record, what was
exported), so the audit log shows who took which record out of the clinic.

Notes
-----
- The client is named only where the clinic's own record leaves (the session report, the
  record PDF, the FHIR Bundle). The research CSV carries exactly the de-identified rows of
  :func:`ashiguard.services.research.research_rows`: pseudonyms, age bands, months; no names,
  references, notes or file paths.
- Reports are drawn from the session's recording and its stored outcome (alarm episodes,
  analysis summary, markers) by :mod:`ashiguard.services.report`; nothing is re-analysed when
  the outcome is stored.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Screening, TreatmentSession
from ashiguard.domain.errors import Conflict, NotFound
from ashiguard.services.treatments import CLINICAL_ROLES, get_session
from ashiguard.services.uow import Actor, UnitOfWork, require_role

__all__ = [
    "RESEARCH_CSV_COLUMNS",
    "ZONE_CSV_COLUMNS",
    "Export",
    "research_csv",
    "session_recording",
    "session_report",
    "session_report_pdf",
    "session_zones_csv",
    "zone_table",
]

ZONE_CSV_COLUMNS = (
    "zone",
    "zone slug",
    "peak (kPa)",
    "peak below (kPa)",
    "mean (kPa)",
    "contact (s)",
    "dose (kPa·s)",
    "over limit (s)",
    "alarms",
)
"""The header of a session's zone table CSV: the zone in the clinic's words and its contract
slug, then the measurements with their units."""

RESEARCH_CSV_COLUMNS = (
    "subject",
    "month",
    "age band",
    "sex",
    "decision",
    "status",
    "duration (s)",
    "alarms",
    "high-priority alarms",
    "max load (% of therapist's weight)",
    "allowed load (% of therapist's weight)",
)
"""The header of the research CSV: the columns of the research page and the load share."""


@dataclass(frozen=True)
class Export:
    """A file to hand out: its bytes, a file name and the media type."""

    content: bytes
    filename: str
    media_type: str


def session_recording(t: TreatmentSession, data_dir: Path) -> Path:
    """The recording file of a finished session, or the reason there is none.

    Raises
    ------
    Conflict
        The session is still live (its recording is being written).
    NotFound
        Nothing was recorded, or the file is gone from the data directory.
    """
    if t.status == "live":
        raise Conflict(
            f"session {t.id} is still running: its report can be downloaded once the session "
            "has ended"
        )
    if not t.recording_path:
        raise NotFound(
            f"session {t.id} has no recording, so there is no report to download (its summary "
            "and alarms are on the review page)"
        )
    path = Path(data_dir) / t.recording_path
    if not path.is_file():
        raise NotFound(
            f"session {t.id}: its recording is missing from the clinic's data folder, so no "
            "report can be drawn"
        )
    return path


def _stored_summary(t: TreatmentSession) -> tuple[list[Any] | None, dict[str, Any] | None]:
    """The stored alarm episodes and summary, or (None, None) to let the report analyse the
    recording (a session whose outcome was never stored)."""
    if isinstance(t.summary, dict) and t.summary.get("schema") == "ashiguard.analysis/1":
        return list(t.alerts or []), dict(t.summary)
    return None, None


def session_report(t: TreatmentSession, screening: Screening | None, data_dir: Path) -> Any:
    """The :class:`~ashiguard.services.report.ReportData` of a finished session, with the
    client named (this is the clinic's own record) and the therapist and session added."""
    from ashiguard.services.comfort import stored_markers
    from ashiguard.services.report import collect_report

    path = session_recording(t, data_dir)
    alerts, summary = _stored_summary(t)
    data = collect_report(
        path,
        screening=screening.payload if screening is not None else None,
        alerts=alerts,
        summary=summary,
        markers=stored_markers(t),
    )
    client = f"{t.client.name} ({t.client.ref})" if t.client is not None else "not recorded"
    data.header = [("Client", client) if k == "Client" else (k, v) for k, v in data.header]
    therapist = t.practitioner.name if t.practitioner is not None else "not recorded"
    signed = f"signed by {t.signer_name} on {t.signed_at:%Y-%m-%d}" if t.signed_at else "not signed"
    data.header[1:1] = [
        ("Therapist", therapist),
        ("Session", f"no. {t.id}, {t.started_at:%Y-%m-%d %H:%M} UTC, {signed}"),
    ]
    return data


def session_report_pdf(
    uow: UnitOfWork, session_id: int, data_dir: Path, actor: Actor | None, ip: str
) -> Export:
    """The session report (four A4 pages, :func:`ashiguard.adapters.report_render.write_pdf`)
    of an ended or signed session, audited as ``export session`` ("report PDF").

    Raises
    ------
    NotFound
        No such session, no recording (or the file is gone).
    Conflict
        The session is still live.
    """
    from ashiguard.adapters.report_render import write_pdf

    require_role(actor, CLINICAL_ROLES, "export session reports")
    t = get_session(uow, session_id)
    data = session_report(t, uow.session.get(Screening, t.screening_id), data_dir)
    with tempfile.TemporaryDirectory(prefix="ashiguard-report-") as tmp:
        out = Path(tmp) / "report.pdf"
        write_pdf(data, out)
        content = out.read_bytes()
    repo.audit(
        uow.session,
        actor,
        "export",
        "session",
        t.id,
        ip=ip,
        detail=f"report PDF, client {t.client_id}",
    )
    return Export(content, f"session-{t.id}-report.pdf", "application/pdf")


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """CSV text (UTF-8 with a byte-order mark, so spreadsheets read the units' symbols), with
    text cells that a spreadsheet would run as a formula quoted by a leading apostrophe."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def _mapping(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def zone_table(t: TreatmentSession) -> list[list[Any]]:
    """The session's per-zone rows (:data:`ZONE_CSV_COLUMNS`) from its stored summary, in
    contract zone order; a zone whose peak never came near a limit has no exact peak, only
    the bound it stayed below."""
    from ashiguard.domain.zone_names import zone_words

    zones = _mapping(_mapping(t.summary).get("zones"))
    alarms: dict[str, int] = {}
    for a in t.alerts or []:
        zone = _mapping(a).get("zone")
        if isinstance(zone, str):
            alarms[zone] = alarms.get(zone, 0) + 1
    rows = []
    for slug, z in zones.items():
        z = _mapping(z)
        rows.append(
            [
                zone_words(slug),
                slug,
                _number(z.get("peak_kpa")),
                _number(z.get("peak_below_kpa")) if z.get("peak_kpa") is None else None,
                _number(z.get("mean_kpa")),
                _number(z.get("contact_s")),
                _number(z.get("dose_kpa_s")),
                _number(z.get("over_limit_s")),
                alarms.get(slug, 0),
            ]
        )
    return rows


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return round(float(v), 3)


def session_zones_csv(uow: UnitOfWork, session_id: int, actor: Actor | None, ip: str) -> Export:
    """A finished session's per-zone summary as CSV, audited as ``export session``
    ("zone table CSV").

    Raises
    ------
    Conflict
        The session is still live (its summary comes when it ends).
    NotFound
        No such session, or no zone summary stored (nothing recorded, or a sensor without
        body zones).
    """
    require_role(actor, CLINICAL_ROLES, "export session data")
    t = get_session(uow, session_id)
    if t.status == "live":
        raise Conflict(
            f"session {t.id} is still running: its zone table can be downloaded once the "
            "session has ended"
        )
    rows = zone_table(t)
    if not rows:
        raise NotFound(
            f"session {t.id} has no zone summary to download (nothing was recorded on the "
            "client's back)"
        )
    repo.audit(
        uow.session,
        actor,
        "export",
        "session",
        t.id,
        ip=ip,
        detail=f"zone table CSV, client {t.client_id}",
    )
    return Export(_csv(ZONE_CSV_COLUMNS, rows), f"session-{t.id}-zones.csv", "text/csv")


def _percent(v: Any) -> float | None:
    n = _number(v)
    return None if n is None else round(100.0 * n, 1)


def research_csv(
    uow: UnitOfWork, secret: str, actor: Actor | None, ip: str, detail: str, limit: int
) -> Export:
    """The de-identified research table as CSV: the rows of
    :func:`ashiguard.services.research.research_rows` (the same the research page shows),
    audited as ``export research_export`` with ``detail``.

    Notes
    -----
    Only values of the de-identified rows are written: the keyed pseudonym, the month, the
    age band, sex, decision, status, duration, alarm counts and the load as a share of the
    therapist's weight. No name, reference, birth date, note, session number or path.
    """
    from ashiguard.services.research import RESEARCH_ROLES, research_rows

    require_role(actor, RESEARCH_ROLES, "export research data")
    rows = []
    for r in research_rows(uow, secret, limit):
        load = _mapping(_mapping(r.get("summary")).get("load"))
        alerts = [a for a in r.get("alerts") or [] if isinstance(a, Mapping)]
        duration = _number(r.get("duration_s"))
        rows.append(
            [
                r.get("subject"),
                r.get("month"),
                r.get("age_band"),
                r.get("sex"),
                r.get("decision"),
                r.get("status"),
                None if duration is None else round(duration),
                len(alerts),
                sum(1 for a in alerts if a.get("priority") == "high"),
                _percent(load.get("max_share")),
                _percent(load.get("allowed_share")),
            ]
        )
    repo.audit(uow.session, actor, "export", "research_export", "", ip=ip, detail=detail)
    return Export(_csv(RESEARCH_CSV_COLUMNS, rows), "research-sessions.csv", "text/csv")
