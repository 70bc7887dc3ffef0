"""Law: the alerts of a recording do not depend on how its frames are chunked."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ashiguard.domain.alarms import AlarmConfig, AlarmEngine, SensorLayout

ZONES3 = ("spine_lumbar", "kidney_left", "erector_lumbar_left")


def _layout() -> SensorLayout:
    labels = np.zeros((6, 12), dtype=np.int16)
    labels[:, 4:8] = 1
    labels[:, 8:] = 2
    labels[0, :] = -1
    return SensorLayout(6, 12, 10.0, labels, ZONES3, (np.arange(12) - 5.5) * 10.0)


press = st.tuples(
    st.integers(0, 280),  # start frame
    st.integers(1, 60),  # length, frames
    st.integers(0, 5),  # row
    st.integers(0, 11),  # col
    st.integers(1, 3),  # size
    st.sampled_from([0, 15, 45, 62, 120, 170, 600, 1200]),  # kPa (integers: exact sums)
)


@st.composite
def recordings(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = 300
    t = np.arange(n) / 100.0
    gaps = draw(st.lists(st.integers(1, n - 1), max_size=2))
    for g in gaps:
        t[g:] += draw(st.sampled_from([0.1, 0.25, 0.5]))
    if draw(st.booleans()):
        b = draw(st.integers(1, n - 1))
        t[b] = t[b - 1] - 0.01  # time going backwards once
    p = np.zeros((n, 6, 12), dtype=np.float32)
    for s, ln, r, c, size, kpa in draw(st.lists(press, max_size=8)):
        p[s : s + ln, r : r + size, c : c + size] = kpa
    if draw(st.booleans()):
        a = draw(st.integers(0, n - 1))
        p[a : a + draw(st.integers(1, 40)), 3, 3] = np.nan
    if draw(st.booleans()):
        a = draw(st.integers(0, n - 1))
        p[a : a + draw(st.integers(1, 40)), 2, 2] = -4.0
    return t, p


# dwell_time, zone_dose and depth_stress with limits a 3 s recording reaches
TISSUE = AlarmConfig(
    saturation_kpa=1000.0,
    stale_s=0.5,
    dwell_limits_s=dict.fromkeys(ZONES3, 0.4),
    dwell_load_n=2.0,
    dose_limits_kpa_s=dict.fromkeys(ZONES3, 40.0),
    dose_recovery_s=0.5,
    depth_limits_kpa={"spine_lumbar": 4.0, "kidney_left": 2.0},
)


def _alerts(
    t: np.ndarray, p: np.ndarray, chunk: int, exact_all: bool, cfg: AlarmConfig | None = None
) -> list[dict[str, object]]:
    cfg = (cfg or AlarmConfig(saturation_kpa=1000.0, stale_s=0.5)).tightened(
        avoid_zones={"kidney_left"}
    )
    eng = AlarmEngine(_layout(), cfg, 60.0, load_source="mat", symmetry_source="mat")
    for i in range(0, t.size, chunk):
        eng.process(t[i : i + chunk], p[i : i + chunk], exact_all=exact_all)
    return [a.to_json() for a in eng.finish()]


@pytest.mark.slow
@settings(max_examples=20, deadline=None)
@given(recordings())
def test_alerts_do_not_depend_on_chunking(rec: tuple[np.ndarray, np.ndarray]) -> None:
    t, p = rec
    whole = _alerts(t, p, t.size, exact_all=False)
    for chunk in (1, 7, 100):
        assert _alerts(t, p, chunk, exact_all=False) == whole
    assert _alerts(t, p, 13, exact_all=True) == whole


@pytest.mark.slow
@settings(max_examples=20, deadline=None)
@given(recordings())
def test_dwell_dose_and_depth_alerts_do_not_depend_on_chunking(
    rec: tuple[np.ndarray, np.ndarray],
) -> None:
    t, p = rec
    whole = _alerts(t, p, t.size, exact_all=False, cfg=TISSUE)
    for chunk in (1, 7, 100):
        assert _alerts(t, p, chunk, exact_all=False, cfg=TISSUE) == whole
    assert _alerts(t, p, 13, exact_all=True, cfg=TISSUE) == whole


def test_the_tissue_limits_of_the_chunking_law_are_reached() -> None:
    t = np.arange(300) / 100.0
    p = np.zeros((300, 6, 12), dtype=np.float32)
    p[20:250, 2:5, 4:7] = 45.0
    p[30:200, 1:4, 1:3] = 62.0
    kinds = {a["kind"] for a in _alerts(t, p, 300, exact_all=False, cfg=TISSUE)}
    assert {"dwell_time", "zone_dose", "depth_stress"} <= kinds
