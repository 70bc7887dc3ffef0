"""A treatment session as a FHIR R4 Bundle: every resource valid, every value the session's."""

from __future__ import annotations

import base64
import hashlib
import importlib
from typing import Any

import pytest

from ashiguard.adapters.fhir import session_to_fhir
from ashiguard.domain.errors import InputError
from ashiguard.domain.screening import parse_screening

SUMMARY = {
    "schema": "ashiguard.analysis/1",
    "checks": {},
    "t_first": 0.0,
    "t_last": 599.5,
    "load": {"max_n": 412.5, "max_share": 0.678, "allowed_share": 0.5, "series": []},
    "zones": {
        "spine_lumbar": {"peak_kpa": 141.2, "contact_s": 3.5, "peak_below_kpa": None},
        "erector_lumbar_left": {"peak_kpa": None, "peak_below_kpa": 40.0, "contact_s": 120.0},
        "neck": {"peak_kpa": None, "peak_below_kpa": 5.0, "contact_s": 0.0},
    },
}
ALERTS = [
    {"kind": "spine_pressure", "priority": "high", "t_start": 1.0, "t_end": 2.0,
     "zone": "spine_lumbar", "peak": 141.2, "limit": 120.0, "unit": "kPa"},
    {"kind": "unsupported_weight", "priority": "medium", "t_start": 5.0, "t_end": 9.0,
     "zone": None, "peak": 0.68, "limit": 0.5, "unit": "share"},
    {"kind": "spine_pressure", "priority": "high", "t_start": 20.0, "t_end": 21.0,
     "zone": "spine_lumbar", "peak": 130.0, "limit": 120.0, "unit": "kPa"},
]  # fmt: skip
SESSION = {
    "id": 42,
    "started_at": "2026-11-24T10:00:00",
    "ended_at": "2026-11-24T10:10:00",
    "therapist": "Mia Therapist",
    "notes": "Neck tight; worked the lower back.",
    "alerts": ALERTS,
    "summary": SUMMARY,
    "signed_at": "2026-11-24T10:20:00",
    "signed_by": "Mia Therapist",
    "signed_as": "therapist",
    "signer_credential": "Ashiatsu certificate, Ashiatsu Guild, valid until 2027-01-01",
}
SCREENING = {
    "schema": "ashiguard.screening/1",
    "client_id": "c-001",
    "date": "2026-11-24",
    "decision": "modify",
    "findings": [{"rule": "hypertension-uncontrolled", "decision": "modify",
                  "reason": "blood pressure above 140/90", "sources": ["x"]}],
    "restrictions": {"avoid_zones": [], "max_load_fraction": 0.5, "max_pressure_kpa": None},
    "rules_version": "ashiguard-default-v1",
}  # fmt: skip
PDF = b"%PDF-1.4\n% a tiny stand-in report\n%%EOF\n"


def _valid(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Validate the Bundle and every resource with its fhir.resources R4B model; check that
    every urn:uuid reference points into the Bundle; return the resources by type."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    urls = {e["fullUrl"] for e in bundle["entry"]}
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in bundle["entry"]:
        r = e["resource"]
        kind = r["resourceType"]
        getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind).model_validate(
            r
        )
        assert e["fullUrl"] == f"urn:uuid:{r['id']}"
        by_type.setdefault(kind, []).append(r)
        for ref in _references(r):
            if ref.startswith("urn:uuid:"):
                assert ref in urls, (kind, ref)
    return by_type


