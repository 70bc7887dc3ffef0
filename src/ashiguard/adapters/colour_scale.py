"""The pressure colour map, once, as data: the live page and the review drawings share it.

:data:`PRESSURE_STOPS` are evenly spaced RGB stops from 0 kPa (first) to the top of the scale
(last), linearly interpolated in between. They are matplotlib's ``inferno`` sampled at 17
points: monotone in lightness, so the map stays readable in grayscale and on a printout.

- the review and report drawings build their matplotlib colour map from these stops
  (:func:`ashiguard.adapters.drawing.pressure_cmap`, the default of ``draw_body``);
- the live page reads the same list from the ``data-colours`` attribute of ``#live``
  (rendered by the page handler), so both draw identical colours for identical fractions of
  their scale.
"""

from __future__ import annotations

__all__ = ["PRESSURE_CMAP_NAME", "PRESSURE_STOPS", "pressure_stops"]

PRESSURE_CMAP_NAME = "ashiguard_pressure"
"""The name the matplotlib colour map built from :data:`PRESSURE_STOPS` carries."""

PRESSURE_STOPS: tuple[tuple[int, int, int], ...] = (
    (0, 0, 4),
    (11, 7, 36),
    (33, 12, 74),
    (61, 9, 101),
    (87, 16, 110),
    (113, 25, 110),
    (138, 34, 106),
    (163, 44, 97),
    (188, 55, 84),
    (210, 70, 68),
    (228, 90, 49),
    (241, 115, 29),
    (249, 142, 9),
    (252, 172, 17),
    (249, 203, 53),
    (242, 234, 105),
    (252, 255, 164),
)
"""RGB stops (0-255) evenly spaced from 0 to the top of the colour scale."""


def pressure_stops() -> list[list[int]]:
    """:data:`PRESSURE_STOPS` as JSON-ready lists (for the live page's ``data-colours``)."""
    return [list(c) for c in PRESSURE_STOPS]
