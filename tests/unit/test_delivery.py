"""Planned vs delivered per zone (domain/delivery.py): times in band, under, over; the score."""

from __future__ import annotations

import numpy as np
import pytest

from ashiguard.domain.delivery import (
    MAX_GAP_S,
    DeliveryAccumulator,
    delivery_score,
    measure_delivery,
    plan_bands,
    zone_pressures,
)
from ashiguard.domain.errors import InputError
from ashiguard.domain.live_messages import ZoneTarget
from ashiguard.domain.plan import make_plan, target_band
from ashiguard.domain.screening import parse_screening

ZONES = ("a", "b", "c")
RATE = 50.0
# a 6 x 6 grid: zone a in rows 0-1, zone b in rows 2-3, zone c (not planned) in rows 4-5
LABELS = np.repeat(np.array([0, 0, 1, 1, 2, 2], dtype=np.int16)[:, None], 6, axis=1)
BANDS = (
    ZoneTarget("a", 4, "whole_foot_glide", 25.0, 40.0),
    ZoneTarget("b", 3, "forefoot_glide", 15.0, 25.0),
)


def _frames(segments, rate=RATE):
    """Frames at ``rate`` Hz; each segment (seconds, kPa on a, kPa on b, kPa on c)."""
    times, frames = [], []
    t = 0.0
    for seconds, pa, pb, pc in segments:
        for _ in range(round(seconds * rate)):
            f = np.zeros((6, 6), np.float32)
            f[0:2], f[2:4], f[4:6] = pa, pb, pc
            frames.append(f)
            times.append(t)
            t += 1.0 / rate
    return np.array(times), np.stack(frames)


def _chunks(times, frames, n):
    for i in range(0, times.size, n):
        yield times[i : i + n], frames[i : i + n]


SEGMENTS = [(4, 30.0, 0, 0), (2, 50.0, 20.0, 0), (3, 10.0, 30.0, 5.0), (1, 0, 0, 0)]


def test_times_in_band_under_and_over_match_the_segments_to_one_frame():
    times, frames = _frames(SEGMENTS)
    d = measure_delivery(_chunks(times, frames, 64), LABELS, ZONES, BANDS)
    a, b, c = d.zones
    dt = 1.0 / RATE
    # the first frame weighs nothing (no previous frame): zone a loses one frame
    assert (a.zone, a.planned) == ("a", True)
    assert a.in_band_s == pytest.approx(4 - dt)
    assert a.over_s == pytest.approx(2)
    assert a.under_s == pytest.approx(3)
    assert a.loaded_s == pytest.approx(9 - dt)
    assert a.peak_kpa == pytest.approx(50.0)
    assert a.mean_kpa == pytest.approx((30 * (4 - dt) + 50 * 2 + 10 * 3) / (9 - dt))
    assert (b.in_band_s, b.over_s, b.under_s) == pytest.approx((2, 3, 0))
    assert b.peak_kpa == pytest.approx(30.0)
    # zone c is not to be worked: its loaded time is reported, without a band or score
    assert (c.zone, c.planned, c.score, c.low_kpa) == ("c", False, None, None)
    assert c.loaded_s == pytest.approx(3) and c.over_s == 0
    assert d.unplanned_s == pytest.approx(3)
    assert d.loaded_s == pytest.approx(a.loaded_s + b.loaded_s)
    assert d.score == pytest.approx(delivery_score(d.in_band_s, d.under_s, d.over_s))
    assert d.frames == times.size


@pytest.mark.parametrize("n", [1, 7, 100, 10_000])
def test_any_chunking_gives_the_same_table(n):
    times, frames = _frames(SEGMENTS)
    whole = measure_delivery([(times, frames)], LABELS, ZONES, BANDS).to_json()
    assert measure_delivery(_chunks(times, frames, n), LABELS, ZONES, BANDS).to_json() == whole


def test_a_zone_counts_as_loaded_only_with_four_sensels_in_contact_and_nan_is_no_reading():
    times, frames = _frames([(1, 0, 0, 0)])
    frames[:, 0, 0:3] = 30.0  # three sensels on zone a: not a foot
    frames[:, 2, :] = np.nan  # a row of zone b not reporting
    frames[:, 3, 0:4] = 20.0
    d = measure_delivery([(times, frames)], LABELS, ZONES, BANDS)
    a, b = d.zones
    assert a.loaded_s == 0 and a.score is None and a.peak_kpa is None
    assert b.in_band_s == pytest.approx(1 - 1 / RATE) and b.mean_kpa == pytest.approx(20.0)


def test_a_signal_gap_never_counts_as_delivered_time():
    t = np.array([0.0, 0.02, 5.0, 5.02])
    frames = np.zeros((4, 6, 6), np.float32)
    frames[:, 0:2] = 50.0
    d = measure_delivery([(t, frames)], LABELS, ZONES, BANDS)
    assert d.zones[0].over_s == pytest.approx(0.02 + MAX_GAP_S + 0.02)


def test_the_score_credits_band_time_and_penalises_over_four_times_as_much_as_under():
    assert delivery_score(10, 0, 0) == 100
    assert delivery_score(0, 10, 0) == 50
    assert delivery_score(0, 0, 10) == 0
    assert delivery_score(5, 0, 5) == 0  # each second over cancels a second in band
    assert delivery_score(6, 2, 2) == pytest.approx(100 * (6 + 1 - 2) / 10)
    assert delivery_score(8, 2, 0) > delivery_score(8, 0, 2)
    assert delivery_score(0, 0, 0) is None
    with pytest.raises(InputError, match="over_s"):
        delivery_score(1, 1, -1)


def test_bad_frames_and_times_are_refused_naming_what():
    acc = DeliveryAccumulator(LABELS, ZONES, BANDS)
    with pytest.raises(InputError, match="pressure"):
        acc.add([0.0], np.zeros((1, 5, 6)))
    acc.add([1.0], np.zeros((1, 6, 6)))
    with pytest.raises(InputError, match="decrease"):
        acc.add([0.5], np.zeros((1, 6, 6)))
    with pytest.raises(InputError, match="unknown zone"):
        DeliveryAccumulator(LABELS, ZONES, (ZoneTarget("x", 1, "none", 0, 8),))


def test_plan_bands_are_the_target_bands_of_the_zones_to_work():
    screening = parse_screening(
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
    plan = make_plan(screening, 62.0)
    bands = {b.zone: b for b in plan_bands(plan)}
    assert "spine_lumbar" not in bands and "kidney_left" not in bands
    z = plan.zone("erector_lumbar_left")
    assert (bands[z.zone].low_kpa, bands[z.zone].high_kpa) == target_band(z)


def test_zone_pressures_of_one_frame_are_the_loaded_zones_means():
    frame = np.zeros((6, 6))
    frame[0:2, 0:3] = 30.0
    frame[0:2, 3:6] = 1.0  # below contact: not part of the mean
    assert zone_pressures(frame, LABELS, ZONES) == {"a": pytest.approx(30.0)}
