from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ashiguard.domain.errors import InputError
from ashiguard.domain.mechanics import CONTACTS, G
from ashiguard.domain.plan import (
    DEFAULT_MAX_LOAD_FRACTION,
    LEVELS,
    ZONE_DEFAULTS,
    level_for_pressure,
    make_plan,
)
from ashiguard.domain.screening import parse_screening
from ashiguard.domain.zones import ENDANGERMENT_ZONES, ZONES, ZoneMap

W70 = 70.0 * G


def _restrictions(avoid=(), fraction=None, pressure=None) -> dict[str, Any]:
    return {
        "avoid_zones": list(avoid),
        "max_load_fraction": fraction,
        "max_pressure_kpa": pressure,
    }


def _finding(rule: str, decision: str, **restr: Any) -> dict[str, Any]:
    return {
        "rule": rule,
        "decision": decision,
        "reason": f"{rule} reason",
        "sources": ["test"],
        "restrictions": _restrictions(**restr),
    }


def _screening(decision: str, findings=(), **restr: Any):
    return parse_screening(
        {
            "schema": "ashiguard.screening/1",
            "client_id": "c-1",
            "date": "2026-11-24",
            "decision": decision,
            "findings": list(findings),
            "restrictions": _restrictions(**restr),
            "rules_version": "test",
        }
    )


def test_cleared_client_gets_every_treatment_target_and_no_endangerment_zone():
    plan = make_plan(_screening("cleared"), 70.0)
    assert plan.barefoot_work
    for z in plan.zones:
        if z.zone in ENDANGERMENT_ZONES:
            assert (z.allowed, z.level, z.max_load_n, z.technique) == (False, 0, 0.0, "none")
            assert "endangerment zone" in z.reason
        else:
            assert z.allowed and z.level >= 3, z.zone
    assert [z.zone for z in plan.zones] == list(ZONES)


def test_zone_default_levels_cap_pressure_over_the_techniques_contact():
    plan = make_plan(_screening("cleared"), 70.0)
    scap = plan.zone("scapular_left")
    assert scap.technique == "forefoot_glide"
    assert scap.level == 3
    assert scap.max_pressure_kpa == pytest.approx(LEVELS[3].max_kpa)
    assert scap.max_load_n == pytest.approx(
        LEVELS[3].max_kpa * CONTACTS["forefoot"].area_mm2 / 1000
    )
    assert scap.reason.startswith("zone default level 3")
    glute = plan.zone("gluteal_right")
    assert (glute.technique, glute.level) == ("heel_compression", 5)


def test_default_cap_keeps_part_of_the_weight_on_the_bars_for_the_lumbar_erectors():
    plan = make_plan(_screening("cleared"), 70.0)
    z = plan.zone("erector_lumbar_left")
    assert z.max_load_n == pytest.approx(DEFAULT_MAX_LOAD_FRACTION * W70)
    assert z.max_load_fraction == pytest.approx(DEFAULT_MAX_LOAD_FRACTION)
    assert z.bars_min_n == pytest.approx((1 - DEFAULT_MAX_LOAD_FRACTION) * W70)
    assert z.reason.startswith("default cap 0.6 of the therapist's weight")
    assert z.level == level_for_pressure(z.max_load_n / CONTACTS["foot"].area_mm2 * 1000)
    assert plan.max_load_fraction == DEFAULT_MAX_LOAD_FRACTION
    assert all(p.max_load_fraction <= DEFAULT_MAX_LOAD_FRACTION + 1e-9 for p in plan.zones)


def test_a_looser_screening_cap_does_not_lift_the_default_cap():
    s = _screening("modify", [_finding("lenient", "modify", fraction=0.9)], fraction=0.9)
    plan = make_plan(s, 70.0)
    assert plan.max_load_fraction == DEFAULT_MAX_LOAD_FRACTION
    assert plan.zone("erector_lumbar_left").max_load_n == pytest.approx(0.6 * W70)


