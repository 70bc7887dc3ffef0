from __future__ import annotations

import math

import numpy as np
import pytest

from ashiguard.domain import mechanics as mechanics_module
from ashiguard.domain.errors import InputError
from ashiguard.domain.mechanics import (
    CONTACTS,
    DepthStress,
    G,
    boussinesq_rect,
    circular_axis_sigma_z,
    client_load,
    contact_table,
    mean_pressure_kpa,
    render_contact,
)
from ashiguard.domain.zones import Grid


def _isort_key(name: str) -> tuple[int, str]:
    return (0 if name.isupper() and len(name) > 1 else 1 if name[0].isupper() else 2, name)


def test_public_names_are_sorted_and_exported():
    names = mechanics_module.__all__
    assert list(names) == sorted(names, key=_isort_key)
    assert all(hasattr(mechanics_module, n) for n in names)


def _disc(radius_mm: float, pitch_mm: float, q_kpa: float) -> tuple[np.ndarray, int]:
    """A uniform disc load rasterized with exact-ish area weights, centred on a sensel."""
    half = math.ceil(radius_mm / pitch_mm) + 2
    n = 2 * half + 1
    c = (np.arange(n) - half) * pitch_mm
    k = 11
    off = ((np.arange(k) + 0.5) / k - 0.5) * pitch_mm
    xx = c[:, None, None, None] + off[None, None, :, None]
    yy = c[None, :, None, None] + off[None, None, None, :]
    cov = ((xx**2 + yy**2) < radius_mm**2).mean(axis=(2, 3))
    return q_kpa * cov, half


@pytest.mark.parametrize("depth", [10.0, 20.0, 45.0, 80.0])
def test_stress_on_the_axis_of_a_uniform_disc_matches_the_closed_form(depth):
    pressure, centre = _disc(60.0, 2.0, 100.0)
    stress = DepthStress(pressure.shape, 2.0, (depth,))
    got = float(stress(pressure)[0, centre, centre])
    expected = 100.0 * (1 - (1 + (60.0 / depth) ** 2) ** -1.5)
    assert got == pytest.approx(expected, rel=0.02)
    assert circular_axis_sigma_z(100.0, 60.0, depth) == pytest.approx(expected)


def test_rectangle_integral_of_the_whole_plane_is_one_and_of_a_quadrant_a_quarter():
    big = 1e7
    assert float(boussinesq_rect(-big, big, -big, big, 30.0)) == pytest.approx(1.0, abs=1e-6)
    assert float(boussinesq_rect(0, big, 0, big, 30.0)) == pytest.approx(0.25, abs=1e-6)


def test_rectangle_integral_matches_numerical_integration_of_the_point_load_kernel():
    z = 25.0
    xs = np.linspace(-10 + 0.05, 30 - 0.05, 400)
    ys = np.linspace(5 + 0.025, 25 - 0.025, 400)
    gx, gy = np.meshgrid(xs, ys)
    r2 = gx**2 + gy**2 + z**2
    numeric = (3 * z**3 / (2 * np.pi * r2**2.5)).sum() * (40 / 400) * (20 / 400)
    assert float(boussinesq_rect(-10, 30, 5, 25, z)) == pytest.approx(numeric, rel=1e-3)


def test_deeper_stress_is_lower_at_the_peak_and_wider():
    grid = Grid(61, 61, 5.0, origin_mm=(-150.0, -150.0))
    pressure = render_contact("heel", 300.0, grid, 0.0, 0.0)
    sigma = DepthStress(grid.shape, 5.0, (10.0, 20.0, 45.0, 80.0))(pressure)
    peaks = sigma.max(axis=(1, 2))
    assert (np.diff(peaks) < 0).all()
    widths = [(s > 0.5 * s.max()).sum() for s in sigma]
    assert (np.diff(widths) > 0).all()


def test_a_map_of_frames_gives_one_stress_stack_per_frame():
    stress = DepthStress((8, 6), 15.0, (20.0, 45.0))
    frames = np.random.default_rng(1).random((3, 8, 6)) * 40
    stacked = stress(frames)
    assert stacked.shape == (3, 2, 8, 6)
    np.testing.assert_allclose(stacked[1], stress(frames[1]), rtol=1e-5, atol=1e-4)


def test_nan_sensels_count_as_zero_and_infinite_pressure_is_refused():
    stress = DepthStress((4, 4), 10.0, (20.0,))
    with_nan = np.full((4, 4), 30.0)
    with_nan[1, 2] = np.nan
    zeroed = with_nan.copy()
    zeroed[1, 2] = 0.0
    np.testing.assert_array_equal(stress(with_nan), stress(zeroed))
    with pytest.raises(InputError, match="pressure: contains infinite values"):
        stress(np.full((4, 4), np.inf))


def test_wrong_shapes_and_depths_are_refused():
    stress = DepthStress((4, 4), 10.0, (20.0,))
    with pytest.raises(InputError, match=r"pressure: expected shape \(4, 4\)"):
        stress(np.zeros((5, 4)))
    with pytest.raises(InputError, match=r"depths_mm\[1\]: must be > 0"):
        DepthStress((4, 4), 10.0, (20.0, -5.0))


def test_contact_areas_are_in_their_documented_ranges():
    expected = {
        "foot": (100, 150),
        "heel": (30, 45),
        "forefoot": (40, 60),
        "elbow": (5, 10),
        "forearm": (30, 50),
        "thumb": (2, 3),
    }
    assert set(CONTACTS) == set(expected)
    for name, (lo, hi) in expected.items():
        c = CONTACTS[name]
        assert lo <= c.area_cm2 <= hi, name
        a, b = c.semi_axes_mm
        assert math.pi * a * b == pytest.approx(c.area_mm2)
        assert c.source