def _references(obj: Any) -> list[str]:
    if isinstance(obj, dict):
        out = [obj["reference"]] if isinstance(obj.get("reference"), str) else []
        return out + [x for v in obj.values() for x in _references(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _references(v)]
    return []


def _obs(by_type, code: str) -> dict[str, Any]:
    (o,) = [o for o in by_type["Observation"] if o["code"]["coding"][0]["code"] == code]
    return o


def test_a_session_becomes_a_procedure_with_observations_and_its_report():
    bundle = session_to_fhir(
        SESSION, patient_ref="Patient/123", report_pdf=PDF, screening=parse_screening(SCREENING)
    )
    assert bundle["type"] == "collection"
    by_type = _valid(bundle)
    assert sorted(by_type) == [
        "DocumentReference", "Flag", "Observation", "Procedure", "RiskAssessment"
    ]  # fmt: skip
    (proc,) = by_type["Procedure"]
    assert proc["status"] == "completed"
    assert proc["code"]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "387854002", "display": "Massage"}
    ]
    assert proc["subject"] == {"reference": "Patient/123"}
    assert proc["performedPeriod"] == {
        "start": "2026-11-24T10:00:00Z",
        "end": "2026-11-24T10:10:00Z",
    }
    assert proc["performer"] == [{"actor": {"display": "Mia Therapist"}}]
    assert proc["identifier"][0]["value"] == "42"
    notes = [n["text"] for n in proc["note"]]
    assert notes[0] == "Neck tight; worked the lower back."
    assert notes[1] == (
        "Signed by Mia Therapist, Ashiatsu certificate, Ashiatsu Guild, valid until "
        "2027-01-01, at 2026-11-24T10:20:00Z."
    )
    proc_url = f"urn:uuid:{proc['id']}"
    for o in by_type["Observation"]:
        assert o["status"] == "final" and o["partOf"] == [{"reference": proc_url}]
        assert o["subject"] == {"reference": "Patient/123"}
        assert o["effectivePeriod"] == proc["performedPeriod"]
    ucum = "http://unitsofmeasure.org"
    assert _obs(by_type, "duration")["valueQuantity"] == {
        "value": 600.0, "unit": "s", "system": ucum, "code": "s"
    }  # fmt: skip
    assert _obs(by_type, "peak-load")["valueQuantity"] == {
        "value": 412.5, "unit": "N", "system": ucum, "code": "N"
    }  # fmt: skip
    share = _obs(by_type, "peak-load-share")
    assert share["valueQuantity"] == {"value": 67.8, "unit": "%", "system": ucum, "code": "%"}
    assert share["referenceRange"][0]["high"]["value"] == 50.0
    zones = {
        c["code"]["coding"][0]["code"]: c for c in _obs(by_type, "zone-peak-pressure")["component"]
    }
    assert sorted(zones) == ["erector_lumbar_left", "spine_lumbar"]  # zones in contact only
    assert zones["spine_lumbar"]["code"]["text"] == "lower-back spine"
    assert zones["spine_lumbar"]["valueQuantity"] == {
        "value": 141.2, "unit": "kPa", "system": ucum, "code": "kPa"
    }  # fmt: skip
    assert zones["erector_lumbar_left"]["valueQuantity"]["comparator"] == "<"
    assert zones["erector_lumbar_left"]["valueQuantity"]["value"] == 40.0
    alarms = _obs(by_type, "alarm-count")
    assert alarms["valueInteger"] == 3
    assert [c["valueInteger"] for c in alarms["component"]] == [2, 1, 0]
    (doc,) = by_type["DocumentReference"]
    att = doc["content"][0]["attachment"]
    assert att["contentType"] == "application/pdf"
    assert base64.b64decode(att["data"]) == PDF
    assert att["size"] == len(PDF)
    assert base64.b64decode(att["hash"]) == hashlib.sha1(PDF).digest()
    assert doc["docStatus"] == "final"
    assert proc["report"] == [
        {"reference": f"urn:uuid:{doc['id']}", "display": "Session report (PDF)"}
    ]
    assert doc["context"]["related"] == [{"reference": proc_url}]
    (risk,) = by_type["RiskAssessment"]
    assert risk["subject"] == {"reference": "Patient/123"}
    # the same session always gives the same Bundle (an EHR recognises a re-sent export)
    assert (
        session_to_fhir(
            SESSION, patient_ref="Patient/123", report_pdf=PDF, screening=parse_screening(SCREENING)
        )
        == bundle
    )


def test_the_clinics_own_export_names_the_client_in_a_patient_resource():
    client = {"name": "Erika Export", "ref": "c-exp", "birth_date": "1970-05-02", "sex": "female"}
    bundle = session_to_fhir({**SESSION, "signed_at": None}, client=client)
    by_type = _valid(bundle)
    (patient,) = by_type["Patient"]
    assert patient["name"] == [{"text": "Erika Export"}]
    assert patient["identifier"][0]["value"] == "c-exp"
    assert patient["birthDate"] == "1970-05-02" and patient["gender"] == "female"
    (proc,) = by_type["Procedure"]
    assert proc["subject"] == {"reference": f"urn:uuid:{patient['id']}"}
    assert proc["note"][-1]["text"] == "Not signed."
    assert "DocumentReference" not in by_type and "report" not in proc


def test_measurements_that_were_not_made_get_no_observation():
    session = {**SESSION, "alerts": [], "summary": {**SUMMARY, "load": {}, "zones": {}}}
    by_type = _valid(session_to_fhir(session, patient_ref="Patient/1"))
    codes = [o["code"]["coding"][0]["code"] for o in by_type["Observation"]]
    assert codes == ["duration", "alarm-count"]
    assert _obs(by_type, "alarm-count")["valueInteger"] == 0


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({}, "patient: give the client's Patient reference or the client"),
        ({"patient_ref": "Patient/1", "client": {"name": "x"}}, "not both"),
        ({"patient_ref": "123"}, "patient: expected a FHIR reference like Patient/123"),
    ],
)
def test_a_bad_or_missing_subject_is_refused_naming_it(kw, message):
    with pytest.raises(InputError, match=message):
        session_to_fhir(SESSION, **kw)


def test_a_session_time_that_is_not_iso_is_refused_naming_the_field():
    with pytest.raises(InputError, match=r"session\.started_at: expected an ISO 8601 time"):
        session_to_fhir({**SESSION, "started_at": "yesterday"}, patient_ref="Patient/1")
