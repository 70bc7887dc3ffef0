"""One test per rule of shared/policy/screening-v1.md (version 1), with both sides of every window
and limit, on the default rule set (default-v1.1, which keeps every rule of version 1). The
version 1.1 additions are tested in test_screening_rules_v1_1.py."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from ashiguard.domain.intake import parse_intake
from ashiguard.domain.screening import Decision, Screening, default_rules, screen
from ashiguard.domain.zone_names import ZONE_SLUGS

DAY = date(2026, 11, 24)


def intake(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "ashiguard.intake/1",
        "date": DAY.isoformat(),
        "client": {"id": "t-1", "birth_date": "1980-06-15"},
    }
    doc.update(fields)
    return doc


def run(**fields: Any) -> Screening:
    return screen(parse_intake(intake(**fields)))


def ago(days: int) -> str:
    return (DAY - timedelta(days=days)).isoformat()


def rules_fired(s: Screening) -> dict[str, list[Decision]]:
    out: dict[str, list[Decision]] = {}
    for f in s.findings:
        out.setdefault(f.rule, []).append(f.decision)
    return out


def bp(s: float, d: float) -> dict[str, Any]:
    return {"vitals": {"systolic_mmhg": s, "diastolic_mmhg": d}}


def cond(code: str, **kw: Any) -> dict[str, Any]:
    return {"conditions": [{"code": code, **kw}]}


def proc(code: str, days_ago: int | None, site: str | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"code": code}
    if days_ago is not None:
        p["date"] = ago(days_ago)
    if site is not None:
        p["site"] = site
    return {"procedures": [p]}


def spine() -> set[str]:
    return {"spine_cervical", "spine_thoracic", "spine_lumbar"}


# ---------------------------------------------------------------- nothing reported


def test_an_intake_with_nothing_reported_is_cleared_without_findings():
    s = run()
    assert s.decision is Decision.CLEARED
    assert s.findings == ()
    assert s.restrictions.empty
    assert s.rules_version == default_rules().version == "ashiguard-default-v1.1"


# ---------------------------------------------------------------- the seed's five


@pytest.mark.parametrize("status", ["active", "history", "resolved"])
def test_osteoporosis_declines_whatever_its_status(status):
    s = run(**cond("osteoporosis", status=status))
    assert s.decision is Decision.DECLINE
    assert rules_fired(s)["osteoporosis"] == [Decision.DECLINE]


def test_osteoporosis_also_fires_low_bone_density_whose_restrictions_stay():
    s = run(**cond("osteoporosis"))
    assert rules_fired(s)["low-bone-density"] == [Decision.CLEARANCE_REQUIRED]
    assert s.restrictions.avoid_zones == spine()
    assert s.restrictions.max_load_fraction == 0.3


def test_uncontrolled_hypertension_defers_when_the_condition_says_not_controlled():
    s = run(**cond("hypertension", controlled=False))
    assert s.decision is Decision.DEFER
    assert "uncontrolled-hypertension" in rules_fired(s)


def test_blood_pressure_159_over_99_is_modify_but_160_over_100_defers():
    below = run(**bp(159, 99))
    assert below.decision is Decision.MODIFY
    assert set(rules_fired(below)) == {"elevated-bp-today"}
    at = run(**bp(160, 99))
    assert at.decision is Decision.DEFER
    assert rules_fired(at)["uncontrolled-hypertension"] == [Decision.DEFER]
    assert run(**bp(150, 100)).decision is Decision.DEFER


def test_at_or_above_160_over_100_the_deferral_keeps_the_elevated_bp_load_cap():
    s = run(**bp(165, 102))
    assert set(rules_fired(s)) == {"uncontrolled-hypertension", "elevated-bp-today"}
    assert s.restrictions.max_load_fraction == 0.4


def test_the_fact_names_the_pressure_and_the_band():
    s = run(**bp(162, 95))
    assert s.findings[0].rule == "uncontrolled-hypertension"
    assert s.findings[0].facts == ("BP 162/95 mmHg >= 160/100 (either)",)


def test_blood_pressure_180_over_120_is_not_a_crisis_but_181_or_121_is():
    assert "hypertensive-crisis" not in rules_fired(run(**bp(180, 120)))
    for s, d in ((181, 110), (190, 121)):
        fired = rules_fired(run(**bp(s, d)))
        assert fired["hypertensive-crisis"] == [Decision.DEFER]
    crisis = run(**bp(181, 121)).findings
    assert any("seek medical care today" in f.reason for f in crisis)


@pytest.mark.parametrize("code", ["spinal_fusion", "spinal_surgery"])
def test_spinal_surgery_359_days_ago_declines_and_360_days_ago_needs_clearance(code):
    recent = run(**proc(code, 359))
    assert rules_fired(recent) == {"recent-spinal-surgery": [Decision.DECLINE]}
    past = run(**proc(code, 360))
    assert rules_fired(past) == {"past-spinal-surgery": [Decision.CLEARANCE_REQUIRED]}
    assert past.restrictions.avoid_zones == spine() | {"sacrum"}


@pytest.mark.parametrize("code", ["hip_replacement", "knee_replacement", "shoulder_replacement"])
def test_joint_replacement_41_days_ago_declines_and_42_days_needs_clearance(code):
    assert run(**proc(code, 41)).decision is Decision.DECLINE
    s = run(**proc(code, 42))
    assert s.decision is Decision.CLEARANCE_REQUIRED
    assert rules_fired(s) == {"recent-joint-replacement": [Decision.CLEARANCE_REQUIRED]}


def test_knee_replacement_179_days_ago_needs_clearance_and_180_days_avoids_popliteal():
    assert run(**proc("knee_replacement", 179)).decision is Decision.CLEARANCE_REQUIRED
    s = run(**proc("knee_replacement", 180))
    assert s.decision is Decision.MODIFY
    assert s.restrictions.avoid_zones == {"popliteal_left", "popliteal_right"}


@pytest.mark.parametrize(
    ("site", "zones"),
    [
        ("left", {"gluteal_left"}),
        ("Right hip", {"gluteal_right"}),
        ("R", {"gluteal_right"}),
        ("bilateral, left and right", {"gluteal_left", "gluteal_right"}),
        (None, {"gluteal_left", "gluteal_right"}),
    ],
)
def test_past_hip_replacement_avoids_the_gluteal_zone_on_the_side_the_site_names(site, zones):
    s = run(**proc("hip_replacement", 400, site))
    assert s.decision is Decision.MODIFY
    assert s.restrictions.avoid_zones == zones


def test_past_shoulder_replacement_is_modify_without_zone_restrictions():
    s = run(**proc("shoulder_replacement", 400))
    assert rules_fired(s) == {"past-joint-replacement": [Decision.MODIFY]}
    assert s.restrictions.empty


@pytest.mark.parametrize("code", ["other_surgery", "kidney_surgery", "abdominal_surgery"])
def test_other_surgery_within_6_weeks_defers(code):
    assert Decision.DEFER in rules_fired(run(**proc(code, 41)))["recent-surgery"]


def test_other_surgery_42_days_ago_is_cleared():
    assert run(**proc("other_surgery", 42)).decision is Decision.CLEARED


@pytest.mark.parametrize("code", ["kidney_surgery", "abdominal_surgery"])
def test_kidney_or_abdominal_surgery_179_days_ago_needs_clearance_180_days_is_cleared(code):
    assert run(**proc(code, 179)).decision is Decision.CLEARANCE_REQUIRED
    assert run(**proc(code, 180)).decision is Decision.CLEARED


def test_a_procedure_without_a_date_counts_as_recent_and_as_past():
    s = run(**proc("knee_replacement", None))
    assert s.decision is Decision.DECLINE
    assert s.restrictions.avoid_zones == {"popliteal_left", "popliteal_right"}
    assert any("date not given" in fact for f in s.findings for fact in f.facts)


@pytest.mark.parametrize("code", ["deep_vein_thrombosis", "pulmonary_embolism"])
@pytest.mark.parametrize("status", ["active", "history", "resolved"])
def test_history_of_dvt_or_pe_declines_even_when_resolved(code, status):
    s = run(**cond(code, status=status))
    assert rules_fired(s) == {"dvt-history": [Decision.DECLINE]}


@pytest.mark.parametrize(
    "code",
    [
        "chronic_kidney_disease",
        "kidney_transplant",
        "polycystic_kidney_disease",
        "kidney_infection",
    ],
)
def test_kidney_disorders_active_or_history_decline_but_not_when_resolved(code):
    for status in ("active", "history"):
        assert rules_fired(run(**cond(code, status=status))) == {
            "kidney-disorder": [Decision.DECLINE]
        }
    assert run(**cond(code, status="resolved")).decision is Decision.CLEARED


def test_active_kidney_stones_decline():
    assert run(**cond("kidney_stones", status="active")).decision is Decision.DECLINE


@pytest.mark.parametrize("status", ["history", "resolved"])
def test_past_kidney_stones_modify_avoiding_both_kidneys(status):
    s = run(**cond("kidney_stones", status=status))
    assert s.decision is Decision.MODIFY
    assert s.restrictions.avoid_zones == {"kidney_left", "kidney_right"}


# ---------------------------------------------------------------- further rules


@pytest.mark.parametrize("controlled", [True, None])
def test_controlled_hypertension_with_bp_139_over_89_is_cleared_with_a_finding(controlled):
    s = run(**cond("hypertension", controlled=controlled), **bp(139, 89))
    assert s.decision is Decision.CLEARED
    assert rules_fired(s) == {"controlled-hypertension": [Decision.CLEARED]}


def test_controlled_hypertension_without_a_measurement_is_recorded_but_v1_1_defers_it():
    s = run(**cond("hypertension", controlled=True))
    assert rules_fired(s) == {
        "controlled-hypertension": [Decision.CLEARED],
        "bp-not-measured-today": [Decision.DEFER],
    }
    assert s.findings[0].facts[-1] == "BP not measured"
    v1 = screen(
        parse_intake(intake(**cond("hypertension", controlled=True))), default_rules("default-v1")
    )
    assert rules_fired(v1) == {"controlled-hypertension": [Decision.CLEARED]}
    assert v1.decision is Decision.CLEARED


def test_controlled_hypertension_at_140_over_90_is_no_longer_the_cleared_finding():
    s = run(**cond("hypertension", controlled=True), **bp(140, 85))
    assert rules_fired(s) == {"elevated-bp-today": [Decision.MODIFY]}


def test_bp_139_over_89_is_cleared_and_140_or_90_caps_the_load_at_0_4():
    assert run(**bp(139, 89)).decision is Decision.CLEARED
    for s, d in ((140, 80), (130, 90)):
        result = run(**bp(s, d))
        assert result.decision is Decision.MODIFY
        assert result.restrictions.max_load_fraction == 0.4


def test_calf_pain_or_swelling_defers_as_a_dvt_warning_sign():
    s = run(symptoms=["calf_pain_swelling"])
    assert rules_fired(s) == {"dvt-warning-signs": [Decision.DEFER]}


@pytest.mark.parametrize("symptom", ["chest_pain", "shortness_of_breath"])
def test_chest_pain_or_shortness_of_breath_defers(symptom):
    assert rules_fired(run(symptoms=[symptom])) == {"cardio-respiratory-red-flag": [Decision.DEFER]}


@pytest.mark.parametrize("symptom", ["flank_pain", "blood_in_urine"])
def test_flank_pain_or_blood_in_urine_defers(symptom):
    assert rules_fired(run(symptoms=[symptom])) == {"renal-red-flag": [Decision.DEFER]}


def test_temperature_37_9_is_cleared_and_38_0_defers():
    assert run(vitals={"temperature_c": 37.9}).decision is Decision.CLEARED
    s = run(vitals={"temperature_c": 38.0})
    assert rules_fired(s) == {"fever": [Decision.DEFER]}
    assert s.findings[0].facts == ("temperature 38 C >= 38 C",)


def test_reported_fever_defers_without_a_temperature():
    assert rules_fired(run(symptoms=["fever"])) == {"fever": [Decision.DEFER]}


def test_dizziness_defers():
    assert rules_fired(run(symptoms=["dizziness"])) == {"dizziness": [Decision.DEFER]}


def test_anticoagulant_needs_clearance():
    s = run(medications=[{"code": "anticoagulant", "name": "warfarin"}])
    assert rules_fired(s) == {"anticoagulant": [Decision.CLEARANCE_REQUIRED]}
    assert s.findings[0].facts == ("medication anticoagulant (warfarin)",)


def test_bleeding_disorder_declines():
    assert rules_fired(run(**cond("bleeding_disorder"))) == {
        "bleeding-disorder": [Decision.DECLINE]
    }


def test_antiplatelet_modifies_with_a_100_kpa_cap():
    s = run(medications=[{"code": "antiplatelet"}])
    assert s.decision is Decision.MODIFY
    assert s.restrictions.max_pressure_kpa == 100


@pytest.mark.parametrize(
    "facts",
    [
        cond("osteopenia"),
        {"medications": [{"code": "long_term_corticosteroid"}]},
        {"medications": [{"code": "bisphosphonate"}]},
    ],
)
def test_low_bone_density_needs_clearance_off_the_spine_at_0_3_load(facts):
    s = run(**facts)
    assert rules_fired(s) == {"low-bone-density": [Decision.CLEARANCE_REQUIRED]}
    assert s.restrictions.avoid_zones == spine()
    assert s.restrictions.max_load_fraction == 0.3


@pytest.mark.parametrize("status", ["active", "history", "resolved"])
def test_vertebral_fracture_declines_any_time(status):
    s = run(**cond("vertebral_fracture", status=status, onset="1990-01-01"))
    assert rules_fired(s) == {"fracture": [Decision.DECLINE]}


def test_rib_fracture_179_days_ago_declines_and_180_days_avoids_kidneys_and_scapulae():
    assert run(**cond("rib_fracture", onset=ago(179))).decision is Decision.DECLINE
    s = run(**cond("rib_fracture", onset=ago(180)))
    assert s.decision is Decision.MODIFY
    assert s.restrictions.avoid_zones == {
        "kidney_left",
        "kidney_right",
        "scapular_left",
        "scapular_right",
    }


@pytest.mark.parametrize(
    "facts",
    [
        cond("herniated_disc"),
        cond("radiculopathy"),
        {"symptoms": ["radiating_leg_pain"]},
        {"symptoms": ["numbness_weakness"]},
    ],
)
def test_disc_and_nerve_problems_need_clearance_off_the_lumbar_spine_and_sacrum(facts):
    s = run(**facts)
    assert rules_fired(s) == {"disc-and-nerve": [Decision.CLEARANCE_REQUIRED]}
    assert s.restrictions.avoid_zones == {"spine_lumbar", "sacrum"}


def test_acute_back_pain_defers():
    assert rules_fired(run(symptoms=["acute_back_pain"])) == {"acute-back-pain": [Decision.DEFER]}


def test_spinal_stenosis_modifies_off_the_spine_at_0_4_load():
    s = run(**cond("spinal_stenosis"))
    assert s.decision is Decision.MODIFY
    assert s.restrictions.avoid_zones == spine()
    assert s.restrictions.max_load_fraction == 0.4


def test_ankylosing_spondylitis_declines_and_rheumatoid_arthritis_needs_clearance():
    assert run(**cond("ankylosing_spondylitis")).decision is Decision.DECLINE
    ra = run(**cond("rheumatoid_arthritis"))
    assert rules_fired(ra) == {"inflammatory-spine": [Decision.CLEARANCE_REQUIRED]}


def test_active_cancer_needs_clearance_but_history_of_cancer_does_not():
    assert rules_fired(run(**cond("cancer"))) == {"cancer": [Decision.CLEARANCE_REQUIRED]}
    assert run(**cond("cancer", status="history")).decision is Decision.CLEARED


def test_bone_metastasis_declines():
    assert rules_fired(run(**cond("bone_metastasis"))) == {"cancer": [Decision.DECLINE]}


def test_aortic_aneurysm_declines():
    assert rules_fired(run(**cond("aortic_aneurysm"))) == {"aortic-aneurysm": [Decision.DECLINE]}


def test_heart_failure_needs_clearance():
    s = run(**cond("heart_failure"))
    assert rules_fired(s) == {"heart-failure": [Decision.CLEARANCE_REQUIRED]}


def test_pregnancy_declines_and_not_pregnant_is_cleared():
    s = run(pregnancy={"pregnant": True, "weeks": 12})
    assert rules_fired(s) == {"pregnancy": [Decision.DECLINE]}
    assert s.findings[0].facts == ("pregnant (12 weeks)",)
    assert run(pregnancy={"pregnant": False}).decision is Decision.CLEARED


def test_peripheral_neuropathy_avoids_calves_at_120_kpa_and_diabetes_alone_is_cleared():
    s = run(**cond("peripheral_neuropathy"))
    assert s.decision is Decision.MODIFY
    assert s.restrictions.avoid_zones == {"calf_left", "calf_right"}
    assert s.restrictions.max_pressure_kpa == 120
    assert run(**cond("diabetes")).decision is Decision.CLEARED


def test_varicose_veins_avoid_calves_and_the_back_of_the_knees():
    s = run(**cond("varicose_veins"))
    assert s.decision is Decision.MODIFY
    assert s.restrictions.avoid_zones == {
        "calf_left",
        "calf_right",
        "popliteal_left",
        "popliteal_right",
    }


@pytest.mark.parametrize("facts", [cond("skin_infection"), {"symptoms": ["open_wound"]}])
def test_skin_infection_or_open_wound_defers(facts):
    assert rules_fired(run(**facts)) == {"skin": [Decision.DEFER]}


def test_a_client_turning_18_on_the_screening_date_is_an_adult_but_the_day_before_a_minor():
    minor = run(client={"id": "t", "birth_date": "2008-11-25"})
    assert rules_fired(minor) == {"minor": [Decision.DECLINE]}
    assert minor.findings[0].facts == ("age 17 years < 18",)
    assert run(client={"id": "t", "birth_date": "2008-11-24"}).decision is Decision.CLEARED


def test_a_client_born_on_29_february_turns_18_on_1_march():
    born = "2008-02-29"
    on_28 = screen(parse_intake(intake(date="2026-02-28", client={"id": "t", "birth_date": born})))
    on_1 = screen(parse_intake(intake(date="2026-03-01", client={"id": "t", "birth_date": born})))
    assert on_28.decision is Decision.DECLINE
    assert on_1.decision is Decision.CLEARED


def test_an_unknown_code_is_never_ignored_it_needs_clearance_and_names_the_code():
    s = run(
        **cond("fibromyalgia"),
        procedures=[{"code": "appendectomy", "date": ago(400)}],
        symptoms=["headache"],
        medications=[{"code": "statin"}],
    )
    assert rules_fired(s) == {"unknown-code": [Decision.CLEARANCE_REQUIRED]}
    assert s.findings[0].facts == (
        "unknown condition code 'fibromyalgia'",
        "unknown procedure code 'appendectomy'",
        "unknown medication code 'statin'",
        "unknown symptom code 'headache'",
    )


# ---------------------------------------------------------------- combination


def test_the_overall_decision_is_the_most_restrictive_finding_and_every_finding_is_listed():
    s = run(
        **bp(150, 95),
        medications=[{"code": "antiplatelet"}],
        conditions=[{"code": "varicose_veins"}, {"code": "heart_failure"}],
        symptoms=["dizziness"],
    )
    assert s.decision is Decision.CLEARANCE_REQUIRED
    assert set(rules_fired(s)) == {
        "elevated-bp-today",
        "antiplatelet",
        "varicose-veins",
        "heart-failure",
        "dizziness",
    }


def test_restrictions_union_the_zones_and_take_the_smallest_caps():
    s = run(
        **bp(150, 95),
        medications=[{"code": "antiplatelet"}, {"code": "bisphosphonate"}],
        conditions=[{"code": "peripheral_neuropathy"}, {"code": "spinal_stenosis"}],
    )
    r = s.restrictions
    assert r.avoid_zones == spine() | {"calf_left", "calf_right"}
    assert r.max_load_fraction == 0.3
    assert r.max_pressure_kpa == 100


def test_every_finding_carries_rule_reason_sources_and_facts():
    s = run(**cond("osteoporosis"), symptoms=["fever"], **bp(165, 90))
    for f in s.findings:
        assert f.rule and f.reason and f.sources and f.facts


def test_the_screening_json_follows_the_contract():
    s = run(**cond("kidney_stones", status="history"))
    doc = s.to_json()
    assert doc["schema"] == "ashiguard.screening/1"
    assert doc["client_id"] == "t-1"
    assert doc["date"] == "2026-11-24"
    assert doc["decision"] == "modify"
    assert doc["restrictions"] == {
        "avoid_zones": ["kidney_left", "kidney_right"],
        "max_load_fraction": None,
        "max_pressure_kpa": None,
    }
    assert {"rule", "decision", "reason", "sources"} <= set(doc["findings"][0])
    assert doc["rules_version"] == "ashiguard-default-v1.1"


def test_every_zone_a_default_rule_avoids_is_a_contract_slug():
    zones = {z for r in default_rules().rules for c in r.cases for z in c.restrictions.avoid_zones}
    assert zones
    assert zones <= set(ZONE_SLUGS)


def test_each_shipped_rule_set_implements_every_rule_id_of_its_policy_version(shared_dir):
    import re

    policy = (shared_dir / "policy" / "screening-v1.md").read_text(encoding="utf-8")
    v1, v1_1 = policy.split("## Version 1.1 additions", 1)

    def ids(text: str) -> set[str]:
        return set(re.findall(r"^\| ([a-z][a-z-]+) \|", text, re.MULTILINE)) - {"rule"}

    assert len(ids(v1)) == 35
    assert len(ids(v1_1)) == 4
    v1_rules = {r.id for r in default_rules("default-v1").rules}
    assert ids(v1) <= v1_rules
    assert not ids(v1_1) & v1_rules
    assert ids(v1) | ids(v1_1) <= {r.id for r in default_rules("default-v1.1").rules}
