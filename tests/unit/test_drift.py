"""Baseline drift measured and removed through unloaded frames (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

from ashiguard.domain.drift import DriftEstimator, correct_drift


def _steps(n=600, rate=50.0):
    """Load on for 1 s, off for 1 s, over a baseline creeping 0 -> 6 (units) linearly."""
    t = np.arange(n) / rate
    loaded = (t % 2.0) < 1.0
    true = np.zeros((n, 3, 4), dtype=np.float32)
    true[loaded, 1, 1:3] = 100.0
    drift = (6.0 * t / t[-1])[:, None, None] * np.ones((3, 4))
    return t, true, (true + drift).astype(np.float32)


def test_unloaded_stretches_anchor_a_baseline_that_is_subtracted():
    t, true, seen = _steps()
    est = DriftEstimator()
    for i in range(0, t.size, 64):  # chunk after chunk
        est.add(t[i : i + 64], seen[i : i + 64])
    report = est.report()
    assert report["anchors"] == 6
    assert report["baseline_change_max"] == pytest.approx(6.0 * 10 / t[-1], rel=0.02)
    fixed = correct_drift(t, seen, est.anchors)
    inside = (t >= est.anchors[0].t) & (t <= est.anchors[-1].t)
    np.testing.assert_allclose(fixed[inside], true[inside], atol=1e-3)
    assert (fixed >= 0).all()


def test_without_two_unloaded_stretches_drift_is_not_measured_and_nothing_changes():
    t = np.arange(100) * 0.02
    p = np.full((100, 2, 2), 50.0, dtype=np.float32)
    est = DriftEstimator()
    est.add(t, p)
    assert est.report()["baseline_change_max"] is None
    np.testing.assert_array_equal(correct_drift(t, p, est.anchors), p)
