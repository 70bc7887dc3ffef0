"""Zeroing (tare) and calibration files (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

from ashiguard.domain.errors import InputError
from ashiguard.domain.zeroing import (
    LiveTare,
    apply_tare,
    parse_calibration,
    parse_tare_window,
    tare_from_frames,
)


def test_a_tare_window_is_start_colon_end_in_seconds():
    assert parse_tare_window("0.5:2") == (0.5, 2.0)
    for bad in ("2:1", "1", "a:b", "-1:2", "0:inf"):
        with pytest.raises(InputError, match="--tare-window"):
            parse_tare_window(bad)


def test_the_tare_is_each_sensels_mean_over_the_window_and_is_subtracted_with_clipping():
    rng = np.random.default_rng(3)
    offsets = rng.uniform(5, 20, (4, 5)).astype(np.float32)
    t = np.arange(100) * 0.01
    p = np.broadcast_to(offsets, (100, 4, 5)).copy()
    p[50:] += 60.0  # load after 0.5 s
    p[:, 0, 0] = np.nan  # no sensel there
    tare = tare_from_frames(t, p, (0.0, 0.4))
    np.testing.assert_allclose(tare.offsets[1:, 1:], offsets[1:, 1:], rtol=1e-6)
    assert tare.frames == 41 and tare.window_s == (0.0, 0.4)
    out = apply_tare(p, tare.offsets)
    np.testing.assert_allclose(out[60, 1:, 1:], 60.0, rtol=1e-5)
    assert np.isnan(out[:, 0, 0]).all()
    assert (apply_tare(p - 1.0, tare.offsets)[:40][np.isfinite(p[:40])] == 0).all()


def test_a_loaded_or_empty_tare_window_is_refused_naming_the_sensel():
    t = np.arange(10) * 0.1
    p = np.zeros((10, 3, 3), dtype=np.float32)
    p[5:, 1, 2] = 50.0
    with pytest.raises(InputError, match=r"sensel \[1, 2\] changes by 50"):
        tare_from_frames(t, p, (0.0, 1.0))
    with pytest.raises(InputError, match="no frame between 5 and 6 s"):
        tare_from_frames(t, p, (5.0, 6.0))


def test_a_still_load_in_the_tare_window_is_refused_unless_the_units_are_raw_counts():
    t = np.arange(10) * 0.1
    p = np.full((10, 2, 2), 5.0, dtype=np.float32)
    p[:, 1, 0] = 124.0  # a foot standing still: steady, but far more than an offset
    with pytest.raises(InputError, match=r"sensel \[1, 0\] reads 124 kPa in the window"):
        tare_from_frames(t, p, (0.0, 1.0))
    raw = tare_from_frames(t, p, (0.0, 1.0), max_offset=None)  # counts: no scale to judge
    assert raw.offsets[1, 0] == 124.0


def test_a_live_tare_uses_the_first_seconds_of_the_stream():
    live = LiveTare(0.5)
    frame = np.full((2, 2), 7.0, dtype=np.float32)
    results = [live.add(0.1 * k, frame) for k in range(7)]
    assert results[:5] == [None] * 5
    assert results[5] is not None
    np.testing.assert_array_equal(results[5].offsets, frame)
    assert results[5].window_s == (0.0, 0.4)


def test_a_global_json_calibration_spreads_one_factor_over_the_grid():
    cal = parse_calibration(
        '{"schema": "ashiguard.calibration/1", "kpa_per_count": 0.25, "source": "lab 2026"}',
        "cal.json",
        2,
        3,
    )
    assert cal.is_global
    np.testing.assert_array_equal(cal.apply(np.full((2, 3), 8.0, dtype=np.float32)), 2.0)
    assert cal.to_json() == {
        "schema": "ashiguard.calibration/1",
        "kpa_per_count": 0.25,
        "source": "lab 2026",
    }


def test_a_per_sensel_csv_calibration_with_a_default_line():
    cal = parse_calibration("row,col,kpa_per_count\n*,*,0.5\n1,2,0.75\n", "cal.csv", 2, 3)
    assert not cal.is_global
    assert cal.kpa_per_count[1, 2] == 0.75 and cal.kpa_per_count[0, 0] == 0.5


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"schema": "x", "kpa_per_count": 1}', "schema: must be"),
        ('{"schema": "ashiguard.calibration/1"}', "kpa_per_count: missing"),
        ('{"schema": "ashiguard.calibration/1", "kpa_per_count": -1}', "must be a number > 0"),
        ('{"schema": "ashiguard.calibration/1", "kpa_per_count": [[1]]}', "2 rows of 3"),
        ('{"schema": "ashiguard.calibration/1", "kpa_per_count": 1, "x": 2}', "x: unknown"),
        ("row,col,kpa_per_count\n0,0,1\n", r"sensel \[0, 1\] has no factor"),
        ("row,col,kpa_per_count\n5,0,1\n", r"line 2: sensel \[5, 0\] is outside"),
        ("row,col,kpa_per_count\n0,0,abc\n", "line 2: 'abc' is not a number"),
        ("r,c,f\n", "line 1: header must be"),
    ],
)
def test_a_bad_calibration_file_is_refused_in_one_line_naming_the_field(text, said):
    with pytest.raises(InputError, match=said):
        parse_calibration(text, "cal", 2, 3)
