"""Laws of the zone map: mirror symmetry, scaling with height, vectorised = pointwise."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ashiguard.domain.zones import ZONES, ZoneMap

heights = st.integers(1400, 2100).map(float)
fractions_x = st.floats(-0.2, 0.2, allow_nan=False)
fractions_y = st.floats(-0.08, 0.83, allow_nan=False)
EPS = 1e-3  # mm


@lru_cache(maxsize=64)
def _map(height: float) -> ZoneMap:
    return ZoneMap.from_height(height)


def _unambiguous(zm: ZoneMap, x: float, y: float) -> bool:
    dx = np.array([0.0, EPS, -EPS, 0.0, 0.0])
    dy = np.array([0.0, 0.0, 0.0, EPS, -EPS])
    labels = zm.labels(x + dx, y + dy)
    return bool((labels == labels[0]).all()) and abs(x) > EPS


def _mirror(zone: str | None) -> str | None:
    if zone is None:
        return None
    if zone.endswith("_left"):
        return zone.removesuffix("_left") + "_right"
    if zone.endswith("_right"):
        return zone.removesuffix("_right") + "_left"
    return zone


@settings(max_examples=100, deadline=None)
@given(heights, fractions_x, fractions_y)
def test_mirroring_a_point_mirrors_its_zone(height, fx, fy):
    zm = _map(height)
    x, y = fx * height, fy * height
    assume(_unambiguous(zm, x, y))
    assert zm.zone_at(-x, y) == _mirror(zm.zone_at(x, y))


@settings(max_examples=100, deadline=None)
@given(heights, heights, fractions_x, fractions_y)
def test_zones_scale_exactly_with_height_under_default_landmarks(h1, h2, fx, fy):
    a, b = _map(h1), _map(h2)
    x, y = fx * h1, fy * h1
    assume(_unambiguous(a, x, y))
    k = h2 / h1
    assume(_unambiguous(b, x * k, y * k))
    assert b.zone_at(x * k, y * k) == a.zone_at(x, y)


@settings(max_examples=40, deadline=None)
@given(heights, st.lists(st.tuples(fractions_x, fractions_y), min_size=1, max_size=30))
def test_vectorised_labels_equal_pointwise_zone_at(height, points):
    zm = _map(height)
    xs = np.array([p[0] for p in points]) * height
    ys = np.array([p[1] for p in points]) * height
    labels = zm.labels(xs, ys)
    for x, y, lab in zip(xs, ys, labels, strict=True):
        assert zm.zone_at(float(x), float(y)) == (ZONES[lab] if lab >= 0 else None)
