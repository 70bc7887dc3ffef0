"""The comfort ceiling from "too much" markers, and the plan that takes it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ashiguard.domain.comfort import LAST_VISITS, MARGIN, TooMuch, comfort_ceiling
from ashiguard.domain.errors import InputError
from ashiguard.domain.plan import LEVELS, ComfortCap, make_plan, target_band
from ashiguard.domain.screening import parse_screening


def _screening(decision: str = "cleared", pressure: float | None = None, avoid=()) -> Any:
    return parse_screening(
        {
            "schema": "ashiguard.screening/1",
            "client_id": "c-1",
            "date": "2026-11-24",
            "decision": decision,
            "findings": [],
            "restrictions": {
                "avoid_zones": list(avoid),
                "max_load_fraction": None,
                "max_pressure_kpa": pressure,
            },
            "rules_version": "test",
        }
    )


def _mark(kpa: float, day: int = 1, zone: str | None = "erector_lumbar_left") -> TooMuch:
    return TooMuch(date(2026, 11, day), 12.0, zone, kpa)


def test_the_ceiling_is_the_lowest_marked_pressure_of_the_last_visits_less_the_margin():
    visits = [[_mark(40, 5)], [], [_mark(34, 3), _mark(50, 3)], [_mark(45, 2)], [], [_mark(20, 1)]]
    c = comfort_ceiling(visits)
    assert c is not None
    assert c.kpa == pytest.approx(34 * (1 - MARGIN))
    assert (c.markers, c.visits, c.looked_at) == (4, 3, LAST_VISITS)  # the 6th visit is too old
    assert c.source == (
        "4 'too much' markers in the last 5 visits, lowest at 34 kPa on the left lower-back "
        "muscles on 2026-11-03; ceiling 10% below it"
    )


def test_no_too_much_in_the_last_visits_means_no_ceiling():
    assert comfort_ceiling([]) is None
    assert comfort_ceiling([[], [], [], [], [], [_mark(20)]]) is None  # lapsed after 5 visits
    with pytest.raises(InputError, match="last_visits"):
        comfort_ceiling([], last_visits=0)
    with pytest.raises(InputError, match="margin"):
        comfort_ceiling([], margin=1.5)


def test_a_ceiling_lowers_levels_and_bands_of_the_zones_above_it():
    plain = make_plan(_screening(), 70.0)
    capped = make_plan(_screening(), 70.0, comfort=ComfortCap(kpa=20.0, source="tests"))
    for before, after in zip(plain.zones, capped.zones, strict=True):
        assert after.max_pressure_kpa <= before.max_pressure_kpa + 1e-9
        assert after.level <= before.level
        if before.allowed:
            assert after.max_pressure_kpa <= 20.0 + 1e-9
    lumbar = capped.zone("erector_lumbar_left")
    assert plain.zone("erector_lumbar_left").level == 4
    assert lumbar.level == 3 and target_band(lumbar) == (LEVELS[2].max_kpa, 20.0)
    assert lumbar.reason == "client's comfort ceiling 20 kPa (tests)"
    assert "comfort ceiling 20 kPa applied (tests)" in capped.summary
    assert capped.to_json()["comfort_ceiling"] == {"kpa": 20.0, "zones": {}, "source": "tests"}


def test_a_ceiling_above_the_screenings_cap_changes_nothing_it_never_raises():
    strict = _screening("modify", pressure=12.0)
    plain = make_plan(strict, 70.0)
    high = make_plan(strict, 70.0, comfort=300.0)
    assert [z.to_json() for z in high.zones] == [z.to_json() for z in plain.zones]
    for z in high.zones:
        band = target_band(z)
        assert band is None or band[1] <= 12.0


def test_a_ceiling_never_opens_an_avoided_or_endangerment_zone_or_a_declined_plan():
    plan = make_plan(_screening("modify", avoid=["calf_left"]), 70.0, comfort=500.0)
    assert not plan.zone("calf_left").allowed and not plan.zone("spine_lumbar").allowed
    declined = make_plan(_screening("decline"), 70.0, comfort=500.0)
    assert not declined.barefoot_work and all(z.level == 0 for z in declined.zones)


def test_a_per_zone_ceiling_caps_only_that_zone_and_bad_ceilings_are_refused():
    plan = make_plan(_screening(), 70.0, comfort=ComfortCap(zones={"calf_left": 9.0}))
    assert plan.zone("calf_left").max_pressure_kpa == pytest.approx(9.0)
    assert plan.zone("calf_right").max_pressure_kpa > 9.0
    with pytest.raises(InputError, match="comfort_kpa"):
        ComfortCap(kpa=0.0)
    with pytest.raises(InputError, match="unknown zone"):
        ComfortCap(zones={"elbow": 5.0})


def test_the_ceiling_of_the_markers_goes_into_the_plan_with_its_source():
    c = comfort_ceiling([[_mark(34)]])
    assert c is not None
    plan = make_plan(_screening(), 70.0, comfort=c.cap())
    assert plan.zone("erector_lumbar_left").max_pressure_kpa == pytest.approx(34 * 0.9)
    assert "lowest at 34 kPa on the left lower-back muscles" in plan.zone("gluteal_left").reason
