"""Live zeroing on the first seconds of a stream (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

from ashiguard.adapters.recording import RecordingWriter, open_recording
from ashiguard.adapters.sources import open_source
from ashiguard.adapters.sources.tare import TaredSource
from ashiguard.domain.errors import InputError


def _stream(path, offsets, load_from_s=1.0):
    """2 s at 50 Hz: the sensor's offsets alone, then a 60 kPa load from ``load_from_s``."""
    t = np.arange(100) * 0.02
    p = np.broadcast_to(offsets, (100, *offsets.shape)).copy()
    p[t >= load_from_s, 2:4, 2:4] += 60.0
    with RecordingWriter(path, rows=6, cols=5, pitch_mm=10.0, placement="other") as w:
        w.append(t, p)
    return path


def test_a_live_stream_is_zeroed_on_its_first_seconds_and_the_recording_keeps_the_tare(
    tmp_path, run_cli
):
    offsets = np.random.default_rng(2).uniform(1, 9, (6, 5)).astype(np.float32)
    src = TaredSource(open_source(f"replay:{_stream(tmp_path / 's.h5', offsets)}", speed=0), 0.5)
    frames = list(src.frames())
    src.close()
    assert frames[0].t == pytest.approx(0.5)
    np.testing.assert_allclose(frames[0].pressure, 0.0, atol=1e-5)
    np.testing.assert_allclose(frames[-1].pressure[2:4, 2:4], 60.0, atol=1e-4)
    assert src.info.extra["tare_window_s"] == pytest.approx([0.0, 0.48])
    out = tmp_path / "live.h5"
    done = run_cli(
        "record", "--source", f"replay:{tmp_path / 's.h5'}", "--duration", "1.2",
        "--speed", "0", "-o", str(out), "--tare-first", "0.5",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with open_recording(out) as rec:
        tare = rec.summary()["tare"]
    assert tare["window_s"] == pytest.approx([0.0, 0.48]) and tare["frames"] == 25
    assert tare["offset_max"] == pytest.approx(float(offsets.max()), rel=1e-5)


def test_a_live_tare_with_load_in_its_window_is_refused(tmp_path):
    offsets = np.zeros((6, 5), dtype=np.float32)
    source = open_source(f"replay:{_stream(tmp_path / 's.h5', offsets, 0.2)}", speed=0)
    with pytest.raises(InputError, match=r"--tare-first: sensel \[2, 2\] changes by 60"):
        TaredSource(source, 0.5)
    source.close()
