"""A recording writer on a disk that fills up: it says so, and what it flushed stays readable."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from ashiguard.adapters.recording import RecordingWriteError, RecordingWriter, open_recording


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB file system (tmpfs; mounting needs root, as the suite runs here)."""
    if os.geteuid() != 0:
        pytest.fail("the disk-full tests mount a small tmpfs: run them as root")
    folder = tmp_path / "disk"
    folder.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1024k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs: {r.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_full_disk_is_raised_as_disk_full_and_every_flushed_frame_reads_back_exactly(
    small_disk,
):
    rng = np.random.default_rng(7)
    path = small_disk / "full.h5"
    w = RecordingWriter(path, rows=32, cols=16, pitch_mm=10.0, counter=True, bars=True)
    handed = []
    with pytest.raises(RecordingWriteError) as caught:
        for i in range(0, 100_000, 16):
            frames = rng.random((16, 32, 16), dtype=np.float32) * 100  # incompressible
            t = np.arange(i, i + 16) * 0.01
            w.append(t, frames, np.arange(i, i + 16))
            w.append_bars(t, np.full((16, 2), 100.0))
            handed.append(frames)
            w.flush()
    assert caught.value.disk_full and "the disk is full" in str(caught.value)
    with pytest.raises(RecordingWriteError):  # nothing more is written
        w.append(1e6, np.zeros((32, 16), np.float32), 10**9)
    w.close()  # already reported: closing says nothing more
    with open_recording(path) as rec:
        assert rec.meta.complete is False
        n = rec.meta.frames
        assert n > 0
        times, pressure = rec.read()
        np.testing.assert_array_equal(times, np.arange(n) * 0.01)
        np.testing.assert_array_equal(pressure, np.concatenate(handed)[:n])
        np.testing.assert_array_equal(rec.counter(), np.arange(n))