def test_mean_pressure_is_load_over_area_in_kpa():
    assert mean_pressure_kpa(300.0, "foot") == pytest.approx(25.0)
    assert mean_pressure_kpa(300.0, CONTACTS["thumb"]) == pytest.approx(1200.0)
    with pytest.raises(InputError, match="load_n: must be >= 0"):
        mean_pressure_kpa(-1.0, "foot")
    with pytest.raises(InputError, match="contact: unknown contact 'knee'"):
        mean_pressure_kpa(10.0, "knee")


@pytest.mark.parametrize("name", sorted(CONTACTS))
def test_rendered_contact_conserves_force_and_matches_its_area(name):
    grid = Grid(241, 241, 1.0, origin_mm=(-120.0, -120.0))
    p = render_contact(name, 250.0, grid, 0.0, 0.0, angle_deg=20.0)
    force = p.sum() * 1.0 * 1.0 / 1000.0
    assert force == pytest.approx(250.0, rel=1e-5)
    # mean pressure = peak / peak factor, so the area the pattern covers is force / mean
    mean_kpa = float(p.max()) / CONTACTS[name].peak_factor
    area_cm2 = 250.0 / mean_kpa * 1000.0 / 100.0
    assert area_cm2 == pytest.approx(CONTACTS[name].area_cm2, rel=0.08)
    assert (p > 0).sum() / 100.0 == pytest.approx(CONTACTS[name].area_cm2, rel=0.15)
    assert p.max() >= mean_pressure_kpa(250.0, name) * 0.9


def test_rendered_foot_lies_along_its_angle_and_drops_the_part_off_the_grid():
    grid = Grid(60, 60, 5.0, origin_mm=(-150.0, -150.0))
    along_y = render_contact("foot", 200.0, grid, 0.0, 0.0, angle_deg=0.0)
    along_x = render_contact("foot", 200.0, grid, 0.0, 0.0, angle_deg=90.0)
    rows_y = np.nonzero(along_y.sum(axis=1))[0]
    cols_y = np.nonzero(along_y.sum(axis=0))[0]
    assert rows_y.size > 2 * cols_y.size  # long axis along +y (rows)
    cols_x = np.nonzero(along_x.sum(axis=0))[0]
    assert cols_x.size > 2 * np.nonzero(along_x.sum(axis=1))[0].size
    edge = render_contact("foot", 200.0, grid, -150.0, 0.0, angle_deg=0.0)
    assert 0.3 < edge.sum() * 25.0 / 1000.0 / 200.0 < 0.7


def test_contact_table_ranks_thumb_highest_and_foot_lowest_mean_pressure():
    rows = contact_table(300.0)
    assert [r.contact for r in rows] == list(CONTACTS)
    by_mean = sorted(rows, key=lambda r: r.mean_kpa)
    assert by_mean[0].contact == "foot"
    assert by_mean[-1].contact == "thumb"
    for r in rows:
        peaks = [r.peak_sigma_z_kpa[d] for d in (20.0, 45.0, 80.0)]
        assert peaks == sorted(peaks, reverse=True)
    foot = next(r for r in rows if r.contact == "foot")
    thumb = next(r for r in rows if r.contact == "thumb")
    assert thumb.peak_sigma_z_kpa[20.0] > 5 * foot.peak_sigma_z_kpa[20.0]
    # deep down the contacts converge toward the point-load value 3P/(2 pi z^2)
    point = 3 * 300.0 / (2 * math.pi * 80.0**2) * 1000.0
    assert thumb.peak_sigma_z_kpa[80.0] == pytest.approx(point, rel=0.05)


def test_client_load_is_weight_minus_what_the_bars_carry():
    share = client_load(70.0, [200.0, 186.0])
    assert share.weight_n == pytest.approx(70.0 * G)
    assert share.bars_n == pytest.approx(386.0)
    assert share.client_n == pytest.approx(70.0 * 9.80665 - 386.0)
    assert share.fraction == pytest.approx(share.client_n / share.weight_n)
    assert client_load(70.0).fraction == 1.0


def test_impossible_load_bookkeeping_is_refused():
    with pytest.raises(InputError, match=r"bar_forces_n\[1\]: -5 N is negative"):
        client_load(70.0, [100.0, -5.0])
    with pytest.raises(InputError, match=r"bar_forces_n: bars carry 800\.0 N, more than"):
        client_load(70.0, [400.0, 400.0])
    with pytest.raises(InputError, match="therapist_mass_kg: must be > 0"):
        client_load(0.0)
    assert client_load(70.0, [690.0], tolerance_n=10.0).client_n == 0.0


@pytest.mark.parametrize(("load", "message"), [(-5.0, "must be > 0"), (float("nan"), "finite")])
def test_contact_table_refuses_a_negative_or_nan_load(load, message):
    with pytest.raises(InputError, match=f"load_n: must be {message}|load_n: {message}"):
        contact_table(load)


def test_bad_depth_stress_shapes_and_pitches_are_refused():
    with pytest.raises(InputError, match=r"shape: must be \(rows, cols\)"):
        DepthStress((0, 4), 10.0, (20.0,))
    with pytest.raises(InputError, match=r"shape: must be \(rows, cols\)"):
        DepthStress((2.5, 4), 10.0, (20.0,))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="pitch_mm: must be > 0"):
        DepthStress((4, 4), 0.0, (20.0,))
    with pytest.raises(InputError, match="depths_mm: give at least one depth"):
        DepthStress((4, 4), 10.0, ())
