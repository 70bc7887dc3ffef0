"""A treatment session as a FHIR R4 Bundle: a Procedure, its Observations and its report.

:func:`session_to_fhir` builds a ``collection`` Bundle holding

- the client as a ``Patient`` (only when the clinic exports its own record and names the
  client; otherwise the subject is the given reference, e.g. the EHR's ``Patient/123``),
- a ``Procedure``: the massage (SNOMED CT 387854002 |Massage|, text "Barefoot massage
  (Ashiatsu)"), completed, with its period, therapist, notes and signature,
- ``Observation``\\ s that are ``partOf`` it: duration (``s``), peak load on the client
  (``N``), that load as a share of the therapist's body weight (``%``, with the allowed
  share as the reference range), peak pressure per body zone (one component per zone in
  contact, ``kPa``) and the alarm count (components per priority),
- a ``DocumentReference`` carrying the session report PDF (base64 ``attachment.data``,
  ``contentType`` ``application/pdf``, SHA-1 ``hash`` and ``size``), referenced by the
  Procedure's ``report``,
- and, when the screening is given, the screening's ``RiskAssessment`` and safety ``Flag``\\ s
  (:func:`~ashiguard.adapters.fhir.screening_export.screening_to_fhir`).

Every resource is checked against its ``fhir.resources.R4B`` model. Units are UCUM.

Notes
-----
Ids are UUIDs derived from the session's id and start (``uuid5``), so the same session always
gives the same ids: an EHR can recognise a re-sent export. Measurements that were not made
(no load measured, no zone on the sensor) get no Observation rather than a made-up value.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ashiguard.adapters.fhir._base import FHIR_BASE, SNOMED, validated
from ashiguard.adapters.fhir.screening_export import check_reference, screening_to_fhir
from ashiguard.domain.errors import InputError
from ashiguard.domain.screening import Screening
from ashiguard.domain.zone_names import zone_words

__all__ = [
    "MASSAGE_SNOMED",
    "MEASURE_SYSTEM",
    "UCUM",
    "ZONE_SYSTEM",
    "fhir_instant",
    "session_to_fhir",
]

UCUM = "http://unitsofmeasure.org"
MASSAGE_SNOMED = ("387854002", "Massage")
"""SNOMED CT concept of the Procedure's code (the procedure hierarchy's massage concept)."""
MEASURE_SYSTEM = f"{FHIR_BASE}/CodeSystem/session-measure"
"""ashiguard's codes for what a session measured (no LOINC code exists for these)."""
ZONE_SYSTEM = f"{FHIR_BASE}/CodeSystem/body-zone"
"""The contract's zone slugs (``erector_lumbar_left``) as a code system."""
_SESSION_IDS = f"{FHIR_BASE}/treatment-session"
_CLIENT_IDS = f"{FHIR_BASE}/client"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, FHIR_BASE)
_GENDERS = ("male", "female", "other", "unknown")


def fhir_instant(value: Any, where: str) -> str:
    """An ISO 8601 time as a FHIR ``instant``/``dateTime`` with a zone (naive times are UTC).

    Raises
    ------
    InputError
        ``WHERE: expected an ISO 8601 time ...``.
    """
    if isinstance(value, datetime):
        t = value
    else:
        try:
            t = datetime.fromisoformat(str(value))
        except ValueError:
            raise InputError(
                f"{where}: expected an ISO 8601 time like 2026-11-24T10:30:00, got {value!r}"
            ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    text = t.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


def _quantity(value: float, unit: str, code: str | None = None) -> dict[str, Any]:
    return {"value": round(value, 3), "unit": unit, "system": UCUM, "code": code or unit}


def _measure(code: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": MEASURE_SYSTEM, "code": code, "display": text}], "text": text}


class _Ids:
    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, what: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"session|{self.key}|{what}"))


def _patient(client: Mapping[str, Any], ids: _Ids) -> dict[str, Any]:
    p: dict[str, Any] = {"resourceType": "Patient", "id": ids("Patient")}
    if client.get("ref"):
        p["identifier"] = [{"system": _CLIENT_IDS, "value": str(client["ref"])}]
    if client.get("name"):
        p["name"] = [{"text": str(client["name"])}]
    sex = str(client.get("sex") or "").strip().lower()
    if sex in _GENDERS:
        p["gender"] = sex
    if client.get("birth_date"):
        p["birthDate"] = str(client["birth_date"])
    return p


