"""Total vertical force is conserved at every depth by the Boussinesq model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ashiguard.domain.mechanics import DepthStress

DEPTHS = (20.0, 45.0, 80.0)
_MODELS: dict[tuple[int, int, float], DepthStress] = {}


def _model(rows: int, cols: int, pitch: float) -> DepthStress:
    key = (rows, cols, pitch)
    if key not in _MODELS:
        _MODELS[key] = DepthStress((rows, cols), pitch, DEPTHS)
    return _MODELS[key]


@st.composite
def pressure_maps(draw):
    rows = draw(st.sampled_from([4, 9, 16]))
    cols = draw(st.sampled_from([3, 8, 12]))
    pitch = draw(st.sampled_from([5.0, 15.0]))
    values = st.floats(0.0, 400.0, allow_nan=False, width=32)
    pressure = draw(arrays(np.float64, (rows, cols), elements=values))
    return pitch, pressure


@settings(max_examples=40, deadline=None)
@given(pressure_maps())
def test_integral_of_sigma_z_over_the_plane_equals_the_applied_force(case):
    pitch, pressure = case
    model = _model(*pressure.shape, pitch)
    applied_n = pressure.sum() * pitch * pitch / 1000.0
    sigma = model.extended(pressure).astype(np.float64)
    for i, _depth in enumerate(DEPTHS):
        carried_n = sigma[i].sum() * pitch * pitch / 1000.0
        assert carried_n == pytest.approx(applied_n, rel=0.01, abs=1e-3)
        # the only loss is the documented kernel truncation
        expected = applied_n * model.kernel_force_fraction[i]
        assert carried_n == pytest.approx(expected, rel=1e-4, abs=1e-3)


@settings(max_examples=25, deadline=None)
@given(pressure_maps())
def test_the_cropped_result_is_the_middle_of_the_extended_plane(case):
    pitch, pressure = case
    model = _model(*pressure.shape, pitch)
    k = model.halo
    rows, cols = pressure.shape
    np.testing.assert_allclose(
        model(pressure),
        model.extended(pressure)[:, k : k + rows, k : k + cols],
        rtol=1e-6,
        atol=1e-4,
    )


@settings(max_examples=25, deadline=None)
@given(pressure_maps(), st.floats(0.1, 5.0))
def test_stress_is_linear_in_the_surface_pressure(case, scale):
    pitch, pressure = case
    model = _model(*pressure.shape, pitch)
    tol = 1e-4 * max(1.0, float(pressure.max()) * scale)
    np.testing.assert_allclose(model(pressure * scale), model(pressure) * scale, atol=tol)
