"""Drawings of the posterior body: zone map, and pressure heatmaps over it (matplotlib, Agg).

Used by ``ashiguard zones``, reports and the web app. Figures are built with
:class:`matplotlib.figure.Figure` and the Agg canvas (no pyplot, no global state), so drawing
is safe from worker threads.

The view is the therapist's, standing at the head of the prone client and looking down on the
back: the head is at the top and the client's left (+x) is on the viewer's LEFT.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import QuadMesh
from matplotlib.colors import Colormap, LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse, FancyBboxPatch, Patch, Polygon

from ashiguard.adapters.colour_scale import PRESSURE_CMAP_NAME, PRESSURE_STOPS
from ashiguard.domain.zones import ENDANGERMENT_ZONES, ZONES, Grid, ZoneMap

__all__ = [
    "draw_body",
    "pressure_cmap",
    "render_png",
    "save_zones_png",
    "zone_colour",
    "zone_label",
]

_SKIN = "#f3e3d3"
_OUTLINE = "#5a4636"
_DANGER = "#d9534f"
_KIDNEY = "#8b1a1a"
_TARGET = {
    "erector": "#4c9f70",
    "scapular": "#5b8fc7",
    "upper_trapezius": "#7fb3d5",
    "gluteal": "#8e7cc3",
    "hamstring": "#e1a95f",
    "calf": "#c9a227",
}
_SHORT = {
    "spine_cervical": "C-spine",
    "spine_thoracic": "T-spine",
    "spine_lumbar": "L-spine",
    "sacrum": "sacrum",
    "neck": "neck",
    "erector_thoracic": "erector\n(thor.)",
    "erector_lumbar": "erector\n(lumb.)",
    "kidney": "kidney",
    "scapular": "scapular",
    "upper_trapezius": "upper\ntrap.",
    "gluteal": "gluteal",
    "hamstring": "hamstring",
    "popliteal": "popl.",
    "calf": "calf",
}
_VERTICAL = {"spine_thoracic", "spine_lumbar", "erector_thoracic", "erector_lumbar"}


def _stem(zone: str) -> str:
    for suffix in ("_left", "_right"):
        if zone.endswith(suffix):
            return zone[: -len(suffix)]
    return zone


def zone_label(zone: str) -> str:
    """Short label drawn inside a zone (side is shown by position)."""
    return _SHORT[_stem(zone)]


def zone_colour(zone: str) -> str:
    """Fill colour of a zone: red for endangerment zones, a muscle-group colour otherwise."""
    if zone in ENDANGERMENT_ZONES:
        return _DANGER
    stem = _stem(zone)
    return _TARGET[stem.split("_")[0] if stem.startswith("erector") else stem]


def pressure_cmap() -> Colormap:
    """The pressure colour map of every heatmap (live page and review alike): built from the
    shared stops of :mod:`ashiguard.adapters.colour_scale`, linearly interpolated."""
    stops = [tuple(v / 255.0 for v in c) for c in PRESSURE_STOPS]
    return LinearSegmentedColormap.from_list(PRESSURE_CMAP_NAME, stops, N=256)


def _head(zm: ZoneMap) -> Ellipse:
    lm = zm.landmarks
    r = 0.065 * lm.height_mm
    return Ellipse(
        (0.0, lm.occiput - 0.8 * r),
        width=1.5 * r,
        height=1.85 * r,
        facecolor=_SKIN,
        edgecolor=_OUTLINE,
        linewidth=1.2,
        zorder=1,
    )


def _sensel_corners(
    grid: Grid,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    r = np.arange(grid.rows + 1, dtype=np.float64)[:, None] - 0.5
    c = np.arange(grid.cols + 1, dtype=np.float64)[None, :] - 0.5
    return grid.to_body(r + 0 * c, c + 0 * r)


def draw_body(
    ax: Axes,
    zone_map: ZoneMap,
    heatmap: npt.ArrayLike | None = None,
    grid: Grid | None = None,
    *,
    labels: bool = True,
    zone_alpha: float | None = None,
    vmax_kpa: float | None = None,
    cmap: str | Colormap | None = None,
) -> QuadMesh | None:
    """Draw the body outline with its zones, and optionally a pressure map over it.

    Parameters
    ----------
    ax : matplotlib Axes
        Where to draw; its limits, aspect and orientation are set here.
    zone_map : ZoneMap
        The client's zones.
    heatmap : array_like, kPa, optional
        ``[rows, cols]`` pressure placed with ``grid``; sensels at or below 0 kPa and NaN are
        left transparent.
    grid : Grid, optional
        Placement of ``heatmap`` in the body frame (required with ``heatmap``).
    labels : bool
        Write each zone's short name at its centroid.
    zone_alpha : float, optional
        Opacity of the zone fills (default 0.55 alone, 0.25 under a heatmap).
    vmax_kpa : float, optional
        Top of the colour scale, kPa (default: the map's maximum).
    cmap : str or Colormap, optional
        Colour map of the heatmap (default: :func:`pressure_cmap`, the live page's too).

    Returns
    -------
    QuadMesh or None
        The heatmap artist (for a colour bar), or None without a heatmap.
    """
    if heatmap is not None and grid is None:
        raise ValueError("draw_body: a heatmap needs its grid placement")
    alpha = zone_alpha if zone_alpha is not None else (0.55 if heatmap is None else 0.25)
    ax.add_patch(_head(zone_map))
    ax.add_patch(
        Polygon(zone_map.outline(), closed=True, facecolor=_SKIN, edgecolor="none", zorder=1)
    )
    for zone in ZONES:
        colour = zone_colour(zone)
        for poly in zone_map.polygons(zone):
            ax.add_patch(
                Polygon(
                    poly,
                    closed=True,
                    facecolor=colour,
                    alpha=alpha,
                    edgecolor="white",
                    linewidth=0.6,
                    hatch="////" if zone in ENDANGERMENT_ZONES else None,
                    zorder=2,
                )
            )
    _draw_kidney_projection(ax, zone_map)
    ax.add_patch(
        Polygon(
            zone_map.outline(),
            closed=True,
            facecolor="none",
            edgecolor=_OUTLINE,
            linewidth=1.4,
            zorder=4,
        )
    )
    mesh = None
    if heatmap is not None and grid is not None:
        values = np.ma.masked_invalid(np.asarray(heatmap, dtype=np.float64))
        if values.shape != grid.shape:
            raise ValueError(f"draw_body: heatmap shape {values.shape} != grid {grid.shape}")
        values = np.ma.masked_less_equal(values, 0.0)
        xc, yc = _sensel_corners(grid)
        vmax = vmax_kpa if vmax_kpa is not None else float(values.max() or 1.0)
        mesh = ax.pcolormesh(
            xc,
            yc,
            values,
            cmap=cmap if cmap is not None else pressure_cmap(),
            vmin=0.0,
            vmax=vmax,
            alpha=0.9,
            zorder=3,
            shading="flat",
        )
    if labels:
        _draw_labels(ax, zone_map, faint=mesh is not None)
    _frame(ax, zone_map)
    return mesh


def _draw_kidney_projection(ax: Axes, zm: ZoneMap) -> None:
    """Dashed outline of each kidney's anatomical projection (it reaches under the erector)."""
    lm, s = zm.landmarks, zm.landmarks.half_shoulder
    y0, y1 = lm.vertebra_y("T11"), lm.vertebra_y("L3")
    x0, x1 = zm.KIDNEY_MEDIAL * s, zm.KIDNEY_LATERAL * s
    for sign in (1.0, -1.0):
        ax.add_patch(
            FancyBboxPatch(
                (min(sign * x0, sign * x1), y0),
                x1 - x0,
                y1 - y0,
                boxstyle=f"round,pad=0,rounding_size={0.45 * (x1 - x0):.1f}",
                facecolor="none",
                edgecolor=_KIDNEY,
                linestyle=(0, (3, 2)),
                linewidth=0.9,
                zorder=4,
            )
        )


def _draw_labels(ax: Axes, zm: ZoneMap, *, faint: bool = False) -> None:
    h = zm.landmarks.height_mm
    for zone in ZONES:
        cx, cy = zm.centroid(zone)
        stem = _stem(zone)
        vertical = stem in _VERTICAL or zone in ("neck", "spine_cervical")
        if zone == "neck":
            poly = np.array(zm.polygons(zone)[0])
            cx, cy = float(poly[:, 0].mean()), float(poly[:, 1].mean())
        ax.text(
            cx,
            cy,
            zone_label(zone),
            ha="center",
            va="center",
            fontsize=5.2 if vertical else 6.0,
            rotation=90 if vertical else 0,
            color="#1d1d1d",
            zorder=5,
            alpha=0.7 if faint else 1.0,
            bbox={
                "boxstyle": "round,pad=0.15",
                "fc": "white",
                "ec": "none",
                "alpha": 0.25 if faint else 0.6,
            },
        )
    top = zm.landmarks.occiput - 0.16 * h
    ax.text(0.15 * h, top, "client's\nLEFT", ha="center", va="top", fontsize=7, color="#444")
    ax.text(-0.15 * h, top, "client's\nRIGHT", ha="center", va="top", fontsize=7, color="#444")


def _frame(ax: Axes, zm: ZoneMap) -> None:
    lm = zm.landmarks
    h = lm.height_mm
    ax.set_aspect("equal")
    ax.set_xlim(0.2 * h, -0.2 * h)  # client's left (+x) on the viewer's left
    ax.set_ylim(lm.ankle + 0.03 * h, lm.occiput - 0.19 * h)  # head at the top
    ax.set_xlabel("x, mm (toward the client's left)", fontsize=7)
    ax.set_ylabel("y, mm from C7 (toward the feet)", fontsize=7)
    ax.tick_params(labelsize=6)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _figure(
    zone_map: ZoneMap,
    heatmap: npt.ArrayLike | None,
    grid: Grid | None,
    title: str | None,
    vmax_kpa: float | None,
) -> Figure:
    fig = Figure(figsize=(5.0 if heatmap is None else 5.8, 9.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    mesh = draw_body(ax, zone_map, heatmap, grid, vmax_kpa=vmax_kpa)
    h_cm = zone_map.landmarks.height_mm / 10.0
    ax.set_title(title or f"Posterior body zones, height {h_cm:.0f} cm", fontsize=10)
    handles = [
        Patch(facecolor=_DANGER, alpha=0.55, hatch="////", edgecolor="white", label="endangerment"),
        *(Patch(facecolor=c, alpha=0.55, label=k.replace("_", " ")) for k, c in _TARGET.items()),
        Line2D([], [], color=_KIDNEY, linestyle=(0, (3, 2)), label="kidney projection"),
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=6, frameon=False, ncols=1)
    if mesh is not None:
        cbar = fig.colorbar(mesh, ax=ax, shrink=0.5, pad=0.01)
        cbar.set_label("pressure, kPa", fontsize=7)
        cbar.ax.tick_params(labelsize=6)
    return fig


def render_png(
    zone_map: ZoneMap,
    heatmap: npt.ArrayLike | None = None,
    grid: Grid | None = None,
    *,
    title: str | None = None,
    vmax_kpa: float | None = None,
    dpi: int = 150,
) -> bytes:
    """PNG bytes of the body with its zones (and an optional heatmap, see :func:`draw_body`)."""
    fig = _figure(zone_map, heatmap, grid, title, vmax_kpa)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def save_zones_png(
    path: str | Path,
    zone_map: ZoneMap,
    heatmap: npt.ArrayLike | None = None,
    grid: Grid | None = None,
    **options: Any,
) -> Path:
    """Write :func:`render_png` to ``path`` and return the path."""
    out = Path(path)
    out.write_bytes(render_png(zone_map, heatmap, grid, **options))
    return out
