"""Screenings exported as FHIR R4 Bundles (RiskAssessment and safety Flags)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.riskassessment import RiskAssessment

from ashiguard.adapters.fhir import screening_to_fhir
from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import parse_intake
from ashiguard.domain.screening import Screening, default_rules, parse_screening, screen

ROOT = Path(__file__).resolve().parents[2]
INTAKES = sorted((ROOT / "examples" / "intakes").glob("*.json"))


def _screening(stem: str) -> Screening:
    return screen(parse_intake((ROOT / "examples" / "intakes" / f"{stem}.json").read_text()))


@pytest.mark.parametrize(
    ("rule_set", "text"),
    [
        ("default-v1.1", "ashiguard rules ashiguard-default-v1.1 (ashiguard screening policy 1.1)"),
        ("default-v1", "ashiguard rules ashiguard-default-v1 (ashiguard screening policy 1)"),
    ],
)
def test_the_risk_assessment_names_the_rule_set_version_it_was_screened_with(rule_set, text):
    intake = parse_intake((ROOT / "examples" / "intakes" / "decline-osteoporosis.json").read_text())
    s = screen(intake, default_rules(rule_set))
    risk, _ = _split(screening_to_fhir(s, "Patient/123"))
    assert risk["method"]["coding"][0]["code"] == s.rules_version
    assert risk["method"]["text"] == text
    assert risk["note"][0]["text"].endswith(f"rules {s.rules_version}")


def _split(bundle: dict) -> tuple[dict, list[dict]]:
    resources = [e["resource"] for e in bundle["entry"]]
    assert resources[0]["resourceType"] == "RiskAssessment"
    assert {r["resourceType"] for r in resources[1:]} <= {"Flag"}
    return resources[0], resources[1:]


@pytest.mark.parametrize("path", INTAKES, ids=lambda p: p.stem)
def test_every_example_screening_exports_as_a_valid_bundle(path):
    s = screen(parse_intake(path.read_text()))
    bundle = screening_to_fhir(s, "Patient/123")
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    risk, flags = _split(bundle)
    RiskAssessment.model_validate(risk)
    assert risk["status"] == "final"
    assert risk["subject"] == {"reference": "Patient/123"}
    assert risk["occurrenceDateTime"] == s.date.isoformat()
    assert s.rules_version in risk["method"]["text"]
    assert (
        f"decision for barefoot massage (Ashiatsu): {s.decision.value};" in risk["note"][0]["text"]
    )
    predictions = risk.get("prediction", [])
    assert [p["rationale"].split(":")[0] for p in predictions] == [f.rule for f in s.findings]
    assert [p["outcome"]["coding"][0]["code"] for p in predictions] == [
        f.decision.value for f in s.findings
    ]
    restrictive = [f for f in s.findings if f.decision.value != "cleared"]
    assert len(flags) == len(restrictive)
    for flag, finding in zip(flags, restrictive, strict=True):
        Flag.model_validate(flag)
        assert flag["status"] == "active"
        assert flag["category"][0]["coding"][0]["code"] == "safety"
        assert flag["code"]["coding"][0]["code"] == finding.rule
        assert finding.decision.value.replace("_", " ") in flag["code"]["text"]
        assert flag["period"] == {"start": s.date.isoformat()}
        assert flag["subject"] == {"reference": "Patient/123"}


def test_a_cleared_screening_has_no_flag_and_says_cleared():
    s = _screening("cleared-healthy-adult")
    assert s.findings == ()
    risk, flags = _split(screening_to_fhir(s, "Patient/p1"))
    assert flags == []
    assert "prediction" not in risk and "mitigation" not in risk
    assert ": cleared;" in risk["note"][0]["text"]


def test_restrictions_become_the_mitigation_and_facts_the_rationale():
    s = _screening("modify-left-hip-replacement")
    risk, _ = _split(screening_to_fhir(s, "Patient/p1"))
    assert risk["mitigation"] == s.restrictions.describe()
    for prediction, finding in zip(risk["prediction"], s.findings, strict=True):
        for fact in finding.facts:
            assert fact in prediction["rationale"]


def test_the_export_is_deterministic_and_references_the_intake_and_extra_basis():
    s = _screening("decline-osteoporosis")
    one = screening_to_fhir(s, "Patient/p1", ["QuestionnaireResponse/qr-7"])
    assert one == screening_to_fhir(
        parse_screening(s.to_json()), "Patient/p1", ["QuestionnaireResponse/qr-7"]
    )
    risk, _ = _split(one)
    assert risk["basis"][0]["identifier"]["value"] == f"{s.client_id}/{s.date.isoformat()}"
    assert risk["basis"][1] == {"reference": "QuestionnaireResponse/qr-7"}
    ids = [e["resource"]["id"] for e in one["entry"]]
    assert len(set(ids)) == len(ids)
    assert [e["fullUrl"] for e in one["entry"]] == [f"urn:uuid:{i}" for i in ids]


@pytest.mark.parametrize(
    ("patient", "basis", "message"),
    [
        ("123", [], r"^patient: expected a FHIR reference like Patient/123, got '123'"),
        ("Practitioner/9", [], r"^patient: expected a reference to a Patient"),
        ("Patient/a b", [], r"^patient: expected a FHIR reference"),
        ("Patient/1", ["not a ref"], r"^basis\[0\]: expected a FHIR reference"),
    ],
)
def test_a_bad_reference_is_refused(patient, basis, message):
    with pytest.raises(InputError, match=message):
        screening_to_fhir(_screening("decline-minor"), patient, basis)


def test_a_urn_or_absolute_patient_reference_is_accepted():
    s = _screening("decline-minor")
    for ref in (
        "urn:uuid:948e608d-e408-4788-8cf2-8157c49c2940",
        "https://ehr.example/fhir/Patient/7",
    ):
        risk, _ = _split(screening_to_fhir(s, ref))
        assert risk["subject"]["reference"] == ref