def test_max_load_fraction_caps_the_load_and_names_the_finding():
    s = _screening(
        "modify",
        [_finding("elevated-bp", "modify", fraction=0.4)],
        fraction=0.4,
    )
    plan = make_plan(s, 70.0)
    z = plan.zone("erector_lumbar_right")
    assert z.max_load_n == pytest.approx(0.4 * W70)
    assert z.max_load_fraction == pytest.approx(0.4)
    assert z.bars_min_n == pytest.approx(0.6 * W70)
    assert "max_load_fraction 0.4" in z.reason and "elevated-bp" in z.reason
    assert plan.max_load_fraction == 0.4
    assert all(p.max_load_fraction <= 0.4 + 1e-9 for p in plan.zones)


def test_max_pressure_caps_every_zone_and_lowers_the_level():
    s = _screening("modify", [_finding("bruising", "modify", pressure=15.0)], pressure=15.0)
    plan = make_plan(s, 70.0)
    for z in plan.zones:
        if z.allowed:
            assert z.max_pressure_kpa <= 15.0 + 1e-9
            assert z.level <= 2
            assert "max_pressure_kpa 15 kPa (finding bruising)" in z.reason


def test_avoided_zones_are_not_allowed_and_name_the_restriction():
    s = _screening(
        "modify",
        [_finding("past-joint-replacement", "modify", avoid=["gluteal_left"])],
        avoid=["gluteal_left"],
    )
    plan = make_plan(s, 70.0)
    z = plan.zone("gluteal_left")
    assert (z.allowed, z.level, z.max_load_n) == (False, 0, 0.0)
    assert "avoid_zones" in z.reason and "past-joint-replacement" in z.reason
    assert plan.zone("gluteal_right").allowed


@pytest.mark.parametrize("decision", ["defer", "clearance_required", "decline"])
def test_no_barefoot_work_when_the_screening_does_not_clear_the_client(decision):
    s = _screening(decision, [_finding("dvt", decision)])
    plan = make_plan(s, 70.0)
    assert not plan.barefoot_work
    assert all(not z.allowed and z.level == 0 for z in plan.zones)
    assert plan.findings == ({"rule": "dvt", "decision": decision, "reason": "dvt reason"},)
    assert decision in plan.summary
    assert f"screening decision {decision}" in plan.zones[0].reason


def test_plan_json_has_every_zone_with_the_contract_fields():
    doc = make_plan(_screening("cleared"), 62.5, ZoneMap.from_height(1650.0)).to_json()
    assert doc["schema"] == "ashiguard.plan/1"
    assert list(doc["zones"]) == list(ZONES)
    for slug, z in doc["zones"].items():
        assert set(z) >= {"allowed", "technique", "level", "max_load_n", "max_load_fraction"}
        assert set(z) >= {"reason", "centroid_mm"}
        assert 0 <= z["level"] <= 5
        assert (z["level"] == 0) == (not z["allowed"]), slug


def test_levels_map_pressure_to_walton_bands():
    assert [lv.level for lv in LEVELS] == [0, 1, 2, 3, 4, 5]
    assert level_for_pressure(0.0) == 0
    assert level_for_pressure(5.0) == 1
    assert level_for_pressure(25.0) == 3
    assert level_for_pressure(25.1) == 4
    assert level_for_pressure(500.0) == 5
    assert set(ZONE_DEFAULTS) == {
        z.removesuffix("_left").removesuffix("_right") for z in ZONES if z not in ENDANGERMENT_ZONES
    }


def test_implausible_therapist_mass_is_refused():
    with pytest.raises(InputError, match="therapist_mass_kg: 5 kg is outside 30-250 kg"):
        make_plan(_screening("cleared"), 5.0)
    with pytest.raises(InputError, match="therapist_mass_kg: must be a number"):
        make_plan(_screening("cleared"), float("nan"))


def test_every_example_screening_of_the_project_gives_a_plan():
    folder = Path(__file__).resolve().parents[2] / "examples" / "screenings"
    files = sorted(folder.glob("*.json"))
    assert files
    for path in files:
        screening = parse_screening(path.read_text(encoding="utf-8"))
        plan = make_plan(screening, 65.0)
        assert plan.barefoot_work == (screening.decision in ("cleared", "modify")), path.name
        for zone in screening.restrictions.avoid_zones:
            assert not plan.zone(zone).allowed, (path.name, zone)
