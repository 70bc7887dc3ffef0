"""Live zeroing and calibration on the command line: ``record`` and ``monitor`` share the live
session's zeroing (issue 14)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from ashiguard.adapters.recording import RecordingWriter, open_recording
from ashiguard.adapters.sources import open_source
from ashiguard.services.live_session import LiveSession, hdf5_sink


def _stream(path, offsets, load_from_s=1.0, load_until_s=99.0, units="kPa", n=100):
    """``n`` frames at 50 Hz: the sensor's offsets alone, and a 60 (unit) load on four
    sensels from ``load_from_s`` to ``load_until_s``."""
    t = np.arange(n) * 0.02
    p = np.broadcast_to(offsets, (n, *offsets.shape)).copy()
    p[(t >= load_from_s) & (t < load_until_s), 2:4, 2:4] += 60.0
    with RecordingWriter(path, rows=6, cols=5, pitch_mm=10.0, placement="other", units=units) as w:
        w.append(t, p)
    return path


def _offsets():
    return np.random.default_rng(2).uniform(1, 9, (6, 5)).astype(np.float32)


def test_record_zeroes_on_the_first_seconds_and_the_recording_keeps_the_window_and_offsets(
    tmp_path, run_cli
):
    offsets = _offsets()
    src = _stream(tmp_path / "s.h5", offsets)
    out = tmp_path / "live.h5"
    done = run_cli(
        "record", "--source", f"replay:{src}", "--duration", "1.2",
        "--speed", "0", "-o", str(out), "--tare-first", "0.5",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "zeroed on 0.00-0.48 s (25 frames" in done.stdout
    with open_recording(out) as rec:
        s = rec.summary()
        times, frames = rec.read()
    assert s["tare"]["window_s"] == pytest.approx([0.0, 0.48]) and s["tare"]["frames"] == 25
    assert s["tare"]["offset_max"] == pytest.approx(float(offsets.max()), rel=1e-5)
    (ev,) = s["tare_events"]
    assert ev["status"] == "zeroed" and ev["who"] == "start"
    assert times[0] == 0.0  # the window is recorded too, zeroed
    np.testing.assert_allclose(frames[0], 0.0, atol=1e-5)
    np.testing.assert_allclose(frames[-1][2:4, 2:4], 60.0, atol=1e-4)
    info = run_cli("info", str(out))
    assert "zeroing     zeroed at 0.00 s by start on 0 to 0.48 s, 25 frames" in info.stdout


def test_record_refuses_a_loaded_window_in_one_line(tmp_path, run_cli):
    src = _stream(tmp_path / "s.h5", np.zeros((6, 5), np.float32), load_from_s=0.2)
    done = run_cli(
        "record", "--source", f"replay:{src}", "--duration", "1.5", "--speed", "0",
        "-o", str(tmp_path / "o.h5"), "--tare-first", "0.5",
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("ashiguard: error: --tare-first: sensel [2, 2] changes by 60")


def test_record_calibrates_raw_counts_into_kpa_and_refuses_a_calibration_for_kpa(tmp_path, run_cli):
    raw = _stream(tmp_path / "raw.h5", np.full((6, 5), 10.0, np.float32), units="raw")
    cal = tmp_path / "mat.json"
    cal.write_text(
        json.dumps({"schema": "ashiguard.calibration/1", "kpa_per_count": 0.5, "source": "lab"})
    )
    out = tmp_path / "cal.h5"
    done = run_cli(
        "record", "--source", f"replay:{raw}", "--duration", "1.5", "--speed", "0",
        "-o", str(out), "--tare-first", "0.5", "--calibration", str(cal),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with open_recording(out) as rec:
        s = rec.summary()
        _, frames = rec.read()
    assert s["units"] == "kPa" and s["calibration"]["kpa_per_count"] == 0.5
    assert s["calibration"]["file"] == "mat.json"
    assert s["tare"]["units"] == "kPa" and s["tare"]["offset_max"] == pytest.approx(5.0)
    np.testing.assert_allclose(frames[-1][2:4, 2:4], 30.0)  # 60 counts x 0.5 kPa
    kpa = _stream(tmp_path / "kpa.h5", np.zeros((6, 5), np.float32))
    done = run_cli(
        "record", "--source", f"replay:{kpa}", "--duration", "1", "--speed", "0",
        "-o", str(tmp_path / "x.h5"), "--calibration", str(cal),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "ashiguard: error: calibration: the sensor already gives kPa; a calibration turns "
        "raw counts into kPa"
    )


def test_monitor_zeroes_like_record_and_says_so_and_refuses_a_loaded_window(tmp_path, run_cli):
    offsets = _offsets()
    src = _stream(tmp_path / "s.h5", offsets)
    out = tmp_path / "m.h5"
    done = run_cli(
        "monitor", "--source", f"replay:{src}", "--speed", "0", "--tare-first", "0.5",
        "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "zeroed on 0.00-0.48 s (25 frames, largest offset" in done.stderr
    with open_recording(out) as rec:
        assert rec.summary()["tare"]["frames"] == 25
    loaded = _stream(tmp_path / "l.h5", offsets, load_from_s=0.1)
    done = run_cli("monitor", "--source", f"replay:{loaded}", "--speed", "0", "--tare-first", "0.5")
    assert done.returncode == 2
    assert re.match(
        r"ashiguard: error: --tare-first: sensel \[[23], [23]\] changes by 60 in the window",
        done.stderr.strip().splitlines()[-1],
    )


def test_zero_now_mid_session_is_refused_while_loaded_and_stored_with_the_offsets(tmp_path):
    offsets = _offsets()
    path = _stream(tmp_path / "s.h5", offsets, load_from_s=1.0, load_until_s=3.0, n=300)
    src = open_source(f"replay:{path}", speed=0)
    session = LiveSession(src, sink=hdf5_sink(tmp_path / "o.h5"), analyze=False, tare_first_s=0.5)
    frames = list(src.frames())
    session.begin()
    for i in range(0, 150, 10):
        session.feed(frames[i : i + 10])
    refused = session.request_tare("Tess", 0.5)  # 60 kPa on the sheet at 2.98 s
    assert refused is not None and "a sensel reads 60 kPa" in refused.reason
    assert session.status_message().tare["refused"]["who"] == "Tess"
    for i in range(150, 300, 10):
        session.feed(frames[i : i + 10])
        if i == 200:  # unloaded again
            assert session.request_tare("Tess", 0.5) is None
    outcome = session.finish()
    assert outcome.error is None
    assert [e["status"] for e in outcome.tare["events"]] == ["zeroed", "refused", "zeroed"]
    with open_recording(tmp_path / "o.h5") as rec:
        s = rec.summary()
    assert [e["who"] for e in s["tare_events"]] == ["start", "Tess", "Tess"]
    assert s["tare"]["window_s"] == pytest.approx([4.2, 4.68])  # the latest zeroing


def test_a_clinic_session_goes_on_not_zeroed_with_an_alarm_that_a_later_zeroing_clears(tmp_path):
    offsets = _offsets()
    path = _stream(tmp_path / "s.h5", offsets, load_from_s=0.1, load_until_s=1.0, n=200)
    src = open_source(f"replay:{path}", speed=0)
    notices = []
    session = LiveSession(
        src,
        analyze=False,
        tare_first_s=0.5,
        tare_refused="alarm",
        tare_label="zeroing",
        on_notice=notices.append,
    )
    frames = list(src.frames())
    session.begin()
    for i in range(0, 100, 10):
        session.feed(frames[i : i + 10])
    (raised,) = [n for n in notices if n.rule == "tare:refused"]
    assert raised.action == "raised" and raised.priority == "low"
    assert session.tare_state()["state"] == "not_zeroed"
    assert any(a.rule == "tare:refused" for a in session.monitor.active_alarms())
    assert session.request_tare("Tess", 0.5) is None  # unloaded again from 1.0 s
    for i in range(100, 200, 10):
        session.feed(frames[i : i + 10])
    assert session.tare_state()["state"] == "zeroed"
    assert [n.action for n in notices if n.rule == "tare:refused"] == ["raised", "cleared"]
    assert not any(a.rule == "tare:refused" for a in session.monitor.active_alarms())
    assert session.finish().error is None
