"""The alarm engine: each condition on both sides of its limit, delay, hysteresis, latching."""

from __future__ import annotations

import numpy as np
import pytest

from ashiguard.domain.alarms import (
    AlarmConfig,
    AlarmEngine,
    SensorLayout,
    parse_alarm_config,
)
from ashiguard.domain.errors import InputError

ZONES3 = ("spine_lumbar", "kidney_left", "erector_lumbar_left")
RATE = 100.0  # Hz


def _layout() -> SensorLayout:
    """A 6 x 12 grid: columns 0-3 spine_lumbar, 4-7 kidney_left, 8-11 erector_lumbar_left."""
    labels = np.zeros((6, 12), dtype=np.int16)
    labels[:, 4:8] = 1
    labels[:, 8:] = 2
    x = (np.arange(12) - 5.5) * 10.0
    return SensorLayout(6, 12, 10.0, labels, ZONES3, x, "on_client")


def _frames(seconds: float, t0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    n = round(seconds * RATE)
    t = t0 + np.arange(n) / RATE
    p = np.zeros((n, 6, 12), dtype=np.float32)
    p[:, 2:4, 9:11] = 20.0  # a steady light touch on the erector (keeps the data "loaded")
    p += (np.arange(n) % 3)[:, None, None].astype(np.float32) * 0.5  # never identical frames
    return t, p


def _engine(cfg: AlarmConfig | None = None, **kw: object) -> AlarmEngine:
    return AlarmEngine(_layout(), cfg or AlarmConfig(), 70.0, **kw)  # type: ignore[arg-type]


def _kinds(eng: AlarmEngine) -> list[tuple[str, str | None]]:
    return [(a.kind, a.zone) for a in eng.finish()]


def test_spine_pressure_over_the_limit_raises_a_high_alarm_naming_zone_value_and_limit() -> None:
    t, p = _frames(1.0)
    p[20:60, 1:3, 1:3] = 90.0
    eng = _engine()
    eng.process(t, p)
    (alert,) = [a for a in eng.finish() if a.kind == "spine_pressure"]
    assert (alert.zone, alert.priority, alert.unit) == ("spine_lumbar", "high", "kPa")
    assert alert.limit == 60.0
    assert alert.peak == pytest.approx(90.0 + 0.5 * 2, abs=1.01)
    assert alert.t_start == pytest.approx(0.20)
    assert alert.rule == "spine_pressure:spine_lumbar"


def test_spine_pressure_just_under_the_limit_raises_nothing() -> None:
    t, p = _frames(1.0)
    p[20:60, 1:3, 1:3] = 58.0
    eng = _engine()
    eng.process(t, p)
    assert ("spine_pressure", "spine_lumbar") not in _kinds(eng)


def test_one_hot_sensel_is_not_a_zone_peak_but_a_hot_neighbourhood_is() -> None:
    t, p = _frames(1.0)
    p[:, 3, 5] = 150.0  # one sensel: 2x2 mean at most 150/4 + noise < 40
    eng = _engine()
    eng.process(t, p)
    assert ("kidney_pressure", "kidney_left") not in _kinds(eng)
    p[:, 3:5, 5:7] = 45.0
    eng = _engine()
    eng.process(t, p)
    assert ("kidney_pressure", "kidney_left") in _kinds(eng)


def test_other_zone_over_its_limit_is_zone_pressure_of_medium_priority() -> None:
    t, p = _frames(1.0)
    p[10:80, 0:2, 9:11] = 170.0
    eng = _engine()
    eng.process(t, p)
    (alert,) = [a for a in eng.finish() if a.kind == "zone_pressure"]
    assert (alert.zone, alert.priority, alert.limit) == ("erector_lumbar_left", "medium", 150.0)


def test_a_50_ms_blip_raises_nothing_and_150_ms_raises_an_alarm() -> None:
    for n_frames, expected in ((5, False), (15, True)):
        t, p = _frames(1.0)
        p[30 : 30 + n_frames, 1:3, 1:3] = 100.0
        eng = _engine()
        eng.process(t, p)
        assert (("spine_pressure", "spine_lumbar") in _kinds(eng)) is expected


def test_noise_around_the_limit_does_not_chatter() -> None:
    t, p = _frames(3.0)
    wobble = 60.0 + 3.0 * np.sin(np.arange(t.size) * 1.3)  # 57..63 kPa around 60
    p[:, 1:3, 1:3] = wobble[:, None, None].astype(np.float32)
    eng = _engine()
    eng.process(t, p)
    spine = [a for a in eng.finish() if a.kind == "spine_pressure"]
    assert len(spine) == 1


def test_restricted_zone_contact_alarms_only_when_the_screening_avoids_it() -> None:
    t, p = _frames(1.0)
    p[20:80, 1:3, 5:7] = 15.0  # light kidney contact, under the kidney limit
    eng = _engine()
    eng.process(t, p)
    assert "restricted_zone" not in [k for k, _ in _kinds(eng)]
    eng = _engine(AlarmConfig().tightened(avoid_zones={"kidney_left"}))
    eng.process(t, p)
    (alert,) = [a for a in eng.finish() if a.kind == "restricted_zone"]
    assert (alert.zone, alert.priority, alert.source) == ("kidney_left", "high", "screening")


def test_screening_max_pressure_tightens_zone_limits_but_never_loosens_them() -> None:
    cfg = AlarmConfig().tightened(max_pressure_kpa=100.0, max_load_fraction=0.9)
    assert cfg.zone_limit("erector_lumbar_left") == 100.0
    assert cfg.zone_limit("spine_lumbar") == 60.0
    assert cfg.max_load_fraction == 0.6
    assert cfg.source_of("erector_lumbar_left") == "screening"


def _load_engine(cfg: AlarmConfig | None = None) -> AlarmEngine:
    return _engine(cfg, load_source="mat")


def test_load_over_the_allowed_share_of_the_therapists_weight_is_unsupported_weight() -> None:
    # 70 kg therapist: 686.5 N; 0.6 share = 411.9 N. Sensel area 100 mm^2: 1 kPa -> 0.1 N.
    t, p = _frames(4.0)
    ramp = np.clip((np.arange(t.size) - 20) * 20.0, 0, 4400.0)  # slow: 40 N/s
    p[:] = 0.0
    p[:, 0:4, 8:12] = (ramp / 16)[:, None, None].astype(np.float32)  # total = ramp * 0.1 N
    eng = _load_engine()
    eng.process(t, p)
    alerts = [a for a in eng.finish() if a.kind == "unsupported_weight"]
    assert len(alerts) == 1 and alerts[0].unit == "N"
    assert alerts[0].peak == pytest.approx(440.0, rel=1e-3)
    assert alerts[0].limit == pytest.approx(0.6 * 70 * 9.80665)
    eng = _load_engine(AlarmConfig(max_load_fraction=0.7))
    eng.process(t, p)
    assert "unsupported_weight" not in [k for k, _ in _kinds(eng)]


def test_load_changing_faster_than_allowed_is_a_sudden_shift_and_a_slow_change_is_not() -> None:
    for rise_s, expected in ((0.1, True), (2.0, False)):
        t, p = _frames(4.0)
        load = np.clip((t - 1.0) / rise_s, 0, 1) * 300.0  # N
        p[:] = 0.0
        p[:, 0:4, 8:12] = (load / 16 / 0.1)[:, None, None].astype(np.float32)
        eng = _load_engine()
        eng.process(t, p)
        assert ("sudden_shift" in [k for k, _ in _kinds(eng)]) is expected


def test_left_right_imbalance_is_uneven_load_and_a_balanced_load_is_not() -> None:
    t, p = _frames(2.0)
    p[:] = 0.0
    p[:, 0:3, 0:3] = 100.0  # right half (x < 0)
    p[:, 0:3, 9:12] = 95.0  # left half
    eng = _engine(symmetry_source="mat")
    eng.process(t, p)
    assert "uneven_load" not in [k for k, _ in _kinds(eng)]
    p[:, 0:3, 9:12] = 20.0
    eng = _engine(symmetry_source="mat")
    eng.process(t, p)
    assert "uneven_load" in [k for k, _ in _kinds(eng)]


def test_a_frame_gap_over_200_ms_is_a_sensor_fault_and_150_ms_is_not() -> None:
    for gap, expected in ((0.15, False), (0.35, True)):
        t, p = _frames(1.0)
        t[50:] += gap
        eng = _engine()
        eng.process(t, p)
        rules = [a.rule for a in eng.finish()]
        assert ("sensor_fault:frame_gap" in rules) is expected


def test_time_going_backwards_is_a_sensor_fault_and_the_frame_is_dropped() -> None:
    t, p = _frames(1.0)
    t[40] = t[39] - 0.05
    eng = _engine()
    eng.process(t, p)
    assert "sensor_fault:time_backwards" in [a.rule for a in eng.finish()]


@pytest.mark.parametrize(
    ("damage", "rule"),
    [
        ("nan", "sensor_fault:nan"),
        ("negative", "sensor_fault:negative"),
        ("saturated", "sensor_fault:saturated"),
        ("stale", "sensor_fault:stale"),
        ("dead", "sensor_fault:dead_sensel"),
    ],
)
def test_bad_data_is_a_sensor_fault_and_the_state_is_unknown_never_ok(
    damage: str, rule: str
) -> None:
    t, p = _frames(4.0)
    if damage == "nan":
        p[100:, 5, 0] = np.nan  # a sensel that reported, then stopped
    elif damage == "negative":
        p[:, 5, 0] = -5.0
    elif damage == "saturated":
        p[:, 2:4, 9:11] = 100.0  # the sensor's top reading (below the erector's limit)
    elif damage == "stale":
        p[:, 0:6, 8:12] = 30.0  # 72 N: loaded
        p[:] = p[0]
    elif damage == "dead":
        p[:, 1:5, 1:4] = 50.0
        p[:, 2, 2] = 0.0
    eng = _engine(AlarmConfig(saturation_kpa=100.0))
    states = []
    for i in range(0, t.size, 25):
        eng.process(t[i : i + 25], p[i : i + 25])
        states.append(eng.state())
    assert "ok" not in states[-4:]
    assert states[-1] == "unknown"
    assert rule in [a.rule for a in eng.finish()]


def test_a_brief_imbalance_is_not_uneven_load() -> None:
    t, p = _frames(2.0)
    p[:] = 0.0
    p[:, 0:3, 0:3] = 100.0
    p[:, 0:3, 9:12] = 95.0
    p[50:140, 0:3, 9:12] = 0.0  # 0.9 s on one foot: stepping, under the 1 s delay
    eng = _engine(symmetry_source="mat")
    eng.process(t, p)
    assert "uneven_load" not in [k for k, _ in _kinds(eng)]


def test_sensels_that_never_report_are_outside_the_outline_not_a_fault() -> None:
    t, p = _frames(1.0)
    p[:, 0, 0] = np.nan
    eng = _engine()
    eng.process(t, p)
    assert eng.state() == "ok" and eng.never_reported == 1
    assert "sensor_fault" not in [k for k, _ in _kinds(eng)]


def test_clean_data_gives_ok_and_no_data_gives_unknown() -> None:
    eng = _engine()
    assert eng.state() == "unknown"
    t, p = _frames(1.0)
    eng.process(t, p)
    assert eng.state() == "ok"
    assert eng.note_silence(float(t[-1]) + 0.5) is True
    assert eng.state() == "unknown"


def test_high_priority_alarms_latch_until_acknowledged() -> None:
    t, p = _frames(2.0)
    p[20:60, 1:3, 1:3] = 100.0
    eng = _engine()
    eng.process(t[:40], p[:40])
    raised = [e for e in eng.events if e.action == "raised"]
    assert len(raised) == 1 and eng.state() == "alarm"
    eng.process(t[40:], p[40:])
    (alarm,) = eng.active.values()
    assert alarm.condition_present is False  # the condition ended, the alarm stays latched
    assert eng.state() == "alarm"
    assert eng.acknowledge(alarm.alarm_id) is True
    assert eng.active == {} and eng.state() == "ok"
    assert eng.acknowledge(alarm.alarm_id) is False


def test_medium_priority_alarms_do_not_latch() -> None:
    t, p = _frames(2.0)
    p[10:80, 0:2, 9:11] = 170.0
    eng = _engine()
    eng.process(t, p)
    assert eng.active == {}
    assert [e.action for e in eng.events] == ["raised", "cleared"]


def test_limits_file_overrides_defaults_and_names_bad_keys_and_values() -> None:
    cfg = parse_alarm_config("max_load_fraction = 0.4\n[zones]\nspine_lumbar = 50\n")
    assert cfg.zone_limit("spine_lumbar") == 50.0 and cfg.max_load_fraction == 0.4
    assert cfg.source_of("spine_lumbar") == "config"
    with pytest.raises(InputError, match=r"zones\.spleen: unknown zone"):
        parse_alarm_config("[zones]\nspleen = 10\n")
    with pytest.raises(InputError, match=r"zones\.spine_lumbar: must be a positive"):
        parse_alarm_config("[zones]\nspine_lumbar = -1\n")
    with pytest.raises(InputError, match=r"zones\.sacrum: must be a number"):
        parse_alarm_config('[zones]\nsacrum = "high"\n')
    with pytest.raises(InputError, match=r"colour: unknown setting"):
        parse_alarm_config('colour = "red"\n')
    with pytest.raises(InputError, match=r"max_load_fraction: must be at most 1"):
        parse_alarm_config("max_load_fraction = 1.5\n")
    with pytest.raises(InputError, match=r"limits file: not valid TOML"):
        parse_alarm_config("[zones\n")
    with pytest.raises(InputError, match=r"avoid_zones: unknown zone 'liver'"):
        parse_alarm_config('avoid_zones = ["liver"]\n')


def test_a_therapist_without_mass_is_refused() -> None:
    with pytest.raises(InputError, match="therapist_mass_kg"):
        AlarmEngine(_layout(), AlarmConfig(), 0.0)
