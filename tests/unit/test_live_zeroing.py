"""Zeroing and calibration of a live stream: at its start and on request (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

from ashiguard.adapters.sources import open_source
from ashiguard.domain.errors import InputError
from ashiguard.domain.zeroing import LiveZeroing, parse_calibration

RATE = 50.0


def _feed(z, frames, t0=0.0):
    """Every frame through ``z``; (times handed on, pressures handed on, events)."""
    times, out, events = [], [], []
    for i, p in enumerate(frames):
        got, ev = z.take(t0 + i / RATE, p)
        for t, q in got:
            times.append(t)
            out.append(q)
        if ev is not None:
            events.append(ev)
    return times, out, events


def _offsets(seed=2, shape=(6, 5)):
    return np.random.default_rng(seed).uniform(1, 9, shape).astype(np.float32)


def test_the_first_window_is_held_back_then_handed_on_tared_with_every_frame_after_it():
    off = _offsets()
    frames = [off.copy() for _ in range(40)]
    frames[-1] = off + 50.0  # a load after the window
    z = LiveZeroing(6, 5, sensel_area_m2=1e-4, first_s=0.5)
    assert z.state()["state"] == "zeroing" and z.holding
    times, out, events = _feed(z, frames)
    assert times == pytest.approx([i / RATE for i in range(40)])  # none lost, in order
    np.testing.assert_allclose(out[0], 0.0, atol=1e-5)
    np.testing.assert_allclose(out[-1], 50.0, atol=1e-4)
    (ev,) = events
    assert ev.status == "zeroed" and ev.who == "start" and ev.frames == 25
    assert ev.window_s == pytest.approx((0.0, 0.48))
    assert ev.offset_max == pytest.approx(float(off.max()), abs=1e-3)
    state = z.state()
    assert state["state"] == "zeroed" and state["zeroed"]["frames"] == 25


def test_a_first_window_with_load_is_refused_and_its_frames_go_on_as_they_came():
    off = _offsets()
    frames = [off.copy() for _ in range(40)]
    for p in frames[10:]:
        p[2, 2] += 60.0
    z = LiveZeroing(6, 5, first_s=0.5, what="zeroing")
    times, out, events = _feed(z, frames)
    assert len(times) == 40
    np.testing.assert_allclose(out[0], off)  # nothing subtracted: the load stays visible
    assert out[20][2, 2] == pytest.approx(off[2, 2] + 60.0)
    (ev,) = events
    assert ev.status == "refused"
    assert ev.reason.startswith("zeroing: sensel [2, 2] changes by 60")
    assert "take all load off the sheet" in ev.reason
    assert z.state()["state"] == "not_zeroed" and z.state()["refused"]["reason"] == ev.reason


def test_zero_now_is_refused_at_once_while_a_sensel_is_loaded_and_changes_nothing():
    off = _offsets()
    z = LiveZeroing(6, 5, sensel_area_m2=1e-4, first_s=0.2)
    _feed(z, [off.copy() for _ in range(20)])
    before = z.offsets.copy()
    loaded = off.copy()
    loaded[3, 3] += 80.0
    z.take(1.0, loaded)
    ev = z.request(1.0, "Tess")
    assert ev is not None and ev.status == "refused" and ev.who == "Tess"
    assert ev.reason.startswith("the sheet is loaded now (a sensel reads 80 kPa)")
    assert "would hide that pressure" in ev.reason
    assert not z.zeroing and np.array_equal(z.offsets, before)


def test_a_body_spread_thin_over_the_sheet_counts_as_load_by_its_total_force():
    # a client lying on an under-client mat: 10 kPa everywhere, no sensel near 20 kPa
    body = np.full((20, 20), 10.0, dtype=np.float32)
    z = LiveZeroing(20, 20, sensel_area_m2=(15e-3) ** 2)
    z.take(0.0, body)
    ev = z.request(1.0, "Tess")
    assert ev is not None and "it carries 900 N" in ev.reason
    z = LiveZeroing(20, 20, sensel_area_m2=(15e-3) ** 2, first_s=0.2)
    _, out, events = _feed(z, [body.copy() for _ in range(15)])
    assert events[0].status == "refused" and "carried 900 N in the window" in events[0].reason
    np.testing.assert_allclose(out[-1], 10.0)


def test_zero_now_on_an_unloaded_sheet_measures_new_offsets_while_frames_go_on():
    off = _offsets()
    z = LiveZeroing(6, 5, sensel_area_m2=1e-4)
    assert z.state()["state"] == "not_zeroed"
    _feed(z, [off.copy() for _ in range(5)])
    assert z.request(0.5, "Tess") is None
    assert z.state()["state"] == "zeroing" and z.request(0.5, "Tess").status == "refused"
    times, out, events = _feed(z, [off.copy() for _ in range(30)], t0=1.0)
    assert len(times) == 30  # nothing held back mid-session
    np.testing.assert_allclose(out[0], off)  # the old (no) offsets until the window ends
    np.testing.assert_allclose(out[-1], 0.0, atol=1e-5)
    (ev,) = events
    assert ev.status == "zeroed" and ev.who == "Tess" and ev.frames == 25
    assert [e.status for e in z.events] == ["refused", "zeroed"]
    assert z.state()["refused"] is None  # the later zeroing is what counts


def test_a_calibration_turns_counts_into_kpa_before_the_tare_and_must_fit_the_grid():
    cal = parse_calibration(
        '{"schema": "ashiguard.calibration/1", "kpa_per_count": 0.5}', "c", 6, 5
    )
    counts = np.full((6, 5), 8.0, dtype=np.float32)
    z = LiveZeroing(6, 5, units="raw", calibration=cal, sensel_area_m2=1e-4, first_s=0.2)
    _, out, events = _feed(z, [counts.copy() for _ in range(10)] + [counts + 40.0])
    assert z.units == "kPa" and events[0].offset_max == pytest.approx(4.0)
    np.testing.assert_allclose(out[-1], 20.0)
    with pytest.raises(
        InputError, match=r"calibration: made for a 6 x 5 grid, the sensor is 4 x 5"
    ):
        LiveZeroing(4, 5, units="raw", calibration=cal)
    with pytest.raises(InputError, match="calibration: the sensor already gives kPa"):
        LiveZeroing(6, 5, units="kPa", calibration=cal)


def test_a_stream_that_ends_inside_the_first_window_hands_its_frames_on_not_zeroed():
    off = _offsets()
    z = LiveZeroing(6, 5, first_s=2.0, what="--tare-first")
    _feed(z, [off.copy() for _ in range(10)])
    out = z.release()
    assert len(out) == 10 and np.allclose(out[0][1], off)
    assert z.events[-1].reason == "--tare-first: the stream ended before 2 s"


def test_the_simulator_can_start_unloaded_and_add_a_constant_sensel_offset():
    src = open_source("sim:baseline", speed=0, duration_s=3, unloaded_s=1.0, offset_kpa=3.0)
    frames = list(src.frames())
    first = frames[0].pressure
    assert float(np.nanmax(first)) == pytest.approx(3.0, rel=0.15)
    offset = first > 0
    assert 0 < int(offset.sum()) < first.size // 20  # a few sensels, not the sheet
    unloaded = np.stack([f.pressure for f in frames[:100]])
    assert (unloaded[:, ~offset] == 0).all()  # nothing else on the sheet
    mean = unloaded.mean(axis=0)
    np.testing.assert_allclose(
        unloaded[:, offset], np.broadcast_to(mean[offset], (100, int(offset.sum()))), rtol=0.15
    )
    assert not np.array_equal(unloaded[0], unloaded[1])  # noisy, not a frozen stream
    assert frames[100].t == pytest.approx(1.0) and frames[100].counter == 100
    assert float(np.nanmax(frames[-1].pressure)) > 20.0  # the session after it
    assert src.info.extra["sim_offset_kpa"] == 3.0
