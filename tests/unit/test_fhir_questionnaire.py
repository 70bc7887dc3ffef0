"""The intake as a FHIR R4 Questionnaire, and intakes through QuestionnaireResponses."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from ashiguard.adapters.fhir import (
    QUESTIONNAIRE_URL,
    QUESTIONNAIRE_VERSION,
    intake_to_questionnaire_response,
    questionnaire,
    questionnaire_response_to_intake,
)
from ashiguard.adapters.fhir._base import ASHIGUARD_CODES, SNOMED
from ashiguard.domain.codes import CODES, SNOMED_CT
from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import Condition, Intake, Medication, Procedure, parse_intake

ROOT = Path(__file__).resolve().parents[2]
INTAKES = sorted((ROOT / "examples" / "intakes").glob("*.json"))
CODE_GROUPS = {"conditions": Condition, "procedures": Procedure, "medications": Medication}
CODE_ITEMS = {
    "conditions.code": "condition",
    "procedures.code": "procedure",
    "medications.code": "medication",
    "symptoms": "symptom",
}


def _items(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for item in items:
        out[item["linkId"]] = item
        out.update(_items(item.get("item", [])))
    return out


def _field_paths(model: type, prefix: str = "") -> set[str]:
    paths = set()
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        key = info.alias or name
        if key == "schema":
            continue
        sub = info.annotation
        if isinstance(sub, type) and hasattr(sub, "model_fields"):
            paths |= _field_paths(sub, f"{prefix}{key}.")
        else:
            paths.add(f"{prefix}{key}")
    return paths


def test_the_questionnaire_is_a_valid_r4_questionnaire_with_a_canonical_url_and_version():
    q = questionnaire()
    Questionnaire.model_validate(q)
    assert q["url"] == QUESTIONNAIRE_URL
    assert q["version"] == QUESTIONNAIRE_VERSION
    assert q["status"] == "active"


def test_every_intake_field_has_exactly_one_questionnaire_item():
    items = _items(questionnaire()["item"])
    answerable = {k for k, v in items.items() if v["type"] != "group"}
    expected = {p for p in _field_paths(Intake) if p.split(".")[0] not in CODE_GROUPS}
    expected |= {f"{g}.{k}" for g, m in CODE_GROUPS.items() for k in m.model_fields}
    assert answerable == expected


@pytest.mark.parametrize("link_id", sorted(CODE_ITEMS))
def test_code_items_offer_every_contract_code_in_snomed_ct_where_known(link_id):
    kind = CODE_ITEMS[link_id]
    item = _items(questionnaire()["item"])[link_id]
    assert item["type"] == "open-choice"
    codings = {o["valueCoding"]["display"]: o["valueCoding"] for o in item["answerOption"]}
    assert set(codings) == CODES[kind]
    for code, coding in codings.items():
        sid = SNOMED_CT[(kind, code)]
        if sid is None:
            assert (coding["system"], coding["code"]) == (ASHIGUARD_CODES, code)
        else:
            assert (coding["system"], coding["code"]) == (SNOMED, sid)


@pytest.mark.parametrize("path", INTAKES, ids=lambda p: p.stem)
def test_every_example_intake_survives_intake_to_response_to_intake(path):
    intake = parse_intake(path.read_text())
    qr = intake_to_questionnaire_response(intake)
    QuestionnaireResponse.model_validate(qr)
    back = questionnaire_response_to_intake(json.dumps(qr))
    assert back == intake
    assert back.to_json() == intake.to_json()


def _full_intake() -> Intake:
    return parse_intake(
        {
            "schema": "ashiguard.intake/1",
            "date": "2026-11-24",
            "client": {"id": "c-9", "birth_date": "1990-01-31", "sex": "non-binary"},
            "vitals": {"temperature_c": 37.2},
            "conditions": [
                {"code": "hypertension", "controlled": False, "onset": "2020-02-02"},
                {"code": "fibromyalgia", "status": "history", "note": "not in the contract"},
            ],
            "procedures": [{"code": "shoulder_replacement", "site": "right"}],
            "medications": [{"code": "antihypertensive"}],
            "pregnancy": {"pregnant": True, "weeks": 0},
            "symptoms": ["dizziness", "open_wound", "tinnitus"],
            "notes": "line one\nline two",
        }
    )


def test_free_text_codes_false_flags_and_zero_weeks_survive_the_round_trip():
    intake = _full_intake()
    qr = intake_to_questionnaire_response(intake)
    answers = {i["linkId"]: i for i in _items(qr["item"]).values()}
    assert answers["symptoms"]["answer"][2] == {"valueString": "tinnitus"}
    assert answers["client.sex"]["answer"] == [{"valueString": "non-binary"}]
    assert questionnaire_response_to_intake(qr) == intake


def test_absent_fields_have_no_response_item():
    intake = parse_intake(
        {"schema": "ashiguard.intake/1", "date": "2026-11-24", "client": {"id": "x"}}
    )
    qr = intake_to_questionnaire_response(intake)
    assert [i["linkId"] for i in qr["item"]] == ["date", "client"]
    assert questionnaire_response_to_intake(qr) == intake


def _qr_with_condition(coding: dict[str, str]) -> dict[str, Any]:
    qr = intake_to_questionnaire_response(_full_intake())
    group = next(i for i in qr["item"] if i["linkId"] == "conditions")
    group["item"][0]["answer"] = [{"valueCoding": coding}]
    return qr


def test_a_snomed_alias_from_an_ehr_is_read_as_its_contract_code():
    qr = _qr_with_condition({"system": SNOMED, "code": "431855005"})  # CKD stage 1
    assert questionnaire_response_to_intake(qr).conditions[0].code == "chronic_kidney_disease"


def _mutated(change: Any) -> dict[str, Any]:
    qr = copy.deepcopy(intake_to_questionnaire_response(_full_intake()))
    change(qr)
    return qr


def _group(qr: dict[str, Any], link_id: str) -> dict[str, Any]:
    return next(i for i in qr["item"] if i["linkId"] == link_id)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda q: q.update(resourceType="Questionnaire"), r"^resourceType: expected"),
        (lambda q: q.update(questionnaire="http://x/Q|2"), r"^questionnaire: expected"),
        (lambda q: q.update(status="entered-in-error"), r"^status: .* entered-in-error"),
        (
            lambda q: q["item"].append({"linkId": "vitals.pulse"}),
            r"\(vitals.pulse\): unknown linkId",
        ),
        (
            lambda q: _group(q, "client")["item"].append({"linkId": "client.eye_colour"}),
            r"\(client.eye_colour\): unknown linkId",
        ),
        (
            lambda q: _group(q, "vitals")["item"][0].update(answer=[{"valueString": "37"}]),
            r"\(vitals.temperature_c\)\.answer\[0\]: expected valueDecimal",
        ),
        (
            lambda q: _group(q, "vitals")["item"][0].update(
                answer=[{"valueDecimal": 37.0}, {"valueDecimal": 38.0}]
            ),
            r"\(vitals.temperature_c\)\.answer: expected one answer, got 2",
        ),
        (
            lambda q: _group(q, "vitals")["item"][0].update(answer=[{"valueDecimal": 50.0}]),
            r"^vitals.temperature_c: ",
        ),
        (lambda q: q["item"].append(copy.deepcopy(q["item"][0])), r"\(date\): item given twice"),
    ],
)
def test_a_bad_response_is_refused_naming_the_item(change, message):
    with pytest.raises(InputError, match=message):
        questionnaire_response_to_intake(_mutated(change))


@pytest.mark.parametrize(
    ("coding", "message"),
    [
        ({"system": "http://loinc.org", "code": "8480-6"}, r"system: expected"),
        ({"system": SNOMED, "code": "609588000"}, r"609588000 is not a known condition code"),
        ({"system": SNOMED, "code": "10509002"}, r"10509002 is not a known condition code"),
    ],
)
def test_a_condition_coded_elsewhere_or_as_another_kind_is_refused(coding, message):
    with pytest.raises(InputError, match=message):
        questionnaire_response_to_intake(_qr_with_condition(coding))


def test_a_response_that_is_not_json_is_refused():
    with pytest.raises(InputError, match=r"^QuestionnaireResponse: not valid JSON"):
        questionnaire_response_to_intake("{nope")
