from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ashiguard.adapters.drawing import draw_body, render_png, zone_colour, zone_label
from ashiguard.domain.mechanics import render_contact
from ashiguard.domain.zones import ENDANGERMENT_ZONES, ZONES, Grid, ZoneMap


@pytest.fixture(scope="module")
def zm() -> ZoneMap:
    return ZoneMap.from_height(1750.0)


def test_every_zone_has_a_label_and_endangerment_zones_are_red():
    for zone in ZONES:
        assert zone_label(zone)
        assert (zone_colour(zone) == "#d9534f") == (zone in ENDANGERMENT_ZONES)


def test_heatmap_is_placed_on_the_grid_in_the_body_frame(zm):
    grid = Grid(40, 20, 15.0, origin_mm=(-142.5, 200.0), rotation_deg=10.0)
    pressure = render_contact("foot", 300.0, grid, 60.0, 400.0)
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    mesh = draw_body(ax, zm, pressure, grid)
    assert mesh is not None
    values = mesh.get_array()
    assert values.count() == int((pressure > 0).sum())  # zero sensels stay transparent
    corners = mesh.get_coordinates()
    x0, y0 = grid.to_body(-0.5, -0.5)
    np.testing.assert_allclose(corners[0, 0], [float(x0), float(y0)])
    # the client's left (+x) is drawn on the viewer's left, the head at the top
    assert ax.get_xlim()[0] > ax.get_xlim()[1]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]


def test_png_with_a_heatmap_differs_from_the_plain_zone_map(zm):
    grid = Grid(128, 48, 15.0, origin_mm=(-352.5, -150.0))
    pressure = render_contact("heel", 300.0, grid, -70.0, 560.0)
    plain = render_png(zm, dpi=60)
    heat = render_png(zm, pressure, grid, dpi=60, title="heel on the right gluteal")
    assert plain.startswith(b"\x89PNG") and heat.startswith(b"\x89PNG")
    assert plain != heat


def test_a_heatmap_without_its_grid_or_of_the_wrong_shape_is_refused(zm):
    fig = Figure()
    ax = fig.add_subplot()
    with pytest.raises(ValueError, match="needs its grid"):
        draw_body(ax, zm, np.ones((2, 2)))
    with pytest.raises(ValueError, match="heatmap shape"):
        draw_body(ax, zm, np.ones((2, 2)), Grid(3, 2, 10.0))
