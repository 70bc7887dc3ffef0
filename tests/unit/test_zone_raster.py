from __future__ import annotations

import numpy as np
import pytest

from ashiguard.domain.errors import InputError
from ashiguard.domain.zones import ZONES, Grid, ZoneMap, zone_index


@pytest.fixture(scope="module")
def zm() -> ZoneMap:
    return ZoneMap.from_height(1750.0)


def _session_grid(rotation: float = 0.0) -> Grid:
    return Grid(128, 48, 15.0, origin_mm=(-352.5, -150.0), rotation_deg=rotation)


@pytest.mark.parametrize("rotation", [0.0, 7.5, 90.0, -30.0])
def test_labels_match_zone_at_on_every_sensel_centre(zm, rotation):
    grid = _session_grid(rotation)
    raster = zm.rasterize(grid)
    assert raster.labels.shape == raster.coverage.shape == (128, 48)
    assert raster.labels.dtype == np.int16 and raster.coverage.dtype == np.float32
    xs, ys = grid.centres()
    for r in range(0, 128, 3):
        for c in range(48):
            expected = zm.zone_at(float(xs[r, c]), float(ys[r, c]))
            got = raster.labels[r, c]
            assert (ZONES[got] if got >= 0 else None) == expected


def test_coverage_is_one_inside_and_between_zero_and_one_on_boundaries(zm):
    raster = zm.rasterize(_session_grid())
    labelled = raster.labels >= 0
    cov = raster.coverage[labelled]
    assert ((cov > 0) & (cov <= 1)).all()
    assert (raster.coverage[~labelled] == 0).all()
    assert (cov == 1).mean() > 0.6
    assert ((cov > 0) & (cov < 1)).sum() > 50


def test_coverage_of_a_sensel_straddling_the_kidney_erector_boundary_is_partial(zm):
    y = (zm.landmarks.vertebra_y("T11") + zm.landmarks.vertebra_y("L3")) / 2
    # centre 2 mm inside the kidney: about (7.5 + 2) / 15 of the sensel is kidney
    grid = Grid(1, 1, 15.0, origin_mm=(zm.erector_outer + 2.0, y))
    raster = zm.rasterize(grid, supersample=15)
    assert ZONES[raster.labels[0, 0]] == "kidney_left"
    assert raster.coverage[0, 0] == pytest.approx(9.5 / 15, abs=0.05)


def test_summed_coverage_approximates_each_zone_area(zm):
    pitch = 10.0
    grid = Grid(170, 44, pitch, origin_mm=(-215.0, zm.landmarks.occiput - 5))
    raster = zm.rasterize(grid, supersample=7)
    for zone in ("scapular_left", "erector_lumbar_right", "gluteal_left", "kidney_right"):
        k = zone_index(zone)
        area = raster.coverage[raster.labels == k].sum() * pitch * pitch
        assert area == pytest.approx(zm.area_mm2(zone), rel=0.08), zone


def test_rotating_the_grid_by_180_degrees_mirrors_the_sensel_order(zm):
    a = Grid(20, 10, 15.0, origin_mm=(-67.5, 200.0))
    # same sensel centres visited in reverse order
    b = Grid(20, 10, 15.0, origin_mm=(67.5, 200.0 + 19 * 15.0), rotation_deg=180.0)
    ra, rb = zm.rasterize(a), zm.rasterize(b)
    np.testing.assert_array_equal(ra.labels, rb.labels[::-1, ::-1])


def test_grid_round_trips_body_and_sensel_coordinates():
    g = Grid(5, 7, 12.0, origin_mm=(10.0, -20.0), rotation_deg=33.0)
    x, y = g.to_body(np.array([0.0, 2.5, 4.0]), np.array([0.0, 1.0, 6.0]))
    r, c = g.to_sensel(x, y)
    np.testing.assert_allclose(r, [0.0, 2.5, 4.0], atol=1e-9)
    np.testing.assert_allclose(c, [0.0, 1.0, 6.0], atol=1e-9)
    gx, gy = Grid(2, 2, 10.0, origin_mm=(5.0, 7.0)).centres()
    np.testing.assert_allclose(gx, [[5.0, 15.0], [5.0, 15.0]])  # column index grows with +x
    np.testing.assert_allclose(gy, [[7.0, 7.0], [17.0, 17.0]])  # row index grows with +y


def test_mask_selects_the_sensels_of_one_zone(zm):
    raster = zm.rasterize(_session_grid())
    mask = raster.mask("gluteal_left")
    assert mask.any()
    assert (raster.labels[mask] == zone_index("gluteal_left")).all()


def test_bad_grids_and_supersampling_are_refused(zm):
    with pytest.raises(InputError, match=r"grid\.rows"):
        Grid(0, 4, 10.0)
    with pytest.raises(InputError, match=r"grid\.pitch_mm"):
        Grid(4, 4, -1.0)
    with pytest.raises(InputError, match="supersample"):
        zm.rasterize(Grid(4, 4, 10.0), supersample=4)
