"""A real Lab Streaming Layer outlet and inlet on this machine (pylsl's bundled liblsl)."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pytest

from ashiguard.adapters.sources import open_source
from ashiguard.adapters.sources.lsl import LSL_SCHEMA, serve_lsl

pytestmark = pytest.mark.lsl


def test_pylsl_loads_its_library_here():
    import pylsl

    assert "link:SHARED" in pylsl.library_info()


def test_200_simulated_frames_travel_through_lsl_unchanged():
    name = f"ashiguard-test-{uuid.uuid4().hex[:8]}"
    source = open_source("sim:faults", speed=0, duration_s=2.0, seed=3)
    served: dict[str, int] = {}

    def publish() -> None:
        served["n"] = serve_lsl(source, name, wait_for_consumer_s=30)

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    inlet = open_source(f"lsl:{name}", timeout_s=30, idle_timeout_s=3)
    try:
        assert inlet.info.rows == 128 and inlet.info.cols == 48
        assert inlet.info.pitch_mm == 15.0 and inlet.info.origin_mm == (-352.5, -100.0)
        assert inlet.info.therapist_mass_kg == 68.0 and inlet.info.has_bars
        assert inlet.info.client == {"height_cm": 172.0, "weight_kg": 74.0}
        received = list(inlet.frames())
    finally:
        inlet.close()
    thread.join(timeout=30)
    assert served["n"] == 200
    expected = list(open_source("sim:faults", speed=0, duration_s=2.0, seed=3).frames())
    assert len(received) == 200
    assert [f.counter for f in received] == [f.counter for f in expected]
    for got, want in zip(received, expected, strict=True):
        assert got.pressure.shape == (128, 48)
        assert np.array_equal(got.pressure, want.pressure, equal_nan=True)
        assert np.array_equal(got.bars, want.bars)
        assert got.t == pytest.approx(want.t, abs=5e-3)
    assert inlet.stats.dropped == 0 and inlet.stats.reordered == 0


def test_a_missing_lsl_stream_is_refused_with_its_name():
    from ashiguard.domain.errors import InputError

    with pytest.raises(InputError, match="lsl:no-such-ashiguard-stream: no stream"):
        open_source("lsl:no-such-ashiguard-stream", timeout_s=0.5)


def test_the_stream_description_names_the_schema():
    from ashiguard.adapters.sources.lsl import stream_info_for

    src = open_source("sim", speed=0, duration_s=1.0)
    si = stream_info_for(src.info, "x", 12.5)
    assert si.desc().child_value("schema") == LSL_SCHEMA
    assert si.desc().child_value("rows") == "128"
    assert si.channel_count() == 128 * 48 + 4


def test_record_cli_records_a_live_lsl_stream(tmp_path, run_cli):
    name = f"ashiguard-rec-{uuid.uuid4().hex[:8]}"
    source = open_source("sim:imbalance", speed=0, duration_s=3.0, seed=4)
    thread = threading.Thread(
        target=serve_lsl, args=(source, name), kwargs={"wait_for_consumer_s": 60}, daemon=True
    )
    thread.start()
    out = tmp_path / "lsl.h5"
    r = run_cli(
        "record", "--source", f"lsl:{name}", "--duration", "2", "--timeout", "30", "-o", out
    )
    thread.join(timeout=30)
    assert r.returncode == 0, r.stderr
    assert f"recorded 200 frames (1.99 s) from lsl:{name} to {out}: dropped 0, reordered 0" in (
        r.stdout
    )
    from ashiguard.adapters.recording import open_recording

    with open_recording(out) as rec:
        assert rec.meta.frames == 200 and rec.counter().tolist() == list(range(200))
        assert rec.meta.origin_mm == (-352.5, -100.0) and rec.meta.bars_samples == 200


def test_publish_cli_streams_a_recording_that_an_inlet_receives(tmp_path, run_cli):
    import subprocess
    import sys

    rec = tmp_path / "short.h5"
    assert run_cli("simulate", "-o", rec, "--duration", "1.5", "--seed", "2").returncode == 0
    name = f"ashiguard-pub-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ashiguard",
            "publish",
            "--source",
            f"replay:{rec}",
            "--name",
            name,
            "--speed",
            "0",
            "--wait",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        inlet = open_source(f"lsl:{name}", timeout_s=30, idle_timeout_s=3)
        frames = list(inlet.frames())
        inlet.close()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert (
        out.strip()
        == f"published 150 frames from replay:{rec} as lsl:{name}: dropped 0, reordered 0"
    )
    assert [f.counter for f in frames] == list(range(150))
