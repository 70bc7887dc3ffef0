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
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import Client, Intake, Screening, TreatmentSession, User
from ashiguard.domain.errors import Conflict, NotFound
from ashiguard.services.treatments import CLINICAL_ROLES, get_session
from ashiguard.services.uow import Actor, UnitOfWork, fetch, require_role

__all__ = [
    "RESEARCH_CSV_COLUMNS",
    "ZONE_CSV_COLUMNS",
    "Export",
    "client_record_blocks",
    "client_record_pdf",
    "recording_fhir",
    "research_csv",
    "session_fhir",
    "session_json",
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
    data.header = [("Client", _short(client)) if k == "Client" else (k, v) for k, v in data.header]
    therapist = t.practitioner.name if t.practitioner is not None else "not recorded"
    signed = f"{t.signer_name}, {t.signed_at:%Y-%m-%d}" if t.signed_at else "not signed"
    data.header[1:1] = [
        ("Therapist", _short(therapist)),
        ("Session", f"no. {t.id}, {t.started_at:%Y-%m-%d %H:%M} UTC"),
        ("Signed", _short(signed)),
    ]
    return data


def _report_pdf(t: TreatmentSession, screening: Screening | None, data_dir: Path) -> bytes:
    from ashiguard.adapters.report_render import write_pdf

    data = session_report(t, screening, data_dir)
    with tempfile.TemporaryDirectory(prefix="ashiguard-report-") as tmp:
        out = Path(tmp) / "report.pdf"
        write_pdf(data, out)
        return out.read_bytes()


def _short(text: str, n: int = 44) -> str:
    """A header value cut to what its column holds (the report's header has two columns)."""
    return text if len(text) <= n else text[: n - 1] + "…"


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
    require_role(actor, CLINICAL_ROLES, "export session reports")
    t = get_session(uow, session_id)
    content = _report_pdf(t, uow.session.get(Screening, t.screening_id), data_dir)
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


# ----------------------------------------------------------------- the client's whole record


def _decision_words(decision: str) -> str:
    return decision.replace("_", " ").capitalize()


def _restriction_words(r: Mapping[str, Any]) -> str:
    from ashiguard.domain.zone_names import zone_words

    out = []
    if r.get("avoid_zones"):
        out.append("avoid " + ", ".join(zone_words(z) for z in r["avoid_zones"]))
    if r.get("max_load_fraction") is not None:
        out.append(f"load ≤ {float(r['max_load_fraction']) * 100:.0f} % of the therapist's weight")
    if r.get("max_pressure_kpa") is not None:
        out.append(f"pressure ≤ {float(r['max_pressure_kpa']):g} kPa")
    return "; ".join(out) or "none"


def _intake_words(payload: Mapping[str, Any], pain_sites: Sequence[str]) -> list[tuple[str, str]]:
    """What an intake version says, one labelled line per part that was filled in."""
    from ashiguard.domain.zone_names import zone_words

    def listed(key: str, fmt: Any) -> str:
        items = [_mapping(x) for x in payload.get(key) or []]
        return "; ".join(fmt(x) for x in items)

    person = _mapping(payload.get("client"))
    vitals = _mapping(payload.get("vitals"))
    lines = []
    body = [
        f"{person['height_cm']:g} cm" if person.get("height_cm") else "",
        f"{person['weight_kg']:g} kg" if person.get("weight_kg") else "",
    ]
    if any(body):
        lines.append(("Height, weight", ", ".join(x for x in body if x)))
    v = []
    if vitals.get("systolic_mmhg") and vitals.get("diastolic_mmhg"):
        v.append(f"blood pressure {vitals['systolic_mmhg']:g}/{vitals['diastolic_mmhg']:g} mmHg")
    if vitals.get("temperature_c"):
        v.append(f"temperature {vitals['temperature_c']:g} °C")
    if v:
        lines.append(("Vitals", ", ".join(v)))
    conditions = listed(
        "conditions",
        lambda c: " ".join(
            x
            for x in (
                str(c.get("code", "")).replace("_", " "),
                f"({c.get('status', 'active')}"
                + (f", since {c['onset']}" if c.get("onset") else "")
                + (
                    ", controlled"
                    if c.get("controlled") is True
                    else ", not controlled"
                    if c.get("controlled") is False
                    else ""
                )
                + ")",
                str(c.get("note") or ""),
            )
            if x
        ),
    )
    procedures = listed(
        "procedures",
        lambda p: (
            str(p.get("code", "")).replace("_", " ")
            + (f" ({p['date']})" if p.get("date") else "")
            + (f", {p['site']}" if p.get("site") else "")
        ),
    )
    medications = listed(
        "medications",
        lambda m: (
            str(m.get("code", "")).replace("_", " ") + (f" ({m['name']})" if m.get("name") else "")
        ),
    )
    for label, text in (
        ("Conditions", conditions),
        ("Procedures", procedures),
        ("Medications", medications),
    ):
        lines.append((label, text or "none reported"))
    pregnancy = _mapping(payload.get("pregnancy"))
    if pregnancy.get("pregnant"):
        weeks = f", {pregnancy['weeks']} weeks" if pregnancy.get("weeks") else ""
        lines.append(("Pregnancy", f"pregnant{weeks}"))
    symptoms = [str(x).replace("_", " ") for x in payload.get("symptoms") or []]
    lines.append(("Symptoms today", ", ".join(symptoms) or "none reported"))
    if pain_sites:
        lines.append(("Pain sites", ", ".join(zone_words(z) for z in pain_sites)))
    if payload.get("notes"):
        lines.append(("Intake notes", str(payload["notes"])))
    return lines


def _duration_words(t: TreatmentSession) -> str:
    if t.ended_at is None:
        return "still running"
    s = round((t.ended_at - t.started_at).total_seconds())
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def _alarm_words(alerts: Sequence[Any]) -> str:
    items = [_mapping(a) for a in alerts]
    if not items:
        return "none"
    high = sum(1 for a in items if a.get("priority") == "high")
    kinds: dict[str, int] = {}
    for a in items:
        k = str(a.get("kind", "")).replace("_", " ")
        kinds[k] = kinds.get(k, 0) + 1
    what = ", ".join(f"{k} ×{n}" if n > 1 else k for k, n in kinds.items())
    return f"{len(items)} ({high} high priority): {what}"


def _signature_words(t: TreatmentSession) -> str:
    if t.status != "signed" or t.signed_at is None:
        return "not signed"
    capacity = (
        " (the clinic's owner, for the session's therapist)" if t.signed_as == "owner" else ""
    )
    return (
        f"signed by {t.signer_name or 'unknown'}{capacity}, "
        f"{t.signer_credential or 'no certificate on file'}, on {t.signed_at:%Y-%m-%d at %H:%M} UTC"
    )


def _session_map(t: TreatmentSession, data_dir: Path) -> tuple[bytes | None, str]:
    """The report's body heatmap (peak pressure) of a session, or why there is none."""
    from ashiguard.domain.errors import DomainError
    from ashiguard.services.report import render_peak_map_png

    if t.status == "live":
        return None, "Session still running: no map yet."
    if not t.recording_path:
        return None, "No recording: no pressure map."
    path = Path(data_dir) / t.recording_path
    if not path.is_file():
        return None, "Recording missing from the data folder: no pressure map."
    try:
        return render_peak_map_png(path, "peak"), "Peak pressure per sensel, kPa."
    except DomainError as exc:
        return None, f"Recording unreadable: {exc}"


def client_record_blocks(uow: UnitOfWork, client: Client, data_dir: Path) -> list[Any]:
    """The blocks (:class:`ashiguard.adapters.record_render.RecordBlock`) of a client's
    record: details, every intake version with its screening, every session."""
    from sqlalchemy import select

    from ashiguard.adapters.record_render import RecordBlock

    s = uow.session
    blocks = [
        RecordBlock(
            heading="Client",
            level=1,
            lines=[
                ("Name", client.name),
                ("Reference", client.ref),
                ("Born", client.birth_date.isoformat() if client.birth_date else "not recorded"),
                ("Sex", client.sex or "not recorded"),
                ("Phone", client.phone or "not recorded"),
                ("E-mail", client.email or "not recorded"),
                ("Client since", f"{client.created_at:%Y-%m-%d}"),
            ],
        )
    ]
    intakes = list(
        s.scalars(select(Intake).where(Intake.client_id == client.id).order_by(Intake.version))
    )
    screenings = {
        sc.intake_id: sc
        for sc in s.scalars(
            select(Screening).where(Screening.client_id == client.id).order_by(Screening.id)
        )
    }
    blocks.append(
        RecordBlock(
            heading=f"Intakes and screenings ({len(intakes)})",
            level=1,
            lines=[] if intakes else [("", "No intake on file.")],
        )
    )
    for it in intakes:
        payload = _mapping(it.payload)
        by = s.get(User, it.created_by) if it.created_by is not None else None
        lines = [
            ("For the day", str(payload.get("date", "not given"))),
            (
                "Entered",
                f"{it.created_at:%Y-%m-%d %H:%M} UTC"
                + (f" by {by.display_name or by.username}" if by is not None else ""),
            ),
        ]
        lines += _intake_words(payload, list(it.pain_sites or []))
        sc = screenings.get(it.id)
        if sc is None:
            lines.append(("Screening", "none stored"))
        else:
            sp = _mapping(sc.payload)
            lines += [
                ("Decision", f"{_decision_words(sc.decision)} (screened for {sc.screened_for})"),
                ("Rule set", sc.rules_version or "not given"),
                ("Restrictions", _restriction_words(_mapping(sp.get("restrictions")))),
            ]
            findings = [_mapping(f) for f in sp.get("findings") or []]
            if not findings:
                lines.append(("Findings", "none: no rule fired"))
            for i, f in enumerate(findings):
                lines.append(
                    (
                        "Findings" if i == 0 else "\u00a0",
                        f"{f.get('rule', '')} → {_decision_words(str(f.get('decision', '')))}: "
                        f"{f.get('reason', '')}",
                    )
                )
        blocks.append(RecordBlock(heading=f"Intake version {it.version}", lines=lines))
    sessions = list(
        s.scalars(
            select(TreatmentSession)
            .where(TreatmentSession.client_id == client.id)
            .order_by(TreatmentSession.started_at, TreatmentSession.id)
        )
    )
    blocks.append(
        RecordBlock(
            heading=f"Treatment sessions ({len(sessions)})",
            level=1,
            lines=[] if sessions else [("", "No treatment session on file.")],
        )
    )
    for t in sessions:
        load = _mapping(_mapping(t.summary).get("load"))
        peak = "not measured"
        if load.get("max_n") is not None:
            peak = f"{float(load['max_n']):.0f} N"
            if load.get("max_share") is not None:
                peak += f" ({float(load['max_share']) * 100:.0f} % of the therapist's weight)"
        image, note = _session_map(t, data_dir)
        blocks.append(
            RecordBlock(
                heading=f"Session of {t.started_at:%Y-%m-%d %H:%M} UTC (no. {t.id})",
                lines=[
                    ("Therapist", t.practitioner.name if t.practitioner else "not recorded"),
                    ("Room", t.room.name if t.room else "not recorded"),
                    ("Status", t.status),
                    ("Duration", _duration_words(t)),
                    ("Peak load", peak),
                    ("Alarms", _alarm_words(t.alerts or [])),
                    ("Notes", t.notes or "none"),
                    ("Signature", _signature_words(t)),
                ],
                image=image,
                image_note=note,
            )
        )
    return blocks


def client_record_pdf(
    uow: UnitOfWork,
    client_id: int,
    data_dir: Path,
    actor: Actor | None,
    ip: str,
    clinic_name: str,
) -> Export:
    """A client's whole record as one PDF: details, every intake version with its screening
    (decision, findings, rule set), every session (date, therapist, duration, peak load,
    alarms, notes, signature and the body heatmap where a recording exists); the clinic's
    name and page numbers on every page. Audited as ``export client``.

    Raises
    ------
    NotFound
        No such client.
    """
    from ashiguard.adapters.record_render import write_record_pdf

    require_role(actor, CLINICAL_ROLES, "export client records")
    client: Client = fetch(uow, Client, client_id)
    blocks = client_record_blocks(uow, client, data_dir)
    now = repo.utcnow()
    who = (actor.display_name or actor.username) if actor is not None else "the clinic"
    with tempfile.TemporaryDirectory(prefix="ashiguard-record-") as tmp:
        out = Path(tmp) / "record.pdf"
        write_record_pdf(
            blocks,
            out,
            title=f"Client record: {client.name}",
            subtitle=(
                f"{clinic_name} · reference {client.ref} · made on {now:%Y-%m-%d at %H:%M} UTC "
                f"by {who} · confidential: the clinic's own record of this client"
            ),
            footer=f"{clinic_name} · client record of {client.name} ({client.ref})",
            author=clinic_name,
        )
        content = out.read_bytes()
    n_sessions = sum(1 for b in blocks if b.heading.startswith("Session of"))
    repo.audit(
        uow.session,
        actor,
        "export",
        "client",
        client.id,
        ip=ip,
        detail=f"record PDF, {n_sessions} sessions",
    )
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", client.ref)  # a file name in a header
    return Export(content, f"client-{safe}-record.pdf", "application/pdf")


# ------------------------------------------------------------------------------ FHIR


def session_json(t: TreatmentSession) -> dict[str, Any]:
    """The session as the FHIR export reads it (the fields of ``GET /api/v1/sessions/{id}``
    it uses, and the therapist's name)."""
    return {
        "id": t.id,
        "status": t.status,
        "started_at": t.started_at.isoformat(),
        "ended_at": t.ended_at.isoformat() if t.ended_at else None,
        "therapist": t.practitioner.name if t.practitioner is not None else None,
        "notes": t.notes,
        "alerts": list(t.alerts or []),
        "summary": t.summary,
        "signed_at": t.signed_at.isoformat() if t.signed_at else None,
        "signed_by": t.signer_name,
        "signed_as": t.signed_as,
        "signer_credential": t.signer_credential,
    }


def session_fhir(
    uow: UnitOfWork, session_id: int, data_dir: Path, actor: Actor | None, ip: str
) -> dict[str, Any]:
    """An ended or signed session as a FHIR R4 Bundle (Patient naming the client, Procedure,
    Observations, the report PDF as a DocumentReference when the session has a recording,
    and the screening's RiskAssessment and Flags); audited as ``export session``.

    Raises
    ------
    Conflict
        The session is still live.
    NotFound
        No such session.
    """
    from ashiguard.adapters.fhir import session_to_fhir
    from ashiguard.domain.screening import parse_screening

    require_role(actor, CLINICAL_ROLES, "export sessions")
    t = get_session(uow, session_id)
    if t.status == "live":
        raise Conflict(
            f"session {t.id} is still running: it can be exported once the session has ended"
        )
    sc = uow.session.get(Screening, t.screening_id)
    recorded = bool(t.recording_path) and (Path(data_dir) / str(t.recording_path)).is_file()
    pdf = _report_pdf(t, sc, data_dir) if recorded else None
    c = t.client
    client = {
        "name": c.name,
        "ref": c.ref,
        "birth_date": c.birth_date.isoformat() if c.birth_date else None,
        "sex": c.sex,
    }
    screening = None
    if sc is not None and _mapping(sc.payload).get("schema") == "ashiguard.screening/1":
        screening = parse_screening(dict(sc.payload))
    bundle = session_to_fhir(session_json(t), client=client, report_pdf=pdf, screening=screening)
    what = "FHIR bundle" + ("" if pdf else " without report (no recording)")
    repo.audit(
        uow.session, actor, "export", "session", t.id, ip=ip, detail=f"{what}, client {t.client_id}"
    )
    return bundle


def recording_fhir(
    recording: Path,
    patient_ref: str,
    *,
    session: Mapping[str, Any] | None = None,
    screening: Mapping[str, Any] | None = None,
    with_report: bool = True,
) -> dict[str, Any]:
    """A session recorded outside the clinic database (``ashiguard fhir export-session``) as
    a FHIR R4 Bundle for the EHR's ``patient_ref``.

    ``session`` is the JSON of ``GET /api/v1/sessions/{id}`` (times, notes, signature, alarm
    episodes, summary); without it the session is the recording itself (id: the file's name
    without extension, the recording's start time and duration). A missing summary or alarm
    list is computed by the analyzer, with the screening's limits (as ``ashiguard report``).

    Raises
    ------
    InputError
        An unreadable recording, a bad session, screening or reference, a recording without
        a start time and no session given.
    """
    from ashiguard.adapters.fhir import session_to_fhir
    from ashiguard.adapters.recording import open_recording
    from ashiguard.adapters.report_render import write_pdf
    from ashiguard.domain.errors import InputError
    from ashiguard.domain.screening import parse_screening
    from ashiguard.services.analyze import analyze_recording, limits_from_files
    from ashiguard.services.report import collect_report, parse_summary

    sc = parse_screening(dict(screening)) if screening is not None else None
    with open_recording(recording) as rec:
        meta = rec.meta
    data: dict[str, Any] = dict(session or {})
    if session is None:
        if not meta.started_at:
            raise InputError(f"{recording}: the recording has no start time; give --session-json")
        data = {
            "id": Path(recording).stem,
            "started_at": meta.started_at,
            "duration_s": meta.duration_s,
        }
    for key in ("id", "started_at"):
        if data.get(key) in (None, ""):
            raise InputError(f"session.{key}: missing")
    if not isinstance(data.get("summary"), Mapping) or not isinstance(data.get("alerts"), list):
        result = analyze_recording(recording, limits_from_files(screening=screening))
        if not isinstance(data.get("summary"), Mapping):
            data["summary"] = result.summary
        if not isinstance(data.get("alerts"), list):
            data["alerts"] = [a.to_json() for a in result.alerts]
    data["summary"] = parse_summary(dict(data["summary"]), "session.summary")
    pdf = None
    if with_report:
        report = collect_report(
            recording,
            screening=screening,
            alerts=data["alerts"],
            summary=data["summary"],
        )
        with tempfile.TemporaryDirectory(prefix="ashiguard-report-") as tmp:
            out = Path(tmp) / "report.pdf"
            write_pdf(report, out)
            pdf = out.read_bytes()
    return session_to_fhir(data, patient_ref=patient_ref, report_pdf=pdf, screening=sc)
