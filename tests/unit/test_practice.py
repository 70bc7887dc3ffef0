"""The professional gate: certificate, training, bars and screening, with every reason."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import parse_intake
from ashiguard.domain.practice import (
    parse_equipment,
    parse_practitioner,
    ready_to_treat,
)
from ashiguard.domain.screening import Screening, screen

ON = date(2026, 11, 24)

PRACTITIONER: dict[str, Any] = {
    "schema": "ashiguard.practitioner/1",
    "id": "p-1",
    "name": "Mara",
    "weight_kg": 64,
    "training_hours": 120,
    "certifications": [
        {
            "technique": "ashiatsu",
            "issuer": "School",
            "issued": "2024-02-10",
            "expires": "2027-02-09",
        }
    ],
}
EQUIPMENT: dict[str, Any] = {
    "schema": "ashiguard.equipment/1",
    "room": "Room 2",
    "bars": [
        {"id": "left", "rated_load_n": 4500, "last_inspected": "2026-10-05"},
        {"id": "right", "rated_load_n": 4500, "last_inspected": "2026-10-05"},
    ],
}


def screening(day: str = "2026-11-24", **fields: Any) -> Screening:
    doc = {"schema": "ashiguard.intake/1", "date": day, "client": {"id": "c"}, **fields}
    return screen(parse_intake(doc))


def check(
    p: dict[str, Any] | None = None,
    e: dict[str, Any] | None = None,
    s: Screening | None = None,
    **kw: Any,
):
    return ready_to_treat(
        parse_practitioner(p or PRACTITIONER),
        parse_equipment(e or EQUIPMENT),
        s or screening(),
        on=kw.pop("on", ON),
        **kw,
    )


def failed(result) -> list[str]:
    return [c.name for c in result.checks if not c.ok]


def test_a_certified_therapist_with_inspected_bars_and_a_cleared_screening_may_go():
    r = check()
    assert r.go and r.reasons == ()
    assert r.to_json()["go"] is True


def test_an_expired_certificate_is_a_no_go_with_its_date():
    p = copy.deepcopy(PRACTITIONER)
    p["certifications"][0]["expires"] = "2026-11-23"
    r = check(p)
    assert not r.go
    assert r.reasons == ("ashiatsu certificate expired on 2026-11-23",)


def test_a_certificate_valid_through_the_treatment_day_is_accepted():
    p = copy.deepcopy(PRACTITIONER)
    p["certifications"][0]["expires"] = "2026-11-24"
    assert check(p).go


def test_a_certificate_in_another_technique_does_not_count():
    p = copy.deepcopy(PRACTITIONER)
    p["certifications"][0]["technique"] = "swedish_massage"
    assert check(p).reasons == ("Mara holds no barefoot (Ashiatsu) certificate",)


def test_too_few_training_hours_are_a_no_go_when_a_minimum_is_set():
    assert failed(check(min_training_hours=150)) == ["training"]
    assert check(min_training_hours=120).go


def test_bars_inspected_90_days_ago_pass_and_91_days_ago_fail():
    e = copy.deepcopy(EQUIPMENT)
    e["bars"][0]["last_inspected"] = "2026-08-26"  # 90 days
    assert check(e=e).go
    e["bars"][0]["last_inspected"] = "2026-08-25"  # 91 days
    r = check(e=e)
    assert failed(r) == ["bar left inspection"]
    assert "91 days ago (> 90 days)" in r.reasons[0]


def test_a_bar_without_an_inspection_date_is_a_no_go():
    e = copy.deepcopy(EQUIPMENT)
    del e["bars"][1]["last_inspected"]
    assert check(e=e).reasons == ("bar right: no inspection date recorded",)


def test_a_bar_rated_below_twice_the_therapist_weight_is_a_no_go():
    e = copy.deepcopy(EQUIPMENT)
    e["bars"][1]["rated_load_n"] = 1255  # 64 kg x 9.80665 x 2 = 1255.25 N
    r = check(e=e)
    assert failed(r) == ["bar right rating"]
    e["bars"][1]["rated_load_n"] = 1256
    assert check(e=e).go


def test_an_unknown_therapist_weight_cannot_pass_the_bar_rating():
    p = copy.deepcopy(PRACTITIONER)
    del p["weight_kg"]
    assert failed(check(p)) == ["bar left rating", "bar right rating"]


@pytest.mark.parametrize(
    ("fields", "go"),
    [
        ({}, True),
        ({"medications": [{"code": "antiplatelet"}]}, True),
        ({"symptoms": ["fever"]}, False),
        ({"medications": [{"code": "anticoagulant"}]}, False),
        ({"pregnancy": {"pregnant": True}}, False),
    ],
)
def test_only_a_cleared_or_modify_screening_may_go(fields, go):
    assert check(s=screening(**fields)).go is go


def test_a_screening_for_another_day_is_a_no_go_unless_allowed():
    old = screening("2026-11-20")
    assert failed(check(s=old)) == ["screening date"]
    assert check(s=old, max_screening_age_days=4).go
    later = screening("2026-11-25")
    assert "a later day" in check(s=later).reasons[0]


def test_every_failing_reason_is_reported_together():
    p = copy.deepcopy(PRACTITIONER)
    p["certifications"] = []
    e = copy.deepcopy(EQUIPMENT)
    e["bars"][0]["last_inspected"] = "2025-01-01"
    r = check(p, e, screening(symptoms=["dizziness"]))
    assert failed(r) == ["certificate", "bar left inspection", "screening decision"]


@pytest.mark.parametrize(
    ("doc", "path", "value", "message"),
    [
        (PRACTITIONER, "weight_kg", "64", r"^weight_kg: "),
        (
            PRACTITIONER,
            "certifications",
            [{"technique": "ashiatsu"}],
            r"^certifications\[0\]\.issuer: required field is missing",
        ),
        (PRACTITIONER, "schema", "x", r"^schema: expected 'ashiguard.practitioner/1'"),
        (EQUIPMENT, "bars", [], r"^bars: "),
        (EQUIPMENT, "bars", [{"id": "a", "rated_load_n": -5}], r"^bars\[0\]\.rated_load_n: "),
        (EQUIPMENT, "room", 3, r"^room: "),
    ],
)
def test_bad_practitioner_or_equipment_files_name_the_field(doc, path, value, message):
    bad = copy.deepcopy(doc)
    bad[path] = value
    parse = parse_practitioner if doc is PRACTITIONER else parse_equipment
    with pytest.raises(InputError, match=message):
        parse(bad)