def _period(session: Mapping[str, Any]) -> dict[str, str]:
    period = {"start": fhir_instant(session.get("started_at"), "session.started_at")}
    if session.get("ended_at"):
        period["end"] = fhir_instant(session["ended_at"], "session.ended_at")
    return period


def _signature(session: Mapping[str, Any]) -> str:
    if not session.get("signed_at"):
        return "Not signed."
    who = session.get("signed_by") or "unknown"
    capacity = (
        " (the clinic's owner, for the session's therapist)"
        if (session.get("signed_as") == "owner")
        else ""
    )
    cred = session.get("signer_credential") or "no certificate on file"
    when = fhir_instant(session["signed_at"], "session.signed_at")
    return f"Signed by {who}{capacity}, {cred}, at {when}."


def _procedure(
    session: Mapping[str, Any], subject: str, ids: _Ids, report_id: str | None
) -> dict[str, Any]:
    code, display = MASSAGE_SNOMED
    notes = [{"text": str(session["notes"])}] if session.get("notes") else []
    notes.append({"text": _signature(session)})
    p: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": ids("Procedure"),
        "identifier": [{"system": _SESSION_IDS, "value": str(session["id"])}],
        "status": "completed",
        "code": {
            "coding": [{"system": SNOMED, "code": code, "display": display}],
            "text": "Barefoot massage (Ashiatsu)",
        },
        "subject": {"reference": subject},
        "performedPeriod": _period(session),
        "note": notes,
    }
    if session.get("therapist"):
        p["performer"] = [{"actor": {"display": str(session["therapist"])}}]
    if report_id is not None:
        p["report"] = [{"reference": f"urn:uuid:{report_id}", "display": "Session report (PDF)"}]
    return p


def _observation(
    ids: _Ids, what: str, text: str, subject: str, proc_id: str, period: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ids(f"Observation/{what}"),
        "status": "final",
        "category": [
            {"coding": [{"system": _OBS_CATEGORY, "code": "procedure", "display": "Procedure"}]}
        ],
        "code": _measure(what, text),
        "subject": {"reference": subject},
        "partOf": [{"reference": f"urn:uuid:{proc_id}"}],
        "effectivePeriod": dict(period),
    }


def _duration_s(session: Mapping[str, Any], summary: Mapping[str, Any]) -> float | None:
    d = _number(session.get("duration_s"))
    if d is not None:
        return d
    if session.get("started_at") and session.get("ended_at"):
        a = datetime.fromisoformat(fhir_instant(session["started_at"], "session.started_at"))
        b = datetime.fromisoformat(fhir_instant(session["ended_at"], "session.ended_at"))
        return (b - a).total_seconds()
    first, last = _number(summary.get("t_first")), _number(summary.get("t_last"))
    return last - first if first is not None and last is not None else None


def _observations(
    session: Mapping[str, Any], subject: str, ids: _Ids, proc_id: str
) -> list[dict[str, Any]]:
    summary = session.get("summary") if isinstance(session.get("summary"), Mapping) else {}
    alerts = [a for a in session.get("alerts") or [] if isinstance(a, Mapping)]
    period = _period(session)
    out = []

    def obs(what: str, text: str) -> dict[str, Any]:
        o = _observation(ids, what, text, subject, proc_id, period)
        out.append(o)
        return o

    duration = _duration_s(session, summary)
    if duration is not None:
        obs("duration", "Session duration")["valueQuantity"] = _quantity(duration, "s")
    load = summary.get("load") if isinstance(summary.get("load"), Mapping) else {}
    peak_n = _number(load.get("max_n"))
    if peak_n is not None:
        obs("peak-load", "Peak load on the client")["valueQuantity"] = _quantity(peak_n, "N")
    share = _number(load.get("max_share"))
    if share is not None:
        o = obs("peak-load-share", "Peak load as a share of the therapist's body weight")
        o["valueQuantity"] = _quantity(100.0 * share, "%")
        allowed = _number(load.get("allowed_share"))
        if allowed is not None:
            o["referenceRange"] = [
                {
                    "high": _quantity(100.0 * allowed, "%"),
                    "text": "allowed share of the therapist's body weight",
                }
            ]
    zones = summary.get("zones") if isinstance(summary.get("zones"), Mapping) else {}
    components = []
    for slug, z in zones.items():
        if not isinstance(z, Mapping) or not (_number(z.get("contact_s")) or 0.0) > 0.0:
            continue
        peak, below = _number(z.get("peak_kpa")), _number(z.get("peak_below_kpa"))
        if peak is None and below is None:
            continue
        value = _quantity(peak if peak is not None else float(below or 0.0), "kPa")
        if peak is None:
            value["comparator"] = "<"  # never near a limit: only the bound is known
        words = zone_words(slug)
        components.append(
            {
                "code": {
                    "coding": [{"system": ZONE_SYSTEM, "code": slug, "display": words}],
                    "text": words,
                },
                "valueQuantity": value,
            }
        )
    if components:
        obs("zone-peak-pressure", "Peak pressure per body zone")["component"] = components
    o = obs("alarm-count", "Alarms during the session")
    o["valueInteger"] = len(alerts)
    o["component"] = [
        {
            "code": _measure(f"alarm-count-{p}", f"{p.capitalize()}-priority alarms"),
            "valueInteger": sum(1 for a in alerts if a.get("priority") == p),
        }
        for p in ("high", "medium", "low")
    ]
    return out


