"""Dead and stuck sensels from power-on, found from the frames alone (issue 14)."""

from __future__ import annotations

import numpy as np

from ashiguard.domain.sensel_faults import SenselStats, mask_faults


def _walking_frames(n=120, rows=8, cols=8, seed=1):
    """A load moving over the grid, as a foot rolling over a mat."""
    rng = np.random.default_rng(seed)
    p = np.zeros((n, rows, cols), dtype=np.float32)
    for k in range(n):
        r = k * rows // n
        p[k, max(r - 1, 0) : r + 2, :] = 80.0 + rng.normal(
            0, 5, (min(r + 2, rows) - max(r - 1, 0), cols)
        )
    return p


def _faults(p, **kw):
    s = SenselStats(*p.shape[1:])
    for i in range(0, p.shape[0], 7):  # chunk after chunk
        s.add(p[i : i + 7])
    return [(f.row, f.col, f.kind) for f in s.faults(**kw)]


def test_a_sensel_reading_zero_between_loaded_neighbours_is_dead():
    p = _walking_frames()
    p[:, 4, 4] = 0.0
    assert _faults(p) == [(4, 4, "dead")]


def test_a_sensel_frozen_at_one_value_while_its_neighbours_change_is_stuck():
    p = _walking_frames()
    p[:, 2, 5] = 37.5
    assert _faults(p) == [(2, 5, "stuck")]


def test_a_sensel_always_at_full_scale_is_saturated():
    p = _walking_frames()
    p[:, 6, 1] = 1000.0 + np.arange(p.shape[0]) % 3
    assert _faults(p, saturation=1000.0) == [(6, 1, "saturated")]
    assert _faults(p) == []  # full scale unknown and the value moves: not judged


def test_idle_sensels_outside_the_contact_and_a_still_scene_are_not_faults():
    p = np.zeros((200, 6, 6), dtype=np.float32)
    p[:, 2:4, 2:4] = 50.0  # a body lying still: constant, but nothing moved around it
    assert _faults(p) == []


def test_a_few_snapshots_are_not_enough_to_judge():
    p = _walking_frames(n=20)
    p[:, 4, 4] = 0.0
    assert _faults(p) == []


def test_masked_faults_become_nan_and_the_input_is_kept():
    p = _walking_frames()
    p[:, 4, 4] = 0.0
    s = SenselStats(8, 8)
    s.add(p)
    masked = mask_faults(p, s.faults())
    assert np.isnan(masked[:, 4, 4]).all()
    assert np.isfinite(p).all()
    assert np.isfinite(np.delete(masked.reshape(len(p), -1), 4 * 8 + 4, axis=1)).all()
