"""dwell_time, zone_dose and depth_stress: both sides of every limit, sources, tightening."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ashiguard.domain.alarms import AlarmConfig, AlarmEngine, SensorLayout, parse_alarm_config
from ashiguard.domain.errors import InputError

ZONES3 = ("spine_lumbar", "kidney_left", "erector_lumbar_left")
RATE = 20.0  # Hz: long holds stay cheap


def _layout(rows: int = 12, cols: int = 12, pitch: float = 15.0) -> SensorLayout:
    """Columns 0-3 spine_lumbar, 4-7 kidney_left, 8-11 erector_lumbar_left."""
    labels = np.zeros((rows, cols), dtype=np.int16)
    labels[:, 4:8] = 1
    labels[:, 8:] = 2
    x = (np.arange(cols) - (cols - 1) / 2) * pitch
    return SensorLayout(rows, cols, pitch, labels, ZONES3, x, "on_client")


def _engine(cfg: AlarmConfig | None = None) -> AlarmEngine:
    return AlarmEngine(_layout(), cfg or AlarmConfig(), 70.0)


def _hold(seconds: float, kpa: float, cols: slice = slice(9, 11)) -> tuple[np.ndarray, np.ndarray]:
    """A still 2 x 2 (30 x 30 mm) load on the erector (default) for ``seconds``."""
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    p = np.zeros((n, 12, 12), dtype=np.float32)
    p[:, 5:7, cols] = kpa
    return t, p


def _alerts(eng: AlarmEngine, kind: str) -> list[dict[str, object]]:
    return [a.to_json() for a in eng.finish() if a.kind == kind]


# ---------------------------------------------------------------- dwell_time
def test_a_load_held_past_the_dwell_limit_raises_dwell_time_naming_zone_limit_and_source() -> None:
    cfg = AlarmConfig(dose_limits_kpa_s={})  # dwell only
    eng = _engine(cfg)
    t, p = _hold(65.0, 40.0)  # 4 sensels x 40 kPa x 225 mm^2 = 36 N > 20 N
    eng.process(t, p)
    (a,) = _alerts(eng, "dwell_time")
    assert (a["zone"], a["limit"], a["unit"], a["source"]) == (
        "erector_lumbar_left",
        60.0,
        "s",
        "default",
    )
    assert a["rule"] == "dwell_time:erector_lumbar_left"
    assert a["priority"] == "medium"
    assert a["t_start"] == pytest.approx(60.05, abs=0.06)
    assert a["value_seen"] == pytest.approx(60.1, abs=0.1)


def test_a_load_held_just_under_the_dwell_limit_raises_nothing() -> None:
    eng = _engine(AlarmConfig(dose_limits_kpa_s={}))
    t, p = _hold(59.8, 40.0)
    eng.process(t, p)
    assert _alerts(eng, "dwell_time") == []


def test_a_light_touch_under_the_dwell_load_is_not_a_hold() -> None:
    eng = _engine(AlarmConfig(dose_limits_kpa_s={}))
    t, p = _hold(80.0, 20.0)  # 18 N < 20 N
    eng.process(t, p)
    assert _alerts(eng, "dwell_time") == []


def test_a_short_lift_does_not_end_a_hold_but_a_longer_one_does() -> None:
    cfg = AlarmConfig(dose_limits_kpa_s={}, dwell_limits_s={"erector_lumbar_left": 10.0})
    t, p = _hold(16.0, 40.0)
    short = p.copy()
    short[round(6 * RATE) : round(6.2 * RATE)] = 0.0  # 0.2 s off: still the same hold
    eng = _engine(cfg)
    eng.process(t, short)
    assert len(_alerts(eng, "dwell_time")) == 1
    long = p.copy()
    long[round(6 * RATE) : round(6.5 * RATE)] = 0.0  # 0.5 s off: two holds of 6 and 9.5 s
    eng = _engine(cfg)
    eng.process(t, long)
    assert _alerts(eng, "dwell_time") == []


def test_endangerment_zones_have_a_shorter_dwell_limit_and_a_high_priority() -> None:
    eng = _engine(AlarmConfig(dose_limits_kpa_s={}, depth_limits_kpa={}))
    t, p = _hold(12.0, 30.0, cols=slice(5, 7))  # on the kidney, under its 40 kPa limit
    eng.process(t, p)
    (a,) = _alerts(eng, "dwell_time")
    assert (a["zone"], a["limit"], a["priority"]) == ("kidney_left", 10.0, "high")


# ---------------------------------------------------------------- zone_dose
def test_the_dose_is_the_pressure_time_integral_and_raises_over_its_limit() -> None:
    cfg = AlarmConfig(dwell_limits_s={}, dose_limits_kpa_s={"erector_lumbar_left": 1000.0})
    eng = _engine(cfg)
    t, p = _hold(12.0, 100.0)
    eng.process(t, p)
    (a,) = _alerts(eng, "zone_dose")
    assert (a["unit"], a["limit"], a["zone"]) == ("kPa*s", 1000.0, "erector_lumbar_left")
    # 100 kPa x dt from the second frame on: over 1000 kPa*s after 10.05 s
    assert a["t_start"] == pytest.approx(10.05, abs=0.06)
    assert a["peak"] == pytest.approx(100.0 * (12.0 - 1 / RATE), rel=1e-6)


def test_a_dose_just_under_its_limit_raises_nothing() -> None:
    cfg = AlarmConfig(dwell_limits_s={}, dose_limits_kpa_s={"erector_lumbar_left": 1000.0})
    eng = _engine(cfg)
    t, p = _hold(9.9, 100.0)
    eng.process(t, p)
    assert _alerts(eng, "zone_dose") == []


def test_the_dose_recovers_exponentially_while_the_zone_is_unloaded() -> None:
    cfg = AlarmConfig(dwell_limits_s={}, dose_limits_kpa_s={"erector_lumbar_left": 1000.0})
    eng = _engine(cfg)
    t, p = _hold(6.0, 100.0)  # 595 kPa*s
    rest = round(cfg.dose_recovery_s * math.log(2) * RATE)  # one half-life unloaded
    t2 = np.concatenate([t, t[-1] + (1 + np.arange(rest)) / RATE])
    p2 = np.concatenate([p, np.zeros((rest, 12, 12), dtype=np.float32)])
    eng.process(t2, p2)
    dose = eng.zone_dose_kpa_s()["erector_lumbar_left"]
    assert dose == pytest.approx(595.0 / 2, rel=2e-3)
    # a second 6 s load now stays under the limit; without the rest it would have exceeded
    t3, p3 = _hold(6.0, 100.0)
    eng.process(t3 + t2[-1] + 1 / RATE, p3)
    assert _alerts(eng, "zone_dose") == []


# ---------------------------------------------------------------- depth_stress
def test_a_broad_load_over_the_kidney_raises_depth_stress_at_80_mm_with_its_depth() -> None:
    cfg = AlarmConfig(dwell_limits_s={}, dose_limits_kpa_s={})
    eng = _engine(cfg)
    t, p = _hold(1.0, 0.0)
    p[:, 2:10, 3:9] = 35.0  # broad and under the 40 kPa kidney limit
    eng.process(t, p)
    assert _alerts(eng, "kidney_pressure") == []
    (a,) = _alerts(eng, "depth_stress")
    assert (a["zone"], a["depth_mm"], a["limit"], a["priority"]) == (
        "kidney_left",
        80.0,
        7.5,
        "high",
    )
    assert a["rule"] == "depth_stress:kidney_left@80mm"
    assert a["value_seen"] > 7.5


def test_the_same_force_on_a_small_patch_stays_under_the_depth_limit() -> None:
    eng = _engine(AlarmConfig(dwell_limits_s={}, dose_limits_kpa_s={}))
    t, p = _hold(1.0, 0.0)
    p[:, 2:10, 3:9] = 30.0
    eng.process(t, p)
    (a,) = _alerts(eng, "depth_stress")  # broad 30 kPa: over
    assert a["zone"] == "kidney_left"
    eng = _engine(AlarmConfig(dwell_limits_s={}, dose_limits_kpa_s={}))
    p[:] = 0.0
    p[:, 5:7, 5:7] = 30.0 * 48 / 4 / 4  # a quarter of that force on 2 x 2 sensels
    eng.process(t, p)
    assert _alerts(eng, "depth_stress") == []


def test_the_spine_is_judged_at_45_mm() -> None:
    eng = _engine(AlarmConfig(dwell_limits_s={}, dose_limits_kpa_s={}))
    assert dict(zip(eng.depth_zones, eng.depths_mm, strict=True)) == {
        "spine_lumbar": 45.0,
        "kidney_left": 80.0,
    }
    t, p = _hold(1.0, 0.0)
    p[:, 4:8, 0:4] = 58.0  # under the 60 kPa surface limit, broad over the midline
    eng.process(t, p)
    (a,) = _alerts(eng, "depth_stress")
    assert (a["zone"], a["depth_mm"]) == ("spine_lumbar", 45.0)


# ---------------------------------------------------------------- limits
def test_the_limits_file_sets_tissue_limits_with_config_as_their_source() -> None:
    cfg = parse_alarm_config(
        "dwell_load_n = 10\ndose_recovery_s = 60\n"
        "[dwell_s]\nerector_lumbar_left = 30\n[dose_kpa_s]\nkidney_left = 500\n"
        "[depth_kpa]\nkidney_left = 5\n"
    )
    assert cfg.dwell_limit("erector_lumbar_left") == 30.0
    assert cfg.dose_limit("kidney_left") == 500.0
    assert cfg.depth_limit("kidney_left") == 5.0
    assert (cfg.dwell_load_n, cfg.dose_recovery_s) == (10.0, 60.0)
    assert cfg.source_of("depth:kidney_left") == "config"
    assert cfg.source_of("dwell:erector_lumbar_left") == "config"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[dwell_s]\nspleen = 3\n", "dwell_s.spleen: unknown zone"),
        ("[depth_kpa]\nerector_lumbar_left = 3\n", "depth_kpa.erector_lumbar_left: no depth"),
        ("[dose_kpa_s]\nkidney_left = -1\n", "dose_kpa_s.kidney_left: must be a positive"),
        ("dose_kpa_s = 3\n", "dose_kpa_s: must be a table"),
    ],
)
def test_bad_tissue_limits_are_refused_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_alarm_config(text)


def test_a_screening_pressure_cap_tightens_dose_and_depth_limits_never_loosens() -> None:
    base = AlarmConfig()
    cfg = base.tightened(max_pressure_kpa=20.0)
    # kidney 40 -> 20 kPa: its dose and depth limits halve
    assert cfg.dose_limit("kidney_left") == pytest.approx(base.dose_limit("kidney_left") / 2)
    assert cfg.depth_limit("kidney_left") == pytest.approx(3.75)
    assert cfg.source_of("depth:kidney_left") == "screening"
    # popliteal 20 kPa is not lowered: its limits stay
    assert cfg.dose_limit("popliteal_left") == base.dose_limit("popliteal_left")
    assert cfg.source_of("dose:popliteal_left") == "default"
    loose = base.tightened(max_pressure_kpa=500.0)
    assert loose.depth_limits_kpa == base.depth_limits_kpa
    assert loose.dose_limits_kpa_s == base.dose_limits_kpa_s
