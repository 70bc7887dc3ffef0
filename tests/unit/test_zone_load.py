"""Per-zone transmitted load on a mat under the client (domain.zone_load)."""

from __future__ import annotations

import numpy as np
import pytest

from ashiguard.domain.errors import InputError
from ashiguard.domain.zone_load import ZoneLoad, client_alone_baseline

NAMES = ("a", "b")
AREA = 100.0  # mm², so 10 kPa on one sensel is 1 N


def _labels() -> np.ndarray:
    lab = np.full((4, 4), -1, dtype=np.int16)
    lab[:, :2] = 0
    lab[:2, 2:] = 1
    return lab


def test_client_alone_baseline_averages_the_lightest_frames_only() -> None:
    base = np.full((4, 4), 5.0)
    frames = np.stack([base + 20.0, base, base * 1.01, base + 50.0])
    mean, n = client_alone_baseline(frames, AREA)
    assert n == 2
    np.testing.assert_allclose(mean, base * 1.005)


def test_zone_forces_are_changes_against_the_baseline_in_newtons() -> None:
    base = np.full((4, 4), 5.0)
    zl = ZoneLoad(_labels(), NAMES, base, AREA, loaded_n=1.0)
    p = np.repeat(base[None], 4, axis=0).astype(np.float32)
    p[1:3, 0, 0] += 40.0  # 4 N on zone a in frames 1 and 2
    p[2, 0, 2] += 20.0  # 2 N on zone b in frame 2
    p[3, 3, 3] += 500.0  # off the body: ignored
    zl.add(np.arange(4) * 0.5, p)
    out = zl.to_json()
    assert out["loaded_frames"] == 2
    assert out["loaded_s"] == pytest.approx(1.0)
    a, b = out["zones"]["a"], out["zones"]["b"]
    assert a["peak_n"] == pytest.approx(4.0) and a["mean_n"] == pytest.approx(4.0)
    assert a["impulse_n_s"] == pytest.approx(4.0) and b["impulse_n_s"] == pytest.approx(1.0)
    assert a["share"] == pytest.approx(0.8) and b["share"] == pytest.approx(0.2)
    assert out["baseline_on_zones_n"] == pytest.approx(12 * 0.5)


def test_zone_load_does_not_depend_on_the_chunking() -> None:
    rng = np.random.default_rng(4)
    base = rng.uniform(0, 10, (4, 4))
    p = (base + rng.normal(0, 30, (50, 4, 4))).astype(np.float32)
    p[rng.random(p.shape) < 0.05] = np.nan
    t = np.arange(50) * 0.01
    outs = []
    for size in (1, 7, 50):
        zl = ZoneLoad(_labels(), NAMES, base, AREA, loaded_n=0.5)
        for k in range(0, 50, size):
            zl.add(t[k : k + size], p[k : k + size])
        outs.append(zl.to_json())
    assert outs[0] == outs[1] == outs[2]


def test_the_default_loaded_threshold_scales_with_the_clients_own_force() -> None:
    heavy = ZoneLoad(_labels(), NAMES, np.full((4, 4), 1000.0), AREA)
    light = ZoneLoad(_labels(), NAMES, np.full((4, 4), 1.0), AREA)
    assert heavy.loaded_n == pytest.approx(0.15 * 12 * 100.0)
    assert light.loaded_n == 50.0


def test_mismatched_shapes_are_refused_with_the_field_named() -> None:
    with pytest.raises(InputError, match="baseline_kpa"):
        ZoneLoad(_labels(), NAMES, np.zeros((3, 4)), AREA)
    with pytest.raises(InputError, match="pressure"):
        client_alone_baseline(np.zeros((4, 4)), AREA)
