"""A session that follows the plan must not trip the monitor's default alarms."""

from __future__ import annotations

from ashiguard.domain.alarms import AlarmConfig
from ashiguard.domain.mechanics import CONTACTS
from ashiguard.domain.plan import DEFAULT_MAX_LOAD_FRACTION, TECHNIQUES, make_plan
from ashiguard.domain.screening import parse_screening


def _cleared():
    return parse_screening(
        {
            "schema": "ashiguard.screening/1",
            "client_id": "c-1",
            "date": "2026-11-24",
            "decision": "cleared",
            "findings": [],
            "restrictions": {
                "avoid_zones": [],
                "max_load_fraction": None,
                "max_pressure_kpa": None,
            },
            "rules_version": "test",
        }
    )


def test_default_load_cap_equals_the_monitors_unsupported_weight_limit():
    assert AlarmConfig().max_load_fraction == DEFAULT_MAX_LOAD_FRACTION


def test_planned_peak_pressure_stays_under_the_monitors_zone_limits():
    limits = AlarmConfig().zone_limits_kpa
    for mass in (50.0, 70.0, 110.0):
        plan = make_plan(_cleared(), mass)
        for z in plan.zones:
            if not z.allowed:
                continue
            contact = CONTACTS[str(TECHNIQUES[z.technique])]
            peak = z.max_pressure_kpa * contact.peak_factor
            assert peak < limits[z.zone], (mass, z.zone, peak, limits[z.zone])