def _document(
    session: Mapping[str, Any], subject: str, ids: _Ids, proc_id: str, pdf: bytes
) -> dict[str, Any]:
    when = session.get("ended_at") or session.get("started_at")
    return {
        "resourceType": "DocumentReference",
        "id": ids("DocumentReference"),
        "status": "current",
        "docStatus": "final" if session.get("signed_at") else "preliminary",
        "type": {"text": "Ashiatsu session report"},
        "subject": {"reference": subject},
        "date": fhir_instant(when, "session.ended_at"),
        "description": f"Session report of treatment session {session['id']} (PDF)",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "data": base64.b64encode(pdf).decode("ascii"),
                    "size": len(pdf),
                    "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode("ascii"),
                    "title": f"session-{session['id']}-report.pdf",
                }
            }
        ],
        "context": {
            "period": _period(session),
            "related": [{"reference": f"urn:uuid:{proc_id}"}],
        },
    }


def session_to_fhir(
    session: Mapping[str, Any],
    *,
    patient_ref: str | None = None,
    client: Mapping[str, Any] | None = None,
    report_pdf: bytes | None = None,
    screening: Screening | None = None,
) -> dict[str, Any]:
    """A treatment session as a FHIR R4 ``collection`` Bundle (JSON).

    Parameters
    ----------
    session : dict
        The session as ``GET /api/v1/sessions/{id}`` gives it: ``id``, ``started_at``,
        ``ended_at`` (ISO times; naive means UTC), ``notes``, ``alerts`` (contract section 5),
        ``summary`` (``ashiguard.analysis/1``), ``signed_at``, ``signed_by``, ``signed_as``,
        ``signer_credential``; optionally ``therapist`` (name) and ``duration_s`` (s).
    patient_ref : str, optional
        The client in the EHR (``Patient/123``); give it or ``client``.
    client : dict, optional
        The clinic's own client (``name``, ``ref``, ``birth_date``, ``sex``): a Patient
        resource naming the client is added and is the subject.
    report_pdf : bytes, optional
        The session report; carried by a DocumentReference when given.
    screening : Screening, optional
        The screening the session was started under: its RiskAssessment and Flags are added.

    Raises
    ------
    InputError
        A bad ``patient_ref``, neither or both of ``patient_ref`` and ``client``, a session
        without ``id`` or with a time that is not ISO 8601.
    """
    if (patient_ref is None) == (client is None):
        raise InputError("patient: give the client's Patient reference or the client, not both")
    if session.get("id") in (None, ""):
        raise InputError("session.id: missing")
    ids = _Ids(f"{session['id']}|{session.get('started_at')}")
    resources: list[dict[str, Any]] = []
    if client is not None:
        patient = _patient(client, ids)
        resources.append(patient)
        subject = f"urn:uuid:{patient['id']}"
    else:
        subject = check_reference(str(patient_ref), "patient", "Patient")
    proc_id = ids("Procedure")
    doc = _document(session, subject, ids, proc_id, report_pdf) if report_pdf else None
    resources.append(_procedure(session, subject, ids, doc["id"] if doc else None))
    resources += _observations(session, subject, ids, proc_id)
    if doc is not None:
        resources.append(doc)
    entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": validated(r)} for r in resources]
    if screening is not None:
        entries += screening_to_fhir(screening, subject)["entry"]
    bundle = {
        "resourceType": "Bundle",
        "id": ids("Bundle"),
        "type": "collection",
        "entry": entries,
    }
    return validated(bundle)
