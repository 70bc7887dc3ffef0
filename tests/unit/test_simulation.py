"""The simulated session: physics bookkeeping, safe normal work, exact ground truth."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import pytest

from ashiguard.domain.errors import InputError
from ashiguard.domain.simulation import (
    FAULT_TYPES,
    SCENARIOS,
    SimChunk,
    Simulation,
    SimulationConfig,
)
from ashiguard.domain.zones import ENDANGERMENT_ZONES, ZONES

KINDS = {
    "spine_pressure",
    "kidney_pressure",
    "zone_pressure",
    "restricted_zone",
    "unsupported_weight",
    "sudden_shift",
    "uneven_load",
    "sensor_fault",
}
# a heel edge on the spine also stresses the spinal canal: depth_stress truth at 45 mm
MIXED_KINDS = KINDS | {"depth_stress"}
AREA_N_PER_KPA = 15.0 * 15.0 * 1e-3


@cache
def _run(scenario: str, seconds: float = 90.0, seed: int = 4) -> tuple[Simulation, SimChunk]:
    sim = Simulation(SimulationConfig(duration_s=seconds, scenario=scenario, seed=seed))
    chunks = list(sim.chunks())
    return sim, SimChunk(
        np.concatenate([c.counters for c in chunks]),
        np.concatenate([c.times for c in chunks]),
        np.concatenate([c.pressure for c in chunks]),
        np.concatenate([c.bars for c in chunks]),
    )


def _mask(sim: Simulation, *zones: str) -> np.ndarray:
    return np.isin(sim.labels, [ZONES.index(z) for z in zones])


def _box(p: np.ndarray) -> np.ndarray:
    """2x2 neighbourhood mean of frames [n, rows, cols] -> [n, rows-1, cols-1]."""
    return (p[:, :-1, :-1] + p[:, 1:, :-1] + p[:, :-1, 1:] + p[:, 1:, 1:]) / 4


def _box_in(sim: Simulation, p: np.ndarray, zone: str) -> np.ndarray:
    """Per-frame peak 2x2 mean over boxes entirely inside ``zone``."""
    m = _mask(sim, zone)
    pure = m[:-1, :-1] & m[1:, :-1] & m[:-1, 1:] & m[1:, 1:]
    return _box(p)[:, pure].max(axis=1)


def _window(data: SimChunk, t0: float, t1: float) -> np.ndarray:
    return (data.times >= t0) & (data.times <= t1)


def _load(data: SimChunk) -> np.ndarray:
    return np.nansum(data.pressure, axis=(1, 2)) * AREA_N_PER_KPA


def test_bar_force_plus_foot_load_equals_body_weight_within_noise():
    sim, data = _run("baseline")
    total = data.bars.sum(axis=1) + _load(data)
    err = total - sim.weight_n
    assert abs(err.mean()) < 0.01 * sim.weight_n
    assert np.abs(err).max() < 0.06 * sim.weight_n
    truth = sim.foot_load_n()[data.counters] + data.bars.sum(axis=1)
    assert np.abs(truth - sim.weight_n).max() < 0.06 * sim.weight_n


def test_baseline_feet_stay_on_treatment_zones_and_never_touch_endangerment_zones():
    sim, data = _run("baseline")
    danger = _mask(sim, *ENDANGERMENT_ZONES) | (sim.labels < 0)
    assert data.pressure[:, danger].max() == 0.0
    loaded = data.pressure.max(axis=(1, 2)) > 5
    assert loaded.mean() > 0.5  # the therapist is working most of the time
    for zone in ("erector_lumbar_left", "hamstring_right", "gluteal_left"):
        assert data.pressure[:, _mask(sim, zone)].max() > 10, zone


def test_baseline_work_is_moderate_smooth_and_balanced():
    sim, data = _run("baseline")
    w = sim.weight_n
    assert _box(data.pressure).max() < 100.0
    load = _load(data)
    assert load.max() < 0.35 * w
    step = np.abs(load[20:] - load[:-20])  # 0.2 s apart
    assert step.max() < 0.2 * w
    left = np.nansum(data.pressure[:, :, 24:], axis=(1, 2)) * AREA_N_PER_KPA
    heavy = load > 0.15 * w
    asym = np.abs(2 * left[heavy] - load[heavy]) / load[heavy]
    assert asym.max() < 0.3
    contact = data.pressure[data.pressure > 5]
    assert 15 < contact.mean() < 60


def test_baseline_has_no_truth_events_and_no_restrictions():
    sim, _ = _run("baseline")
    assert sim.truth == ()
    assert sim.restrictions == {"avoid_zones": []}


@pytest.mark.parametrize(
    ("scenario", "kind"),
    [
        ("spine", "spine_pressure"),
        ("kidney", "kidney_pressure"),
        ("zone", "zone_pressure"),
        ("restricted", "restricted_zone"),
        ("weight", "unsupported_weight"),
        ("shift", "sudden_shift"),
        ("imbalance", "uneven_load"),
        ("faults", "sensor_fault"),
    ],
)
def test_each_scenario_injects_separated_events_of_its_own_kind(scenario, kind):
    sim, _ = _run(scenario)
    own = [ev for ev in sim.truth if ev.kind == kind]
    assert len(own) >= 2
    for ev in sim.truth:
        if ev.kind != kind:  # only the spine's companion depth_stress events
            assert (scenario, ev.kind, ev.detail["depth_mm"]) == ("spine", "depth_stress", 45.0)
            assert any(ev.t_start <= o.t_end and o.t_start <= ev.t_end for o in own)
        assert ev.zone is None or ev.zone in ZONES
        assert 0 < ev.t_start <= ev.t_end < sim.config.duration_s
    for a, b in itertools.pairwise(own):
        assert b.t_start - a.t_end > 5.0


def test_spine_events_show_heel_pressure_over_150_kpa_inside_spine_lumbar():
    sim, data = _run("spine")
    spine = _mask(sim, "spine_lumbar")
    outside = np.ones(data.times.shape, dtype=bool)
    for ev in sim.truth:
        if ev.kind == "depth_stress":
            continue
        assert ev.zone == "spine_lumbar" and ev.unit == "kPa"
        assert 150 <= ev.peak <= 250
        w = _window(data, ev.t_start, ev.t_end)
        outside &= ~_window(data, ev.t_start - 0.5, ev.t_end + 0.5)
        assert data.pressure[w][:, spine].max() > 150
        assert _box_in(sim, data.pressure[w], "spine_lumbar").max() == pytest.approx(
            ev.peak, rel=0.12
        )
    assert data.pressure[outside][:, spine].max() == 0.0


@pytest.mark.parametrize(
    ("scenario", "stem", "low"), [("kidney", "kidney", 100.0), ("zone", "hamstring", 210.0)]
)
def test_pressure_events_load_only_their_zone_at_the_stated_peak(scenario, stem, low):
    sim, data = _run(scenario)
    for ev in sim.truth:
        assert ev.zone is not None and ev.zone.startswith(stem)
        assert ev.peak >= low
        w = _window(data, ev.t_start + 0.3, ev.t_end - 0.3)
        peaks = _box_in(sim, data.pressure[w], ev.zone)
        assert peaks.max() == pytest.approx(ev.peak, rel=0.12)
        others = data.pressure[w][:, ~_mask(sim, ev.zone)]
        assert others.max() < 100.0  # the balancing foot stays moderate
    load = _load(data)
    assert load.max() < 0.55 * sim.weight_n  # no unsupported-weight side effect


def test_restricted_events_touch_an_avoided_calf_that_normal_work_never_touches():
    sim, data = _run("restricted")
    avoid = sim.restrictions["avoid_zones"]
    assert avoid == ["calf_left", "calf_right"]
    calves = _mask(sim, *avoid)
    during = np.zeros(data.times.shape, dtype=bool)
    for ev in sim.truth:
        assert ev.zone in avoid and ev.detail["avoid_zones"] == avoid
        w = _window(data, ev.t_start, ev.t_end)
        during |= _window(data, ev.t_start - 0.5, ev.t_end + 0.5)
        assert data.pressure[w][:, _mask(sim, ev.zone)].min(axis=0).max() > 5.0
        assert _box(data.pressure[w]).max() < 100.0
    assert data.pressure[~during][:, calves].max() == 0.0


def test_weight_events_put_over_60_percent_of_body_weight_on_the_client_exactly_then():
    sim, data = _run("weight")
    frac = sim.foot_load_n()[data.counters] / sim.weight_n
    over = frac > 0.6
    in_event = np.zeros(data.times.shape, dtype=bool)
    for ev in sim.truth:
        assert ev.unit == "N" and ev.peak > 0.65 * sim.weight_n
        in_event |= (data.times >= ev.t_start - 0.011) & (data.times <= ev.t_end + 0.011)
        assert ev.t_end - ev.t_start > 3.0
    assert (over <= in_event).all() and (in_event[over].sum() > 0.9 * in_event.sum())
    measured = _load(data) / sim.weight_n
    assert measured[over].min() > 0.55


def test_shift_events_change_the_load_by_over_40_percent_of_body_weight_within_0_3_s():
    sim, data = _run("shift")
    load = sim.foot_load_n()[data.counters]
    k = 30  # 0.3 s
    jump = np.abs(load[k:] - load[:-k]) / sim.weight_n
    for ev in sim.truth:
        w = _window(data, ev.t_start - 0.3, ev.t_end + 0.3)[k:]
        assert jump[w].max() > 0.4
        assert ev.t_end - ev.t_start <= 0.3
    quiet = np.ones(jump.shape, dtype=bool)
    for ev in sim.truth:
        quiet &= ~_window(data, ev.t_start - 0.5, ev.t_end + 0.5)[k:]
    assert jump[quiet].max() < 0.3
    assert (load / sim.weight_n).max() < 0.6


def test_imbalance_events_put_over_85_percent_of_the_load_on_one_side():
    sim, data = _run("imbalance")
    left = np.nansum(data.pressure[:, :, 24:], axis=(1, 2))
    total = np.nansum(data.pressure, axis=(1, 2))
    for ev in sim.truth:
        w = _window(data, ev.t_start + 0.2, ev.t_end - 0.2)
        share = left[w] / total[w]
        heavy = share if ev.detail["heavy_side"] == "left" else 1 - share
        assert heavy.min() > 0.8
        bars = data.bars[w]
        bar_share = bars[:, 0] / bars.sum(axis=1)
        bar_heavy = bar_share if ev.detail["heavy_side"] == "left" else 1 - bar_share
        assert bar_heavy.mean() > 0.75


def test_fault_scenario_injects_every_fault_type_and_the_frames_show_each():
    sim, data = _run("faults", 120.0)
    faults = {ev.detail["fault"]: ev for ev in sim.truth}
    assert set(faults) == set(FAULT_TYPES)
    gaps = np.diff(data.times)
    ev = faults["dropped_frames"]
    gap_at = int(np.argmax(gaps))
    assert gaps.max() > 0.2
    assert data.times[gap_at] < ev.t_start <= data.times[gap_at + 1] == pytest.approx(ev.t_end)
    ev = faults["stale"]
    w = _window(data, ev.t_start - 2.0, ev.t_end - 0.01)
    frames = data.pressure[w]
    assert (frames == frames[0]).all() and frames[0].max() > 5
    ev = faults["dead_row"]
    w = _window(data, ev.t_start, ev.t_end - 0.01)
    assert np.isnan(data.pressure[w][:, ev.detail["row"], :]).all()
    ev = faults["saturation"]
    w = _window(data, ev.t_start, ev.t_end - 0.01)
    assert (data.pressure[w] == sim.config.sensor_max_kpa).sum(axis=(1, 2)).min() == 6
    ev = faults["nan_burst"]
    w = _window(data, ev.t_start, ev.t_end - 0.01)
    assert np.isnan(data.pressure[w]).mean(axis=(1, 2)).min() > 0.05
    clean = np.ones(data.times.shape, dtype=bool)
    for e in sim.truth:
        clean &= ~_window(data, e.t_start - 2.1, e.t_end + 0.1)
    assert not np.isnan(data.pressure[clean]).any()
    assert data.pressure[clean].max() < 100


def test_mixed_scenario_holds_several_events_of_every_kind_in_ten_minutes():
    sim = Simulation(SimulationConfig(duration_s=600, scenario="mixed", seed=1))
    kinds = [ev.kind for ev in sim.truth]
    assert set(kinds) == MIXED_KINDS
    assert all(kinds.count(k) >= 2 for k in KINDS)
    faults = {ev.detail["fault"] for ev in sim.truth if ev.kind == "sensor_fault"}
    assert faults == set(FAULT_TYPES)
    starts = [ev.t_start for ev in sim.truth]
    assert starts == sorted(starts)


def test_same_seed_gives_identical_frames_and_another_seed_does_not():
    _, a = _run("mixed", 40.0, 7)
    sim_b = Simulation(SimulationConfig(duration_s=40.0, scenario="mixed", seed=7))
    for b in (list(sim_b.chunks(37)), list(sim_b.chunks(50, first_frames=13))):
        # a different chunking (also a shorter first chunk) must not change the data
        pb = np.concatenate([c.pressure for c in b])
        assert np.array_equal(a.pressure, pb, equal_nan=True)
        assert np.array_equal(a.bars, np.concatenate([c.bars for c in b]))
        assert np.array_equal(a.counters, np.concatenate([c.counters for c in b]))
    assert [c.counters[0] for c in sim_b.chunks(50, first_frames=13)][:3] == [0, 13, 63]
    with pytest.raises(InputError, match="first_frames"):
        next(sim_b.chunks(50, first_frames=0))
    _, c = _run("mixed", 40.0, 8)
    n = min(len(c.pressure), len(a.pressure))
    assert not np.array_equal(a.pressure[:n], c.pressure[:n], equal_nan=True)


def test_frame_counters_increase_by_one_except_across_dropped_frames():
    sim, data = _run("faults", 120.0)
    steps = np.diff(data.counters)
    assert (steps >= 1).all()
    dropped = [ev for ev in sim.truth if ev.detail["fault"] == "dropped_frames"]
    assert (steps > 1).sum() == len(dropped)
    assert np.allclose(data.times, data.counters / sim.config.rate_hz)
    assert data.counters[0] == 0


def test_under_client_mat_carries_the_client_weight_plus_the_therapist_load():
    cfg = SimulationConfig(duration_s=20, scenario="baseline", placement="under_client", seed=2)
    sim = Simulation(cfg)
    chunks = list(sim.chunks())
    p = np.concatenate([c.pressure for c in chunks])
    total = p.sum(axis=(1, 2)) * AREA_N_PER_KPA
    expected = cfg.client_weight_kg * 9.80665 + sim.foot_load_n()
    assert np.abs(total - expected).max() < 0.03 * expected.min()
    assert p.max() < 60  # a body spread over a mat, not contact pressure
    assert (p[:, sim.labels < 0] == 0).mean() > 0.5  # outside the body outline stays empty


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scenario": "nope"}, "scenario"),
        ({"placement": "foot"}, "placement"),
        ({"duration_s": 0}, "duration_s"),
        ({"rate_hz": -1}, "rate_hz"),
        ({"seed": -3}, "seed"),
    ],
)
def test_bad_simulation_settings_are_refused_naming_the_field(kwargs, field):
    with pytest.raises(InputError, match=field):
        SimulationConfig(**kwargs)


def test_every_listed_scenario_builds():
    for name in SCENARIOS:
        sim = Simulation(SimulationConfig(duration_s=60, scenario=name, seed=3))
        assert sim.n_frames == 6000


def test_a_session_shorter_than_one_stroke_still_shows_the_feet_at_work():
    sim = Simulation(SimulationConfig(duration_s=3, scenario="mixed", seed=5))
    p = np.concatenate([c.pressure for c in sim.chunks()])
    assert p.shape == (300, 128, 48)
    assert p.max() > 10 and sim.truth == ()


@pytest.mark.parametrize("height_cm", [150.0, 200.0])
def test_small_and_tall_clients_get_every_event_kind_and_safe_normal_work(height_cm):
    cfg = SimulationConfig(duration_s=60, scenario="mixed", seed=2, client_height_cm=height_cm)
    sim = Simulation(cfg)
    p = np.concatenate([c.pressure for c in sim.chunks()])
    t = np.arange(p.shape[0]) / 100.0
    normal = np.ones(t.shape, dtype=bool)
    for ev in sim.truth:
        normal &= ~((t >= ev.t_start - 3.0) & (t <= ev.t_end + 3.0))
    danger = _mask(sim, *ENDANGERMENT_ZONES) | (sim.labels < 0)
    assert np.nan_to_num(p[normal][:, danger]).max() == 0.0
    full = Simulation(
        SimulationConfig(duration_s=600, scenario="mixed", seed=2, client_height_cm=height_cm)
    )
    assert {ev.kind for ev in full.truth} == MIXED_KINDS
