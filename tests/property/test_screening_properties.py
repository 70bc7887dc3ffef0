"""Laws of screening: adding facts never relaxes it (a reading of the day only answers the request
for one); the case index skips nothing. Both shipped rule sets."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ashiguard.domain.codes import (
    CONDITION_CODES,
    MEDICATION_CODES,
    PROCEDURE_CODES,
    SYMPTOM_CODES,
)
from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import Intake
from ashiguard.domain.intake import parse_intake as _parse
from ashiguard.domain.screening import (
    RULE_SETS,
    Screening,
    default_rules,
    parse_screening,
    screen,
)

DAY = date(2026, 11, 24)
# boundaries of every window (41/42, 179/180, 359/360 days) are reachable
days_ago = st.one_of(st.integers(0, 800), st.sampled_from([41, 42, 179, 180, 359, 360]))


def parse_intake(doc: dict[str, Any]) -> Intake:
    try:
        return _parse(doc)
    except InputError:
        assume(False)  # systolic drawn at or below diastolic: not a valid intake
        raise


def _date(days: int) -> str:
    return (DAY - timedelta(days=days)).isoformat()


conditions = st.fixed_dictionaries(
    {
        "code": st.sampled_from([*CONDITION_CODES, "gout"]),
        "status": st.sampled_from(["active", "history", "resolved"]),
    },
    optional={
        "onset": days_ago.map(_date),
        "controlled": st.sampled_from([True, False, None]),
    },
)
procedures = st.fixed_dictionaries(
    {"code": st.sampled_from([*PROCEDURE_CODES, "appendectomy"])},
    optional={
        "date": days_ago.map(_date),
        "site": st.sampled_from(["left", "right", "L4-L5", "bilateral"]),
    },
)
medications = st.fixed_dictionaries({"code": st.sampled_from([*MEDICATION_CODES, "statin"])})
symptoms = st.sampled_from([*SYMPTOM_CODES, "headache"])
# blood pressures biased to the band edges (140/90, 160/100, 180/120)
systolic = st.one_of(
    st.sampled_from([120, 139, 140, 150, 159, 160, 180, 181]), st.integers(90, 200)
)
diastolic = st.one_of(
    st.sampled_from([70, 89, 90, 95, 99, 100, 120, 121]), st.integers(50, 130)
)  # intakes with systolic <= diastolic are rejected below


@st.composite
def intakes(draw: st.DrawFn) -> dict[str, Any]:
    vitals = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "systolic_mmhg": systolic,
                "diastolic_mmhg": diastolic,
                "temperature_c": st.sampled_from([36.5, 37.9, 38.0, 39.2]),
            },
        )
    )
    client: dict[str, Any] = {"id": "p"}
    if draw(st.booleans()):
        client["birth_date"] = _date(draw(st.integers(15 * 365, 80 * 365)))
    return {
        "schema": "ashiguard.intake/1",
        "date": DAY.isoformat(),
        "client": client,
        "vitals": vitals,
        "conditions": draw(st.lists(conditions, max_size=3)),
        "procedures": draw(st.lists(procedures, max_size=2)),
        "medications": draw(st.lists(medications, max_size=2)),
        "symptoms": draw(st.lists(symptoms, max_size=2)),
        "pregnancy": {"pregnant": draw(st.sampled_from([None, False, True]))},
    }


@st.composite
def fewer_facts(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with any subset of its facts taken away (list items, vitals, birth, pregnancy)."""

    def keep(items: list[Any]) -> list[Any]:
        mask = draw(st.lists(st.booleans(), min_size=len(items), max_size=len(items)))
        return [x for x, k in zip(items, mask, strict=True) if k]

    small = dict(doc)
    for key in ("conditions", "procedures", "medications", "symptoms"):
        small[key] = keep(doc[key])
    small["vitals"] = {k: doc["vitals"][k] for k in keep(list(doc["vitals"]))}
    client = dict(doc["client"])
    if "birth_date" in client and draw(st.booleans()):
        del client["birth_date"]
    small["client"] = client
    if doc["pregnancy"]["pregnant"] and draw(st.booleans()):
        small["pregnancy"] = {"pregnant": None}
    return small


# The one rule that fires on a missing fact and asks for it: a blood pressure measured on the
# screening date answers it (policy v1.1), so adding that reading may lift this finding alone.
ASKS_FOR_A_READING = "bp-not-measured-today"


def _at_least_as_strict(after: Screening, before: Screening) -> None:
    kept = [f for f in before.findings if f.rule != ASKS_FOR_A_READING]
    assert after.decision.rank >= max((f.decision.rank for f in kept), default=0)
    assert after.restrictions.covers(before.restrictions)
    assert {f.rule for f in kept if f.decision.rank > 0} <= {f.rule for f in after.findings}


@pytest.mark.slow
@pytest.mark.parametrize("rule_set", RULE_SETS)
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_adding_any_facts_never_relaxes_the_decision_zones_or_limits(rule_set, data):
    rules = default_rules(rule_set)
    big = data.draw(intakes())
    small = data.draw(fewer_facts(big))
    before = screen(parse_intake(small), rules)
    after = screen(parse_intake(big), rules)
    _at_least_as_strict(after, before)


@pytest.mark.parametrize("rule_set", RULE_SETS)
@settings(max_examples=200, deadline=None)
@given(doc=intakes())
def test_the_case_index_skips_no_finding_and_results_survive_a_json_round_trip(rule_set, doc):
    from ashiguard.domain.screening.facts import Facts

    rules = default_rules(rule_set)
    intake = parse_intake(doc)
    assert _parse(json.dumps(doc)) == intake  # JSON text and decoded object agree
    facts = Facts(intake, rules.known_codes)
    brute = [
        f
        for rule in rules.rules
        for case in rule.cases
        if (f := case.evaluate(facts, rule)) is not None
    ]
    result = screen(intake, rules)
    assert list(result.findings) == brute
    assert parse_screening(json.dumps(result.to_json())) == result
