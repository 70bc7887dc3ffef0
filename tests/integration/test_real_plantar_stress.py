"""Stress at depth under a real plantar pressure pattern (Tekscan F-Scan export, shared/data)."""

from __future__ import annotations

import numpy as np
import pytest

from ashiguard.adapters.importers import import_file
from ashiguard.domain.mechanics import DepthStress, render_contact
from ashiguard.domain.zones import Grid

DEPTHS = (20.0, 45.0, 80.0)
MARGIN = 20  # sensels of zero pressure around the foot


@pytest.fixture(scope="module")
def peak_frame(shared_data):
    rec = import_file(shared_data / "vendor-exports" / "fscan_testL.asf")
    pressure = np.nan_to_num(rec.pressure.astype(np.float64))
    pitch = float(rec.pitch_mm)
    force = pressure.sum(axis=(1, 2)) * pitch * pitch / 1000.0
    frame = pressure[int(force.argmax())]
    padded = np.pad(frame, MARGIN)
    return padded, pitch, float(force.max())


def test_force_under_a_real_foot_is_conserved_at_every_depth(peak_frame):
    pressure, pitch, force_n = peak_frame
    assert 500.0 < force_n < 1500.0  # a body weight on one foot
    model = DepthStress(pressure.shape, pitch, DEPTHS)
    carried = model.extended(pressure).sum(axis=(1, 2)) * pitch * pitch / 1000.0
    np.testing.assert_allclose(carried, force_n, rtol=0.01)


def test_uniform_foot_model_underestimates_real_peaks_near_the_skin_but_not_deep(peak_frame):
    pressure, pitch, force_n = peak_frame
    rows, cols = pressure.shape
    model = DepthStress(pressure.shape, pitch, DEPTHS)
    real = model(pressure).max(axis=(1, 2))
    grid = Grid(rows, cols, pitch)
    uniform = render_contact("foot", force_n, grid, (cols - 1) * pitch / 2, (rows - 1) * pitch / 2)
    modelled = model(uniform).max(axis=(1, 2))
    ratio = real / modelled
    assert (np.diff(real) < 0).all()
    assert ratio[0] > 2.0  # heel/forefoot peaks of a real foot concentrate stress near the skin
    assert 1.0 < ratio[2] < 1.6  # 80 mm down the pattern matters much less than the load
