"""Laws of the recording store: how frames are appended or read in pieces changes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ashiguard.adapters.importers import import_file
from ashiguard.adapters.recording import RecordingWriter, open_recording
from ashiguard.bench.recording import _tekscan_text, foot_frames


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    splits=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8),
    read_n=st.integers(min_value=1, max_value=70),
    chunk=st.sampled_from([1, 5, 16]),
)
def test_append_pieces_and_read_block_size_do_not_change_the_frames(splits, read_n, chunk):
    n = sum(splits)
    rng = np.random.default_rng(n)
    p = rng.uniform(0, 300, size=(n, 6, 4)).astype(np.float32)
    p[rng.uniform(size=p.shape) < 0.1] = np.nan
    t = np.cumsum(rng.uniform(0.001, 0.05, size=n))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "r.h5"
        with RecordingWriter(path, rows=6, cols=4, pitch_mm=7.5, chunk_frames=chunk) as w:
            i = 0
            for k in splits:
                if k == 1:
                    w.append(t[i], p[i])
                else:
                    w.append(t[i : i + k], p[i : i + k])
                i += k
        with open_recording(path) as rec:
            blocks = list(rec.iter_chunks(read_n))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in blocks]), t)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), p)


def test_bench_synthetic_tekscan_movie_imports_back_to_its_frames(tmp_path):
    path = tmp_path / "syn.asf"
    path.write_text(_tekscan_text(12))
    r = import_file(path)
    expected = np.rint(foot_frames(50)[:12])
    np.testing.assert_array_equal(r.pressure, expected)
    assert r.pitch_mm == 10.0 and r.time[-1] == 0.11
    assert 0 < np.count_nonzero(expected[0]) < expected[0].size / 2  # mostly empty, two feet
