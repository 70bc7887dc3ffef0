"""Crash safety: a writer process killed with SIGKILL keeps every frame older than one second."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from ashiguard.adapters.recording import open_recording

# The writer logs "<frame> <monotonic time>" after each append returned: the frame was handed
# to the writer at that time. CLOCK_MONOTONIC is shared by all processes on Linux.
WRITER = r"""
import sys, time
import numpy as np
from ashiguard.adapters.recording import RecordingWriter
path = sys.argv[1]
frame = np.zeros((128, 48), np.float32)
with RecordingWriter(path, rows=128, cols=48, pitch_mm=10.0, therapist_mass_kg=70.0,
                     counter=True, bars=True) as w:
    print("ready", time.monotonic(), flush=True)
    i = 0
    while True:
        frame[40:60, 10:20] = i % 200
        w.append(i * 0.01, frame, counter=i)
        w.append_bars(i * 0.01, [100.0 + i % 50, 120.0])
        print(i, time.monotonic(), flush=True)
        i += 1
        time.sleep(0.008)
"""


def _kill_after(proc: subprocess.Popen[str], delay: float, box: list[float]) -> None:
    time.sleep(delay)
    box.append(time.monotonic())
    proc.send_signal(signal.SIGKILL)


@pytest.mark.slow
def test_sigkill_at_random_times_keeps_every_frame_older_than_one_second(tmp_path):
    rng = random.Random(20261125)
    checked_frames = 0
    for run in range(20):
        path = tmp_path / f"crash{run}.h5"
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        killed_at: list[float] = []
        delay = rng.uniform(0.05, 3.0)  # some kills land before the file exists
        killer = threading.Thread(target=_kill_after, args=(proc, delay, killed_at))
        killer.start()
        out, _ = proc.communicate(timeout=30)
        killer.join()
        assert proc.returncode == -signal.SIGKILL
        handed = {}
        for line in out.split("\n")[:-1]:  # the last piece may be cut by the kill
            key, t = line.split()
            if key != "ready":
                handed[int(key)] = float(t)
        must_have = [i for i, t in handed.items() if t <= killed_at[0] - 1.0]
        if not path.exists():
            assert not must_have, f"run {run}: file missing though frames were handed over"
            continue
        with open_recording(path) as rec:  # the file always opens
            assert rec.meta.complete is False
            n = rec.frames
            assert n >= len(must_have), f"run {run}: {n} frames < {len(must_have)} required"
            t, p = rec.read()
            np.testing.assert_allclose(t, np.arange(n) * 0.01)
            np.testing.assert_array_equal(rec.counter(), np.arange(n))
            np.testing.assert_array_equal(p[:, 50, 15], np.arange(n) % 200)
            assert n <= len(handed)
            bt, bf = rec.bars()
            assert len(bt) >= len(must_have)
            np.testing.assert_array_equal(bf[:, 0], 100.0 + np.arange(len(bt)) % 50)
        checked_frames += len(must_have)
        assert not list(tmp_path.glob(".*.creating")) or not must_have
    assert checked_frames > 300  # the runs did exercise real recordings
