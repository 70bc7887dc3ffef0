"""Intake validation: wrong types and impossible values are refused, naming the field."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import Intake, age_on, parse_intake

CONTRACT_EXAMPLE: dict[str, Any] = {
    "schema": "ashiguard.intake/1",
    "date": "2026-11-24",
    "client": {
        "id": "c-001",
        "birth_date": "1961-05-02",
        "sex": "female",
        "height_cm": 165,
        "weight_kg": 70,
    },
    "vitals": {"systolic_mmhg": 150, "diastolic_mmhg": 95, "temperature_c": 36.8},
    "conditions": [
        {
            "code": "osteoporosis",
            "status": "active",
            "onset": "2019-03-01",
            "controlled": None,
            "note": "",
        }
    ],
    "procedures": [{"code": "spinal_fusion", "date": "2026-08-30", "site": "L4-L5"}],
    "medications": [{"code": "anticoagulant", "name": "apixaban"}],
    "pregnancy": {"pregnant": False, "weeks": None},
    "symptoms": ["calf_pain_swelling"],
    "notes": "free text",
}


def with_value(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(CONTRACT_EXAMPLE)
    node: Any = doc
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return doc


def test_the_contract_example_parses_with_every_field():
    i = parse_intake(CONTRACT_EXAMPLE)
    assert isinstance(i, Intake)
    assert i.client.height_cm == 165
    assert i.procedures[0].site == "L4-L5"
    assert i.symptoms == ("calf_pain_swelling",)
    assert i.to_json()["schema"] == "ashiguard.intake/1"


def test_json_text_and_a_decoded_object_give_the_same_intake():
    assert parse_intake(json.dumps(CONTRACT_EXAMPLE)) == parse_intake(CONTRACT_EXAMPLE)


def test_only_schema_date_and_client_id_are_required():
    i = parse_intake({"schema": "ashiguard.intake/1", "date": "2026-11-24", "client": {"id": "x"}})
    assert i.conditions == () and i.vitals.systolic_mmhg is None and i.pregnancy.pregnant is None


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("client.height_cm", 0, r"^client\.height_cm: .*greater than or equal to 40"),
        ("vitals.systolic_mmhg", 20, r"^vitals\.systolic_mmhg: .*greater than or equal to 50"),
        ("vitals.diastolic_mmhg", 250, r"^vitals\.diastolic_mmhg: "),
        ("vitals.temperature_c", 52, r"^vitals\.temperature_c: "),
        ("vitals.systolic_mmhg", "150", r"^vitals\.systolic_mmhg: .*valid number"),
        ("vitals.systolic_mmhg", True, r"^vitals\.systolic_mmhg: "),
        ("date", "24/11/2026", r"^date: expected a date as YYYY-MM-DD"),
        ("date", "2026-02-30", r"^date: not a calendar date"),
        ("date", 20261124, r"^date: expected a date as YYYY-MM-DD"),
        ("client.birth_date", "1961-5-2", r"^client\.birth_date: expected a date"),
        ("conditions.0.status", "gone", r"^conditions\[0\]\.status: "),
        ("conditions.0.controlled", "yes", r"^conditions\[0\]\.controlled: "),
        ("conditions.0.code", "", r"^conditions\[0\]\.code: "),
        ("conditions.0.code", "Bad Code!", r"^conditions\[0\]\.code: "),
        ("procedures.0.date", "2026-11-25", r"^procedures\[0\]\.date: 2026-11-25 is after"),
        ("conditions.0.onset", "2027-01-01", r"^conditions\[0\]\.onset: 2027-01-01 is after"),
        ("client.birth_date", "2026-12-01", r"^client\.birth_date: 2026-12-01 is after"),
        ("medications.0", "apixaban", r"^medications\[0\]: "),
        ("symptoms", "fever", r"^symptoms: expected a list"),
        ("symptoms.0", 3, r"^symptoms\[0\]: "),
        ("pregnancy.pregnant", "no", r"^pregnancy\.pregnant: "),
        ("pregnancy.weeks", 12, r"^pregnancy: weeks is given but pregnant is not true"),
        ("vitals.temperature_c", float("nan"), r"^vitals\.temperature_c: .*finite"),
        ("client.id", "", r"^client\.id: "),
        ("schema", "ashiguard.intake/2", r"^schema: expected 'ashiguard.intake/1'"),
    ],
)
def test_bad_values_are_refused_with_a_message_naming_the_field(path, value, message):
    doc = with_value(path, value)
    with pytest.raises(InputError, match=message) as from_object:
        parse_intake(doc)
    with pytest.raises(InputError) as from_text:
        parse_intake(json.dumps(doc))
    assert str(from_text.value) == str(from_object.value)


def test_systolic_at_or_below_diastolic_is_refused():
    with pytest.raises(InputError, match=r"^vitals: systolic 90 mmHg must be above diastolic 95"):
        parse_intake(with_value("vitals.systolic_mmhg", 90))


def test_a_misspelt_field_is_refused_not_ignored():
    doc = copy.deepcopy(CONTRACT_EXAMPLE)
    doc["vitals"]["sytolic_mmhg"] = 170
    with pytest.raises(InputError, match=r"^vitals\.sytolic_mmhg: unknown field"):
        parse_intake(doc)


def test_a_missing_client_id_is_named():
    doc = copy.deepcopy(CONTRACT_EXAMPLE)
    del doc["client"]["id"]
    with pytest.raises(InputError, match=r"^client\.id: required field is missing$"):
        parse_intake(doc)


def test_several_errors_name_the_first_and_count_the_rest():
    doc = with_value("vitals.systolic_mmhg", 20)
    doc["client"]["height_cm"] = 0
    with pytest.raises(InputError, match=r"\(and 1 more error\)$"):
        parse_intake(doc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"^intake: not valid JSON: .* at line 1 column 2$"),
        ("[1, 2]", r"^intake: expected a JSON object, got list$"),
        ("{}", r"^schema: expected 'ashiguard.intake/1', got None$"),
    ],
)
def test_text_that_is_not_an_intake_object_is_refused(text, message):
    with pytest.raises(InputError, match=message):
        parse_intake(text)


def test_an_intake_is_immutable():
    i = parse_intake(CONTRACT_EXAMPLE)
    with pytest.raises(ValueError, match="frozen"):
        i.client.id = "other"  # type: ignore[misc]


def test_age_counts_whole_years_and_the_birthday_itself():
    from datetime import date

    assert age_on(date(2008, 11, 24), date(2026, 11, 23)) == 17
    assert age_on(date(2008, 11, 24), date(2026, 11, 24)) == 18
