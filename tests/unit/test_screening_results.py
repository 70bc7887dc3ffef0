"""Reading screening results back, the SNOMED CT map, and the public API of the area."""

from __future__ import annotations

import json

import pytest

from ashiguard.domain.codes import CODES, SNOMED_CT, code_for_snomed
from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import parse_intake
from ashiguard.domain.screening import Decision, parse_screening, screen


def screened():
    return screen(
        parse_intake(
            {
                "schema": "ashiguard.intake/1",
                "date": "2026-11-24",
                "client": {"id": "c-9"},
                "vitals": {"systolic_mmhg": 150, "diastolic_mmhg": 92},
                "procedures": [{"code": "hip_replacement", "date": "2020-01-01", "site": "left"}],
            }
        )
    )


def test_a_screening_survives_a_round_trip_through_json():
    s = screened()
    assert parse_screening(json.dumps(s.to_json())) == s
    assert parse_screening(s.to_json()).restrictions.avoid_zones == {"gluteal_left"}


def test_a_screening_with_only_the_contract_fields_is_read():
    doc = {
        "schema": "ashiguard.screening/1",
        "client_id": "c-001",
        "date": "2026-11-24",
        "decision": "modify",
        "findings": [{"rule": "r", "decision": "modify", "reason": "x", "sources": ["s"]}],
        "restrictions": {
            "avoid_zones": ["kidney_left"],
            "max_load_fraction": 0.5,
            "max_pressure_kpa": 150,
        },
        "rules_version": "v",
    }
    s = parse_screening(doc)
    assert s.decision is Decision.MODIFY
    assert s.restrictions.max_pressure_kpa == 150


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decision": "maybe"}, r"^decision: "),
        ({"date": "24.11.2026"}, r"^date: "),
        ({"schema": "x"}, r"^schema: expected 'ashiguard.screening/1'"),
        (
            {"restrictions": {"avoid_zones": ["elbow"]}},
            r"^restrictions\.avoid_zones\[0\]: 'elbow' is not a contract zone slug",
        ),
        ({"restrictions": {"max_load_fraction": 2}}, r"^restrictions\.max_load_fraction: "),
        ({"decision": "cleared"}, r"^decision: 'cleared' is less restrictive than findings\[0\]"),
    ],
)
def test_a_bad_screening_file_is_refused_naming_the_field(change, message):
    doc = screened().to_json() | change
    with pytest.raises(InputError, match=message):
        parse_screening(doc)


def test_every_contract_code_has_an_entry_in_the_snomed_map():
    keys = {(kind, code) for kind, codes in CODES.items() for code in codes}
    assert set(SNOMED_CT) == keys
    ids = [sid for sid in SNOMED_CT.values() if sid is not None]
    assert len(ids) == len(set(ids))
    assert all(sid.isdigit() for sid in ids)


def test_snomed_codes_seen_in_the_synthea_records_map_to_contract_codes(shared_data):
    seen: set[str] = set()
    for path in (shared_data / "fhir" / "synthea").glob("*.json"):
        for entry in json.loads(path.read_text(encoding="utf-8")).get("entry", []):
            res = entry["resource"]
            if res["resourceType"] in ("Condition", "Procedure"):
                seen.update(c["code"] for c in res.get("code", {}).get("coding", []))
    for sid, expected in [
        ("38341003", ("condition", "hypertension")),
        ("64859006", ("condition", "osteoporosis")),
        ("431855005", ("condition", "chronic_kidney_disease")),
        ("431856006", ("condition", "chronic_kidney_disease")),
        ("609588000", ("procedure", "knee_replacement")),
        ("69896004", ("condition", "rheumatoid_arthritis")),
    ]:
        assert sid in seen
        assert code_for_snomed(sid) == expected
    assert code_for_snomed("72892002") == ("condition", "pregnancy")
    assert code_for_snomed("10509002") is None  # acute bronchitis: no contract code
