"""The rules policy v1.1 added (shared/policy/screening-v1.md, "Version 1.1 additions"), with both
sides of every window, and version 1 still giving its old answers."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from ashiguard.domain.intake import parse_intake
from ashiguard.domain.screening import (
    Decision,
    Screening,
    default_rules,
    rules_version_label,
    screen,
)

DAY = date(2026, 11, 24)
ROOT = Path(__file__).resolve().parents[2]
EVENTS = ["myocardial_infarction", "stroke", "transient_ischemic_attack"]


def run(rule_set: str = "default-v1.1", **fields: Any) -> Screening:
    doc: dict[str, Any] = {
        "schema": "ashiguard.intake/1",
        "date": DAY.isoformat(),
        "client": {"id": "t-1", "birth_date": "1960-06-15"},
        **fields,
    }
    return screen(parse_intake(doc), default_rules(rule_set))


def ago(days: int) -> str:
    return (DAY - timedelta(days=days)).isoformat()


def fired(s: Screening) -> dict[str, list[Decision]]:
    out: dict[str, list[Decision]] = {}
    for f in s.findings:
        out.setdefault(f.rule, []).append(f.decision)
    return out


def today_bp(s: float, d: float) -> dict[str, Any]:
    return {"vitals": {"systolic_mmhg": s, "diastolic_mmhg": d}}


# ---------------------------------------------------------------- cardiovascular events


@pytest.mark.parametrize("code", EVENTS)
def test_a_cardiovascular_event_179_days_ago_needs_clearance_and_180_days_ago_modifies(code):
    recent = run(conditions=[{"code": code, "onset": ago(179)}])
    assert fired(recent) == {"recent-cardiovascular-event": [Decision.CLEARANCE_REQUIRED]}
    assert recent.decision is Decision.CLEARANCE_REQUIRED
    assert "intrathoracic pressure" in recent.findings[0].reason
    past = run(conditions=[{"code": code, "onset": ago(180)}])
    assert fired(past) == {"past-cardiovascular-event": [Decision.MODIFY]}
    assert past.restrictions.max_load_fraction == 0.4
    assert past.restrictions.avoid_zones == frozenset()
    assert "no sustained compression over 30 s" in past.findings[0].reason


def test_a_cardiovascular_event_on_the_screening_day_needs_clearance():
    s = run(conditions=[{"code": "stroke", "onset": ago(0)}])
    assert fired(s) == {"recent-cardiovascular-event": [Decision.CLEARANCE_REQUIRED]}


def test_an_undated_cardiovascular_event_counts_as_recent_and_as_past():
    s = run(conditions=[{"code": "myocardial_infarction"}])
    assert fired(s) == {
        "recent-cardiovascular-event": [Decision.CLEARANCE_REQUIRED],
        "past-cardiovascular-event": [Decision.MODIFY],
    }
    assert s.decision is Decision.CLEARANCE_REQUIRED
    assert s.restrictions.max_load_fraction == 0.4


def test_a_cardiovascular_event_in_history_counts_but_one_marked_resolved_does_not():
    history = run(conditions=[{"code": "stroke", "status": "history", "onset": ago(400)}])
    assert fired(history) == {"past-cardiovascular-event": [Decision.MODIFY]}
    resolved = run(conditions=[{"code": "stroke", "status": "resolved", "onset": ago(400)}])
    assert resolved.findings == ()


@pytest.mark.parametrize("code", ["coronary_heart_disease", "angina"])
def test_coronary_heart_disease_or_stable_angina_modifies_at_0_4_load(code):
    s = run(conditions=[{"code": code, "onset": ago(3000)}])
    assert fired(s) == {"coronary-heart-disease": [Decision.MODIFY]}
    assert s.restrictions.max_load_fraction == 0.4


def test_coronary_heart_disease_with_chest_pain_today_still_defers():
    s = run(conditions=[{"code": "coronary_heart_disease"}], symptoms=["chest_pain"])
    assert fired(s) == {
        "cardio-respiratory-red-flag": [Decision.DEFER],
        "coronary-heart-disease": [Decision.MODIFY],
    }
    assert s.decision is Decision.DEFER


def test_atrial_fibrillation_has_no_rule_of_its_own_its_treatment_is_screened():
    alone = run(conditions=[{"code": "atrial_fibrillation"}])
    assert alone.findings == ()
    treated = run(
        conditions=[{"code": "atrial_fibrillation"}],
        medications=[{"code": "anticoagulant", "name": "warfarin"}],
    )
    assert fired(treated) == {"anticoagulant": [Decision.CLEARANCE_REQUIRED]}


# ---------------------------------------------------------------- blood pressure of the day


@pytest.mark.parametrize("controlled", [True, False, None])
@pytest.mark.parametrize("status", ["active", "history"])
def test_hypertension_without_a_reading_today_defers_until_measured(controlled, status):
    s = run(conditions=[{"code": "hypertension", "status": status, "controlled": controlled}])
    assert s.decision is Decision.DEFER
    assert fired(s)["bp-not-measured-today"] == [Decision.DEFER]
    finding = next(f for f in s.findings if f.rule == "bp-not-measured-today")
    assert "measure blood pressure before the session" in finding.reason
    assert finding.facts[-1] == "BP not measured"


def test_a_reading_taken_today_answers_the_deferral_and_the_bp_rules_decide():
    hypertension = [{"code": "hypertension", "controlled": True}]
    normal = run(conditions=hypertension, **today_bp(128, 82))
    assert fired(normal) == {"controlled-hypertension": [Decision.CLEARED]}
    assert normal.decision is Decision.CLEARED
    high = run(conditions=hypertension, **today_bp(150, 92))
    assert fired(high) == {"elevated-bp-today": [Decision.MODIFY]}


def test_one_value_of_the_pair_measured_today_counts_as_a_reading():
    s = run(
        conditions=[{"code": "hypertension", "controlled": True}],
        vitals={"systolic_mmhg": 132},
    )
    assert "bp-not-measured-today" not in fired(s)


def test_without_hypertension_no_reading_is_needed_and_resolved_hypertension_needs_none():
    assert run().findings == ()
    resolved = run(conditions=[{"code": "hypertension", "status": "resolved"}])
    assert resolved.findings == ()


def test_version_1_does_not_ask_for_a_reading():
    s = run("default-v1", conditions=[{"code": "hypertension", "controlled": True}])
    assert fired(s) == {"controlled-hypertension": [Decision.CLEARED]}


# ---------------------------------------------------------------- the two versions


def test_the_v1_1_example_intakes_show_the_new_rules():
    folder = ROOT / "examples" / "intakes"
    unmeasured = screen(
        parse_intake((folder / "defer-hypertension-not-measured-today.json").read_text())
    )
    assert fired(unmeasured)["bp-not-measured-today"] == [Decision.DEFER]
    cardiac = screen(
        parse_intake((folder / "modify-past-stroke-coronary-heart-disease.json").read_text())
    )
    assert fired(cardiac) == {
        "past-cardiovascular-event": [Decision.MODIFY],
        "coronary-heart-disease": [Decision.MODIFY],
    }
    assert cardiac.restrictions.max_load_fraction == 0.4


# what `ashiguard screen` printed for each example intake before version 1.1 became the default
OLD_ANSWERS = sorted((ROOT / "tests" / "data" / "screenings-default-v1").glob("*.json"))
V1_EXAMPLES = [ROOT / "examples" / "intakes" / p.name for p in OLD_ANSWERS]


def test_the_old_answers_cover_every_example_intake_of_version_1():
    assert len(OLD_ANSWERS) == 16
    new = {p.name for p in (ROOT / "examples" / "intakes").glob("*.json")} - {
        p.name for p in V1_EXAMPLES
    }
    assert new == {
        "defer-hypertension-not-measured-today.json",
        "modify-past-stroke-coronary-heart-disease.json",
    }


@pytest.mark.parametrize("path", V1_EXAMPLES, ids=lambda p: p.stem)
def test_version_1_still_gives_its_old_answers_on_the_example_intakes(path):
    old = json.loads((ROOT / "tests" / "data" / "screenings-default-v1" / path.name).read_text())
    intake = parse_intake(path.read_text())
    assert screen(intake, default_rules("default-v1")).to_json() == old


@pytest.mark.parametrize("path", V1_EXAMPLES, ids=lambda p: p.stem)
def test_version_1_1_gives_the_example_intakes_of_v1_the_same_decisions_as_version_1(path):
    intake = parse_intake(path.read_text())
    v1 = screen(intake, default_rules("default-v1"))
    v1_1 = screen(intake)
    assert v1_1.rules_version == "ashiguard-default-v1.1"
    assert (v1_1.decision, v1_1.restrictions) == (v1.decision, v1.restrictions)
    assert [f.rule for f in v1_1.findings] == [f.rule for f in v1.findings]


def test_every_rule_of_version_1_is_unchanged_in_version_1_1():
    v1, v1_1 = default_rules("default-v1"), default_rules("default-v1.1")
    for rule in v1.rules:
        new = v1_1.rule(rule.id)
        assert new.cases == rule.cases, rule.id
        assert new.source_keys == rule.source_keys, rule.id


def test_every_new_rule_gives_its_reason_and_sources_from_the_policy():
    rules = default_rules()
    for rid in (
        "recent-cardiovascular-event",
        "past-cardiovascular-event",
        "coronary-heart-disease",
        "bp-not-measured-today",
    ):
        rule = rules.rule(rid)
        assert rule.sources[0].startswith("ashiguard screening policy v1.1"), rid
        assert all(c.reason for c in rule.cases)
    cardio = " ".join(rules.rule("recent-cardiovascular-event").sources)
    assert "Werner" in cardio and "Walton" in cardio
    assert "Whelton" in " ".join(rules.rule("bp-not-measured-today").sources)


@pytest.mark.parametrize(
    ("version", "label"),
    [
        ("ashiguard-default-v1.1", "ashiguard screening policy 1.1"),
        ("ashiguard-default-v1", "ashiguard screening policy 1"),
        (
            "ashiguard-default-v1.1+clinic-north-2026-11",
            "ashiguard screening policy 1.1 with the clinic's rules clinic-north-2026-11",
        ),
        ("north-own-3", "north-own-3"),
    ],
)
def test_the_rules_version_reads_in_the_clinics_words(version, label):
    assert rules_version_label(version) == label
