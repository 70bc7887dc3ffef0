"""The dwell, dose and depth scenarios raise exactly their kinds; clean sessions raise none."""

from __future__ import annotations

import pytest

from ashiguard.domain.alarms import AlarmConfig, AlarmEngine
from ashiguard.domain.simulation import Simulation, SimulationConfig
from ashiguard.services.analyze import evaluate_alerts, plan_engine

NEW = {"dwell_time", "zone_dose", "depth_stress"}


def _run(
    scenario: str, seconds: float, seed: int
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    c = SimulationConfig(duration_s=seconds, seed=seed, scenario=scenario)
    sim = Simulation(c)
    setup = plan_engine(
        placement=c.placement,
        rows=c.rows,
        cols=c.cols,
        pitch_mm=c.pitch_mm,
        origin_mm=c.origin,
        client={"height_cm": c.client_height_cm, "weight_kg": c.client_weight_kg},
        therapist_mass_kg=c.therapist_mass_kg,
    )
    cfg = AlarmConfig().tightened(sim.restrictions["avoid_zones"])
    eng = AlarmEngine(
        setup.layout,
        cfg,
        setup.therapist_mass_kg,
        load_source=setup.load_source,
        symmetry_source=setup.symmetry_source,
    )
    for ch in sim.chunks(512):
        eng.process(ch.times, ch.pressure)
    return [e.to_dict() for e in sim.truth], [a.to_json() for a in eng.finish()]


@pytest.mark.parametrize(("seconds", "seed"), [(200.0, 2), (200.0, 9)])
def test_a_clean_moving_session_raises_no_dwell_dose_or_depth_alarm(
    seconds: float, seed: int
) -> None:
    truth, alerts = _run("baseline", seconds, seed)
    assert truth == []
    assert alerts == []


@pytest.mark.slow
def test_a_static_heel_hold_on_the_erectors_raises_dwell_time_and_zone_dose_only() -> None:
    truth, alerts = _run("static_hold", 230.0, 4)
    assert {e["kind"] for e in truth} == {"dwell_time", "zone_dose"}
    assert {e["zone"] for e in truth} == {"erector_lumbar_left", "erector_lumbar_right"}
    assert {a["kind"] for a in alerts} == {"dwell_time", "zone_dose"}
    report = evaluate_alerts(truth, alerts)["kinds"]
    for kind in ("dwell_time", "zone_dose"):
        assert report[kind]["recall"] == 1.0, report[kind]
        assert report[kind]["precision"] == 1.0, report[kind]


def test_a_broad_flank_load_raises_depth_stress_at_kidney_depth_only() -> None:
    truth, alerts = _run("deep_flank", 60.0, 5)
    assert truth and {e["kind"] for e in truth} == {"depth_stress"}
    assert all(e["depth_mm"] == 80.0 and str(e["zone"]).startswith("kidney_") for e in truth)
    assert {a["kind"] for a in alerts} == {"depth_stress"}
    assert all(a["depth_mm"] == 80.0 for a in alerts)
    r = evaluate_alerts(truth, alerts)["kinds"]["depth_stress"]
    assert (r["recall"], r["precision"]) == (1.0, 1.0)
    assert r["onset_delay_max_s"] <= 0.5


def test_a_heel_edge_on_the_spine_also_has_depth_stress_truth_at_45_mm() -> None:
    truth, alerts = _run("spine", 40.0, 3)
    depth = [e for e in truth if e["kind"] == "depth_stress"]
    assert depth and all(e["depth_mm"] == 45.0 for e in depth)
    assert {a["kind"] for a in alerts} == {"spine_pressure", "depth_stress"}
    report = evaluate_alerts(truth, alerts)["kinds"]
    for kind in ("spine_pressure", "depth_stress"):
        assert (report[kind]["recall"], report[kind]["precision"]) == (1.0, 1.0), report[kind]


@pytest.mark.parametrize("scenario", ["kidney", "zone", "weight", "imbalance"])
def test_the_other_event_scenarios_raise_none_of_the_new_kinds(scenario: str) -> None:
    truth, alerts = _run(scenario, 60.0, 6)
    assert not NEW & {e["kind"] for e in truth}
    assert not NEW & {a["kind"] for a in alerts}
