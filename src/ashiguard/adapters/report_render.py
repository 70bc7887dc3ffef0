"""Drawing session reports with matplotlib (Agg, no pyplot): PDF pages, a one-page PNG, HTML.

Input is a :class:`ashiguard.services.report.ReportData` (or, for the single plots the web app
uses, the summary / alerts objects themselves). Body maps reuse
:func:`ashiguard.adapters.drawing.draw_body`. Everything is readable in grayscale: the heatmap
colour map (``inferno``) is monotone in lightness and alarm priorities differ in lightness
and hatching as well as hue.
"""

from __future__ import annotations

import base64
import html
import io
import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ashiguard.adapters.drawing import draw_body
from ashiguard.domain.alarms import KINDS
from ashiguard.domain.zone_names import zone_words

if TYPE_CHECKING:
    from ashiguard.services.report import BodyFrame, ReportData, SessionMaps

__all__ = [
    "A4_IN",
    "PAGE_DPI",
    "PDF_PAGES",
    "delivery_heading",
    "delivery_rows",
    "draw_alert_list",
    "draw_checks_table",
    "draw_delivery",
    "draw_header",
    "draw_load",
    "draw_map",
    "draw_markers_table",
    "draw_timeline",
    "draw_zone_table",
    "marker_rows",
    "render_alarm_timeline_png",
    "render_html",
    "render_load_plot_png",
    "render_map_png",
    "render_page_png",
    "write_pdf",
    "zone_load_rows",
    "zone_rows",
]

A4_IN = (8.27, 11.69)
PAGE_DPI = 150
PDF_PAGES = 4
_PRIORITY = {  # face colour, hatch: dark / mid / light so grayscale keeps them apart
    "high": ("#8c1c13", "xxxx"),
    "medium": ("#e0892b", "////"),
    "low": ("#f6e3a1", ""),
}
_INK = "#1d1d1d"
_MUTED = "#666666"
_OVER = "#f4cccc"
_MARKS = {  # marker kind -> (matplotlib marker, colour, legend words)
    "too_much": ("v", "#b3261e", "client said too much"),
    "technique_change": ("D", "#1f5f8b", "technique change"),
    "label": ("o", "#555555", "therapist's mark"),
}
_BASE_FONT = 8


# ------------------------------------------------------------------------------- small helpers


def _figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure, dpi: int = PAGE_DPI) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": "ashiguard"})
    return buf.getvalue()


def _num(v: Any, spec: str = ".1f") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return format(v, spec)


def _fig_width(ax: Axes) -> float:
    fig = ax.get_figure(root=True)
    return float(fig.get_figwidth()) if isinstance(fig, Figure) else A4_IN[0]


def _note(ax: Axes, text: str, *, y: float = 0.5, size: float = _BASE_FONT) -> None:
    width_in = ax.get_position().width * _fig_width(ax)
    chars = max(20, int(width_in * 72 / (size * 0.55)))  # about 0.55 em per character
    ax.text(
        0.5,
        y,
        "\n".join(textwrap.wrap(text, chars)),
        ha="center",
        va="center",
        fontsize=size,
        color=_MUTED,
        transform=ax.transAxes,
    )


def _blank(ax: Axes) -> None:
    ax.set_axis_off()


def _title(ax: Axes, text: str) -> None:
    ax.set_title(text, fontsize=10, loc="left", fontweight="bold", color=_INK)


# -------------------------------------------------------------------------------------- header


def draw_header(ax: Axes, data: ReportData) -> None:
    """Title and the key facts of the session as two columns of label / value."""
    _blank(ax)
    ax.text(
        0.0,
        1.0,
        "Ashiatsu session report",
        fontsize=16,
        fontweight="bold",
        va="top",
        color=_INK,
        transform=ax.transAxes,
    )
    ax.text(
        1.0,
        1.0,
        "ashiguard",
        fontsize=9,
        ha="right",
        va="top",
        color=_MUTED,
        transform=ax.transAxes,
    )
    rows = data.header
    half = math.ceil(len(rows) / 2)
    top, step = 0.78, 0.78 / max(half, 1)
    for col, chunk in enumerate((rows[:half], rows[half:])):
        x = 0.0 if col == 0 else 0.5
        for i, (label, value) in enumerate(chunk):
            y = top - i * step
            ax.text(x, y, label, fontsize=7.5, color=_MUTED, va="top", transform=ax.transAxes)
            ax.text(
                x + 0.14,
                y,
                _clip(value, 62),
                fontsize=7.5,
                color=_INK,
                va="top",
                transform=ax.transAxes,
            )
    ax.plot(
        [0, 1],
        [-0.04, -0.04],
        color="#999999",
        linewidth=0.8,
        transform=ax.transAxes,
        clip_on=False,
    )


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ----------------------------------------------------------------------------------------- maps


def draw_map(
    fig: Figure,
    ax: Axes,
    maps: SessionMaps | None,
    body: BodyFrame | None,
    note: str,
    which: str = "peak",
) -> None:
    """Peak (``which='peak'``, kPa) or dose (``'dose'``, kPa·s) map: on the body outline when
    the grid is in the body frame, otherwise the plain grid with ``note``."""
    label = "peak pressure" if which == "peak" else "pressure-time dose"
    if maps is None:
        _blank(ax)
        _title(ax, label.capitalize())
        _note(ax, note)
        return
    values = maps.peak_kpa if which == "peak" else maps.dose_kpa_s
    unit = maps.units if which == "peak" else f"{maps.units}·s"
    finite = values[np.isfinite(values)]
    vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    if body is not None:
        mesh = draw_body(ax, body.zone_map, values, body.grid, vmax_kpa=vmax, labels=True)
        if mesh is not None:
            mesh.set_rasterized(True)  # thousands of quads: an image in the PDF, not paths
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(labelsize=5)
        caption = body.caption
    else:
        mesh = _draw_grid(ax, values, maps, vmax)
        caption = note
    if body is not None:
        ax.set_xticks([])
        ax.set_yticks([])
    lines = textwrap.wrap(caption, 70)
    ax.set_title(
        f"{label.capitalize()} per sensel, {unit}", fontsize=9, color=_INK, pad=6 + 8 * len(lines)
    )
    ax.text(
        0.5,
        1.01,
        "\n".join(lines),
        ha="center",
        va="bottom",
        fontsize=6.3,
        color=_MUTED,
        wrap=True,
        transform=ax.transAxes,
    )
    ax.set_anchor("N")
    if mesh is not None:
        # the plain grid has an x label under it, the body map none
        cax = _under(fig, ax, 0.1 if body is not None else 0.5, 0.12)
        cbar = fig.colorbar(mesh, cax=cax, orientation="horizontal")
        cbar.set_label(f"{label}, {unit} (max {vmax:.0f})", fontsize=7)
        cbar.ax.tick_params(labelsize=6)


def _under(fig: Figure, ax: Axes, gap_in: float, height_in: float) -> Axes:
    """An inset axes ``gap_in`` below the drawn (equal-aspect) box of ``ax``, as wide as it."""
    pos = ax.get_position()
    fig_w, fig_h = fig.get_size_inches()
    w_in, h_in = pos.width * fig_w, pos.height * fig_h
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    ratio = abs(y1 - y0) / max(abs(x1 - x0), 1e-9)
    drawn_h = min(h_in, w_in * ratio)
    return ax.inset_axes((0.0, -(gap_in + height_in) / drawn_h, 1.0, height_in / drawn_h))


def _draw_grid(ax: Axes, values: npt.NDArray[np.float64], maps: SessionMaps, vmax: float) -> Any:
    rows, cols = values.shape
    masked = np.ma.masked_less_equal(np.ma.masked_invalid(values), 0.0)
    extent = (0.0, cols * maps.pitch_mm, rows * maps.row_pitch_mm, 0.0)
    ax.set_facecolor("#eeeeee")
    img = ax.imshow(
        masked,
        cmap="inferno",
        vmin=0.0,
        vmax=vmax,
        extent=extent,
        interpolation="nearest",
        aspect="equal",
    )
    ax.set_xlabel("column, mm", fontsize=7)
    ax.set_ylabel("row, mm", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.text(
        0.02,
        0.98,
        "no body frame\ngrey: no load or not reporting",
        transform=ax.transAxes,
        fontsize=7,
        va="top",
        color="white",
        bbox={"fc": "#333333", "ec": "none", "pad": 2},
    )
    return img


def render_map_png(
    maps: SessionMaps | None,
    body: BodyFrame | None,
    note: str,
    which: str = "peak",
    dpi: int = PAGE_DPI,
) -> bytes:
    """PNG bytes of one map (see :func:`draw_map`)."""
    fig = _figure((4.6, 8.4) if body is not None else (4.6, 6.0))
    ax = fig.add_axes((0.12, 0.14, 0.82, 0.8))
    draw_map(fig, ax, maps, body, note, which)
    return _png(fig, dpi)


# ----------------------------------------------------------------------------------------- load


def draw_load(
    ax: Axes,
    summary: Mapping[str, Any],
    bars: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
) -> None:
    """Load on the client over time, N, with % of the therapist's weight and the allowed share.

    Parameters
    ----------
    summary : dict
        ``ashiguard.analysis/1`` summary: ``load.series`` (1 s bins of mean and max load, N),
        ``therapist_weight_n`` and ``load.allowed_share``.
    bars : (time s, force [n, 2] N), optional
        Left and right overhead-bar forces, drawn on the same axis.
    """
    load = summary.get("load", {})
    series = load.get("series") or []
    weight = summary.get("therapist_weight_n")
    _title(ax, "Load on the client")
    if not series and bars is None:
        ax.set_axis_off()
        reason = summary.get("checks", {}).get("unsupported_weight", {}).get("reason", "")
        _note(ax, "Load on the client was not measured" + (f": {reason}." if reason else "."))
        return
    if series:
        t = np.array([float(s["t"]) for s in series]) + 0.5 * float(load.get("bin_s", 1.0))
        mean = np.array([_float(s.get("load_n")) for s in series])
        peak = np.array([_float(s.get("max_load_n")) for s in series])
        ax.fill_between(
            t, mean, peak, color="#bbbbbb", alpha=0.6, linewidth=0, label="max within 1 s"
        )
        ax.plot(t, mean, color=_INK, linewidth=1.3, label="load on the client (1 s mean)")
    if bars is not None:
        bt, bf = bars
        ax.plot(bt, bf[:, 0], color="#2b6cb0", linewidth=0.7, linestyle="--", label="left bar")
        ax.plot(bt, bf[:, 1], color="#2b6cb0", linewidth=0.7, linestyle=":", label="right bar")
    share = load.get("allowed_share")
    w = float(weight or 0.0)
    known = bool(summary.get("therapist_mass_known", True)) and w > 0
    if share is not None and known:
        ax.axhline(
            share * w,
            color="#8c1c13",
            linewidth=1.1,
            linestyle=(0, (6, 3)),
            label=f"allowed: {share * 100:.0f} % of body weight",
        )
    if known:

        def to_pct(n: Any) -> Any:
            return np.asarray(n, dtype=np.float64) / w * 100.0

        def to_n(p: Any) -> Any:
            return np.asarray(p, dtype=np.float64) * w / 100.0

        sec = ax.secondary_yaxis("right", functions=(to_pct, to_n))
        sec.set_ylabel("% of therapist's weight", fontsize=7)
        sec.tick_params(labelsize=6)
    top = ax.get_ylim()[1]
    ax.set_ylim(0, top * 1.3)  # headroom for the legend
    ax.set_xlabel("time, s", fontsize=7)
    ax.set_ylabel("force, N", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.grid(True, color="#dddddd", linewidth=0.5)
    wide = ax.get_position().width * _fig_width(ax) > 5.0
    ax.legend(fontsize=6 if wide else 5.5, loc="upper left", ncols=3 if wide else 2, frameon=False)
    source = load.get("source")
    if source:
        ax.text(
            1.0,
            1.01,
            f"source: {source}",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=6,
            color=_MUTED,
        )


def _float(v: Any) -> float:
    return float("nan") if v is None else float(v)


def render_load_plot_png(
    summary: Mapping[str, Any],
    bars: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
    dpi: int = PAGE_DPI,
) -> bytes:
    """PNG bytes of :func:`draw_load` (8 x 3 in)."""
    fig = _figure((8.0, 3.0))
    ax = fig.add_axes((0.08, 0.16, 0.82, 0.72))
    draw_load(ax, summary, bars)
    return _png(fig, dpi)


# ------------------------------------------------------------------------------------- timeline


def draw_timeline(
    ax: Axes,
    alerts: Sequence[Mapping[str, Any]],
    duration_s: float,
    t0_s: float = 0.0,
    markers: Sequence[Any] = (),
) -> None:
    """One row per alarm kind, spans ``t_start``..``t_end`` (s) coloured by priority; with
    ``markers`` (:class:`~ashiguard.services.delivery.MarkerRow`) a bottom row of marks, and a
    "too much" drawn as a dotted line across every row."""
    _title(ax, "Alarm timeline" + (" and markers" if markers else ""))
    end = t0_s + max(float(duration_s), 1e-6)
    for a in alerts:
        end = max(end, float(a["t_end"]))
    for m in markers:
        end = max(end, float(m.t))
    min_w = (end - t0_s) * 0.004
    extra = 1 if markers else 0
    for row, kind in enumerate(KINDS):
        y = len(KINDS) - 1 - row + extra
        ax.axhspan(y - 0.5, y + 0.5, color="#f5f5f5" if row % 2 else "white", zorder=0)
        for a in (a for a in alerts if a["kind"] == kind):
            colour, hatch = _PRIORITY.get(str(a.get("priority")), _PRIORITY["medium"])
            t0 = float(a["t_start"])
            w = max(float(a["t_end"]) - t0, min_w)
            ax.broken_barh(
                [(t0, w)],
                (y - 0.34, 0.68),
                facecolors=colour,
                edgecolor=_INK,
                linewidth=0.4,
                hatch=hatch,
                zorder=2,
            )
    counts = {k: sum(1 for a in alerts if a["kind"] == k) for k in KINDS}
    labels = [f"{k.replace('_', ' ')} ({counts[k]})" for k in reversed(KINDS)]
    if markers:
        ax.axhspan(-0.5, 0.5, color="#eef3f8", zorder=0)
        for m in markers:
            shape, colour, _ = _MARKS.get(m.kind, _MARKS["label"])
            ax.plot([m.t], [0], marker=shape, color=colour, markersize=6, zorder=4, ls="none")
            if m.kind == "too_much":
                ax.axvline(m.t, color=colour, linewidth=0.8, linestyle=":", zorder=3)
        labels.insert(0, f"markers ({len(markers)})")
    ax.set_yticks(range(len(KINDS) + extra))
    ax.set_yticklabels(labels, fontsize=6.5)
    ax.set_ylim(-0.5, len(KINDS) + extra - 0.5)
    ax.set_xlim(t0_s, end)
    ax.set_xlabel("time, s", fontsize=7)
    ax.tick_params(axis="x", labelsize=6)
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.5)
    handles: list[Any] = [
        Patch(facecolor=c, hatch=h, edgecolor=_INK, linewidth=0.4, label=p)
        for p, (c, h) in _PRIORITY.items()
    ]
    kinds = [k for k in _MARKS if any(m.kind == k for m in markers)]
    for k in kinds:
        shape, colour, words = _MARKS[k]
        handles.append(Line2D([], [], marker=shape, color=colour, ls="none", label=words))
    ax.legend(
        handles=handles,
        fontsize=6,
        loc="upper right",
        bbox_to_anchor=(1.0, -0.16),
        ncols=3,
        frameon=False,
        borderaxespad=0.2,
        title_fontsize=6,
    )
    if not alerts:
        ax.text(
            0.5,
            0.5,
            "no alarm episodes" + (" (markers in the bottom row)" if markers else ""),
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8,
            color=_MUTED,
        )


def render_alarm_timeline_png(
    alerts: Sequence[Mapping[str, Any]],
    duration_s: float,
    dpi: int = PAGE_DPI,
    markers: Sequence[Any] = (),
) -> bytes:
    """PNG bytes of :func:`draw_timeline` (8 x 3 in); time axis 0..``duration_s`` s."""
    fig = _figure((8.0, 3.0))
    ax = fig.add_axes((0.22, 0.2, 0.74, 0.68))
    draw_timeline(ax, alerts, duration_s, markers=markers)
    return _png(fig, dpi)


# --------------------------------------------------------------------------------------- tables


def zone_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-zone table rows (zone, peak, mean, contact, over limit, dose, limit) in contract zone
    order; ``is_over`` is True when the zone went over its limit or an avoided zone (screening
    or clinic ``avoid_zones``, limit shown as ``avoid``) was touched."""
    avoid = set((summary.get("limits") or {}).get("avoid_zones") or ())
    out = []
    for zone, z in summary.get("zones", {}).items():
        peak = z.get("peak_kpa")
        peak_txt = _num(peak) if peak is not None else f"< {_num(z.get('peak_below_kpa'))}"
        in_contact = (z.get("contact_s") or 0) > 0
        limit = _num(z.get("limit_kpa"), ".0f")
        out.append(
            {
                "zone": zone,
                "name": zone_words(zone),
                "peak": peak_txt,
                "mean": _num(z.get("mean_kpa")),
                "contact": _num(z.get("contact_s")),
                "over": _num(z.get("over_limit_s")),
                "dose": _num(z.get("dose_kpa_s"), ".0f"),
                "limit": f"avoid ({limit})" if zone in avoid else limit,
                "is_over": (z.get("over_limit_s") or 0) > 0 or (zone in avoid and in_contact),
                "in_contact": in_contact,
            }
        )
    return out


def zone_load_rows(summary: Mapping[str, Any]) -> list[dict[str, str]]:
    """Rows of the "where the load goes" table of a mat under the client (``zone_load``),
    by share, zones that took some of the load only; empty when it was not applied."""
    zl = summary.get("zone_load") or {}
    if zl.get("status") != "applied":
        return []
    items = sorted(
        ((z, v) for z, v in (zl.get("zones") or {}).items() if (v.get("share") or 0) > 0),
        key=lambda kv: -float(kv[1]["share"]),
    )
    return [
        {
            "zone": z,
            "share": f"{100.0 * float(v['share']):.1f}",
            "mean": _num(v.get("mean_n"), ".0f"),
            "peak": _num(v.get("peak_n"), ".0f"),
            "impulse": _num(v.get("impulse_n_s"), ".0f"),
        }
        for z, v in items
    ]


_ZONE_LOAD_COLS = (
    ("zone", "zone"),
    ("share", "share %"),
    ("mean", "mean N"),
    ("peak", "peak N"),
    ("impulse", "impulse N·s"),
)
_ZONE_LOAD_NOTE = (
    "Mat under the client: the therapist's load transmitted through the body, per zone "
    "(change against the client-alone frames; the body spreads it to neighbouring zones)."
)


def _table_note(ax: Axes, text: str) -> None:
    """A small grey note above a table's top right corner."""
    ax.text(
        1.0,
        1.01,
        text,
        fontsize=5.5,
        color=_MUTED,
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        wrap=True,
    )


def _draw_zone_load_table(ax: Axes, summary: Mapping[str, Any], max_rows: int) -> bool:
    rows = zone_load_rows(summary)
    if not rows:
        return False
    _title(ax, "Where the load goes")
    cells = [[r[k] for k, _ in _ZONE_LOAD_COLS] for r in rows[:max_rows]]
    _table(ax, [h for _, h in _ZONE_LOAD_COLS], cells, (0.3, 0.16, 0.16, 0.16, 0.18))
    _table_note(ax, "therapist's load through the body: change vs the client-alone frames")
    return True


_ZONE_COLS = (
    ("name", "zone"),
    ("peak", "peak kPa"),
    ("mean", "mean kPa"),
    ("contact", "contact s"),
    ("over", "over limit s"),
    ("dose", "dose kPa·s"),
    ("limit", "limit kPa"),
)


def _table(
    ax: Axes,
    header: Sequence[str],
    cells: Sequence[Sequence[str]],
    widths: Sequence[float],
    *,
    highlight: Sequence[bool] = (),
    font: float = 7.0,
) -> None:
    ax.set_axis_off()
    table = ax.table(
        cellText=[list(r) for r in cells],
        colLabels=list(header),
        colWidths=list(widths),
        loc="upper center",
        cellLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(font)
    table.scale(1.0, 1.25)
    for (r, _c), cell in table.get_celld().items():
        cell.PAD = 0.04  # the default pads a wide column by a tenth of its width
        cell.set_edgecolor("#cccccc")
        cell.set_linewidth(0.4)
        if r == 0:
            cell.set_facecolor("#e6e6e6")
            cell.get_text().set_fontweight("bold")
        elif r - 1 < len(highlight) and highlight[r - 1]:
            cell.set_facecolor(_OVER)
            cell.get_text().set_fontweight("bold")


def draw_zone_table(ax: Axes, summary: Mapping[str, Any], *, max_rows: int | None = None) -> None:
    """Per-zone table; rows over their limit are shaded and bold. ``max_rows`` keeps the zones
    in contact first (most over limit, then highest dose) and says how many were left out."""
    _title(ax, "Zones")
    rows = zone_rows(summary)
    if not rows and _draw_zone_load_table(ax, summary, max_rows or 23):
        return
    if not rows:
        ax.set_axis_off()
        reason = summary.get("checks", {}).get("zone_pressure", {}).get("reason", "")
        _note(ax, "No body zones on this sensor" + (f": {reason}." if reason else "."), y=0.85)
        return
    left_out = 0
    if max_rows is not None:
        left_out = sum(1 for r in rows if not r["in_contact"])
        rows = [r for r in rows if r["in_contact"]]
        if not rows:
            ax.set_axis_off()
            _note(ax, f"No contact in any of the {left_out} body zones.", y=0.85)
            return
    if max_rows is not None and len(rows) > max_rows:
        zones = summary["zones"]
        rows = sorted(
            rows,
            key=lambda r: (
                -(zones[r["zone"]].get("over_limit_s") or 0),
                -(zones[r["zone"]].get("dose_kpa_s") or 0),
            ),
        )
        left_out += len(rows) - max_rows
        rows = rows[:max_rows]
    cells = [[r[k] for k, _ in _ZONE_COLS] for r in rows]
    _table(
        ax,
        [h for _, h in _ZONE_COLS],
        cells,
        (0.25, 0.12, 0.12, 0.12, 0.13, 0.13, 0.12),
        highlight=[r["is_over"] for r in rows],
        font=6.5 if max_rows else 7.0,
    )
    foot = "Peak: max over 2x2-sensel boxes inside the zone; '< x' = never near a limit (bound)."
    if left_out:
        foot = (
            f"{left_out} zones with less or no contact not shown (full table: PDF or HTML "
            "report). " + foot
        )
    _table_note(ax, foot)


def draw_checks_table(ax: Axes, summary: Mapping[str, Any], *, font: float = 7.0) -> None:
    """Which checks applied to this data and why (the summary's ``checks``)."""
    _title(ax, "Checks")
    checks = summary.get("checks", {})
    cells = [
        [
            name,
            "applied" if c.get("status") == "applied" else "not applicable",
            _clip(str(c.get("reason", "")), 80 if font >= 7 else 62),
        ]
        for name, c in checks.items()
    ]
    _table(ax, ["check", "status", "why"], cells, (0.22, 0.15, 0.63), font=font)


def draw_alert_list(ax: Axes, alerts: Sequence[Mapping[str, Any]], max_rows: int = 18) -> None:
    """The first ``max_rows`` alarm episodes as a table (kind, priority, zone, times, peak)."""
    _title(ax, "Alarm episodes")
    if not alerts:
        ax.set_axis_off()
        _note(ax, "No alarm episodes in this session.", y=0.85)
        return
    cells = [
        [
            str(a["kind"]),
            str(a.get("priority", "")),
            zone_words(a["zone"]) if a.get("zone") else "–",
            f"{float(a['t_start']):.2f} – {float(a['t_end']):.2f}",
            f"{_num(a.get('peak'))} / {_num(a.get('limit'))} {a.get('unit', '')}".strip(),
        ]
        for a in alerts[:max_rows]
    ]
    _table(
        ax,
        ["kind", "priority", "zone", "t start – end, s", "peak / limit"],
        cells,
        (0.22, 0.11, 0.22, 0.2, 0.25),
        highlight=[a.get("priority") == "high" for a in alerts[:max_rows]],
    )
    if len(alerts) > max_rows:
        ax.text(
            0.0,
            0.0,
            f"… and {len(alerts) - max_rows} more (full list in the alerts file).",
            fontsize=6.5,
            color=_MUTED,
            transform=ax.transAxes,
            va="top",
        )


# -------------------------------------------------------------------- planned vs delivered


_TECHNIQUE_WORDS = {
    "whole_foot_glide": "whole-foot glide",
    "forefoot_glide": "forefoot glide",
    "heel_compression": "heel compression",
    "whole_foot_compression": "whole-foot compression",
    "none": "not to be worked",
}

_DELIVERY_COLS = (
    ("zone", "zone"),
    ("plan", "planned level, technique"),
    ("band", "target kPa"),
    ("loaded", "loaded s"),
    ("in_band", "in band s"),
    ("under", "under s"),
    ("over", "over s"),
    ("peak", "peak kPa"),
    ("score", "score"),
)
_DELIVERY_SHORT = ("zone", "band", "in_band", "over", "peak", "score")
_DELIVERY_NOTE = (
    "Zone pressure: mean of the zone's loaded sensels (the quantity of the plan's bands). "
    "Score 0-100: (in band + half the time under - the time over) / loaded time."
)


def _pct(part: float, whole: float) -> str:
    return f" ({part / whole:.0%})" if whole > 0 and part > 0 else ""


def delivery_rows(delivery: Any, *, loaded_only: bool = False) -> list[dict[str, Any]]:
    """Rows of the planned-vs-delivered table of a
    :class:`~ashiguard.services.delivery.DeliveryReport`: every planned zone and every zone
    not to be worked that was loaded (``loaded_only``: zones loaded at all), in the clinic's
    words; ``is_over`` when the zone spent time over its band or was loaded against the plan."""
    d = getattr(delivery, "delivery", None)
    if d is None:
        return []
    out = []
    for z in d.zones:
        if loaded_only and z.loaded_s <= 0:
            continue
        worked = z.loaded_s > 0
        out.append(
            {
                "zone": zone_words(z.zone),
                "plan": f"{z.level}, {_TECHNIQUE_WORDS.get(z.technique, z.technique)}"
                if z.planned
                else "not to be worked",
                "band": f"{z.low_kpa:.0f}–{z.high_kpa:.0f}"
                if z.low_kpa is not None and z.high_kpa is not None
                else "none",
                "loaded": _num(z.loaded_s) if worked else "not worked",
                "in_band": (_num(z.in_band_s) + _pct(z.in_band_s, z.loaded_s))
                if z.planned and worked
                else "–",
                "under": (_num(z.under_s) + _pct(z.under_s, z.loaded_s))
                if z.planned and worked
                else "–",
                "over": (_num(z.over_s) + _pct(z.over_s, z.loaded_s))
                if z.planned and worked
                else "–",
                "peak": _num(z.peak_kpa),
                "score": _num(z.score, ".0f"),
                "is_over": z.over_s > 0 or (not z.planned and worked),
                "loaded_s": z.loaded_s,
            }
        )
    return out


def delivery_heading(delivery: Any) -> str:
    """The delivery score and the plan used, in one or two sentences."""
    d = delivery.delivery
    if d is None or d.score is None:
        return f"Plan used: {delivery.plan_used}."
    return (
        f"Delivery score {d.score:.0f} / 100 over {d.loaded_s:.1f} s of loaded time on planned "
        f"zones: {d.in_band_s:.1f} s in band, {d.under_s:.1f} s under, {d.over_s:.1f} s over."
        + (f" {d.unplanned_s:.1f} s on zones not to be worked." if d.unplanned_s > 0 else "")
        + f" Plan used: {delivery.plan_used}."
    )


def draw_delivery(
    ax: Axes, delivery: Any, *, max_rows: int | None = None, font: float = 7.0
) -> None:
    """The planned-vs-delivered table (``max_rows``: the loaded zones only, shortest columns,
    most time over first) with the score and the plan used above it, or why it does not apply."""
    _title(ax, "Planned vs delivered")
    if delivery is None or delivery.delivery is None:
        ax.set_axis_off()
        why = "no plan" if delivery is None else delivery.reason
        _note(ax, f"Not applicable: {why}.", y=0.85, size=font)
        return
    rows = delivery_rows(delivery, loaded_only=max_rows is not None)
    cols = _DELIVERY_COLS
    widths: tuple[float, ...] = (0.19, 0.2, 0.08, 0.09, 0.1, 0.1, 0.1, 0.08, 0.06)
    left_out = 0
    if max_rows is not None:
        cols = tuple(c for c in _DELIVERY_COLS if c[0] in _DELIVERY_SHORT)
        widths = (0.32, 0.13, 0.16, 0.14, 0.13, 0.1)
        rows = sorted(rows, key=lambda r: -r["loaded_s"])
        left_out = max(0, len(rows) - max_rows)
        rows = rows[:max_rows]
    heading = delivery_heading(delivery)
    fig = ax.get_figure(root=True)
    height_in = ax.get_position().height * (
        float(fig.get_figheight()) if isinstance(fig, Figure) else A4_IN[1]
    )
    width_in = ax.get_position().width * _fig_width(ax)
    chars = max(40, int(width_in * 72 / (font * 0.52)))
    foot = _DELIVERY_NOTE
    if left_out:
        foot = f"{left_out} more loaded zones in the PDF or HTML report. " + foot
    head_lines = textwrap.wrap(heading, chars)
    foot_lines = textwrap.wrap(foot, int(chars * 1.2))
    ax.set_axis_off()
    ax.text(0.0, 1.0, "\n".join(head_lines), fontsize=font, color=_INK, va="top",
            transform=ax.transAxes)  # fmt: skip
    used_in = len(head_lines) * font * 1.3 / 72
    ax.text(0.0, 1.0 - used_in / height_in, "\n".join(foot_lines), fontsize=font - 1.2,
            color=_MUTED, va="top", transform=ax.transAxes)  # fmt: skip
    used_in += len(foot_lines) * (font - 1.2) * 1.3 / 72 + 0.06
    if not rows:
        _note(ax, "No zone was loaded.", y=0.5, size=font)
        return
    inner = ax.inset_axes((0.0, 0.0, 1.0, max(0.1, 1.0 - used_in / height_in)))
    _table(
        inner,
        [h for _, h in cols],
        [[r[k] for k, _ in cols] for r in rows],
        widths,
        highlight=[r["is_over"] for r in rows],
        font=font,
    )


def marker_rows(markers: Sequence[Any]) -> list[dict[str, str]]:
    """Rows of the markers table: time, what, who, zone and pressure at that moment."""
    return [
        {
            "t": f"{m.t:.1f}",
            "what": m.words,
            "who": m.who or "–",
            "zone": m.zone_words,
            "pressure": m.pressure_words,
            "kind": m.kind,
        }
        for m in markers
    ]


_MARKER_COLS = (
    ("t", "time s"),
    ("what", "marker"),
    ("who", "by"),
    ("zone", "zone then"),
    ("pressure", "pressure then"),
)
_MARKER_NOTE = (
    "Pressure then: the zone's pressure (mean of its loaded sensels) in the frame of the "
    "marker; peak as stored live; load on the client."
)


def draw_markers_table(ax: Axes, markers: Sequence[Any], max_rows: int = 14) -> None:
    """The session's markers with the zone and pressure at each moment."""
    _title(ax, f"Markers ({len(markers)})")
    if not markers:
        ax.set_axis_off()
        _note(ax, "No markers in this session (no 'too much', technique change or label).", y=0.85)
        return
    rows = marker_rows(markers)
    _table(
        ax,
        [h for _, h in _MARKER_COLS],
        [[r[k] for k, _ in _MARKER_COLS] for r in rows[:max_rows]],
        (0.08, 0.27, 0.1, 0.25, 0.3),
        highlight=[r["kind"] == "too_much" for r in rows[:max_rows]],
    )
    _table_note(ax, _MARKER_NOTE if len(rows) <= max_rows else f"first {max_rows} of {len(rows)}")


# ---------------------------------------------------------------------------------------- pages


def _footer(fig: Figure, data: ReportData, page: int, pages: int) -> None:
    name = Path(data.recording).name
    fig.text(0.06, 0.015, f"ashiguard session report · {name}", fontsize=6.5, color=_MUTED)
    fig.text(0.94, 0.015, f"page {page} of {pages}", fontsize=6.5, color=_MUTED, ha="right")


def _page_maps(data: ReportData) -> Figure:
    fig = _figure(A4_IN)
    draw_header(fig.add_axes((0.06, 0.83, 0.88, 0.14)), data)
    if data.body is not None or data.maps is None:
        draw_map(
            fig, fig.add_axes((0.05, 0.1, 0.42, 0.68)), data.maps, data.body, data.map_note, "peak"
        )
        draw_map(
            fig, fig.add_axes((0.53, 0.1, 0.42, 0.68)), data.maps, data.body, data.map_note, "dose"
        )
    else:
        draw_map(fig, fig.add_axes((0.08, 0.14, 0.38, 0.62)), data.maps, None, data.map_note)
        draw_map(
            fig, fig.add_axes((0.56, 0.14, 0.38, 0.62)), data.maps, None, data.map_note, "dose"
        )
    for i, note in enumerate(data.notes):
        fig.text(0.06, 0.06 - i * 0.015, note, fontsize=7, color=_MUTED)
    return fig


def _page_delivery(data: ReportData) -> Figure:
    fig = _figure(A4_IN)
    draw_delivery(fig.add_axes((0.06, 0.4, 0.88, 0.56)), data.delivery)
    draw_markers_table(fig.add_axes((0.06, 0.06, 0.88, 0.28)), data.markers)
    return fig


def _page_time(data: ReportData) -> Figure:
    fig = _figure(A4_IN)
    draw_load(fig.add_axes((0.1, 0.67, 0.8, 0.26)), data.summary, data.bars)
    draw_timeline(
        fig.add_axes((0.27, 0.4, 0.65, 0.21)),
        data.alerts,
        data.duration_s,
        data.t0_s,
        data.markers,
    )
    draw_alert_list(fig.add_axes((0.06, 0.05, 0.88, 0.28)), data.alerts)
    return fig


def _page_tables(data: ReportData) -> Figure:
    fig = _figure(A4_IN)
    draw_zone_table(fig.add_axes((0.06, 0.36, 0.88, 0.6)), data.summary)
    draw_checks_table(fig.add_axes((0.06, 0.06, 0.88, 0.24)), data.summary)
    return fig


def write_pdf(data: ReportData, path: str | Path) -> Path:
    """Write the report as a PDF of :data:`PDF_PAGES` A4 portrait pages."""
    pages = (_page_maps, _page_delivery, _page_time, _page_tables)
    meta = {
        "Title": f"Ashiatsu session report: {Path(data.recording).name}",
        "Author": "ashiguard",
        "Subject": "barefoot massage session report",
    }
    with PdfPages(path, metadata=meta) as pdf:
        for i, page in enumerate(pages, start=1):
            fig = page(data)
            _footer(fig, data, i, len(pages))
            pdf.savefig(fig, dpi=200)  # resolution of the rasterized heatmaps
    return Path(path)


def render_page_png(data: ReportData, dpi: int = PAGE_DPI) -> bytes:
    """The whole report on one A4 portrait PNG (``A4_IN`` x ``dpi`` pixels)."""
    fig = _figure(A4_IN)
    draw_header(fig.add_axes((0.05, 0.855, 0.9, 0.125)), data)
    draw_map(fig, fig.add_axes((0.03, 0.35, 0.38, 0.44)), data.maps, data.body, data.map_note)
    draw_load(fig.add_axes((0.5, 0.67, 0.42, 0.14)), data.summary, data.bars)
    draw_timeline(
        fig.add_axes((0.62, 0.455, 0.33, 0.16)),
        data.alerts,
        data.duration_s,
        data.t0_s,
        data.markers,
    )
    draw_delivery(fig.add_axes((0.45, 0.215, 0.52, 0.17)), data.delivery, max_rows=5, font=5.8)
    draw_zone_table(fig.add_axes((0.05, 0.035, 0.9, 0.15)), data.summary, max_rows=6)
    fig.text(0.05, 0.012, _checks_line(data.summary), fontsize=5.5, color=_MUTED)
    _marker_lines(fig, data.markers, (0.05, 0.278), 5)
    return _png(fig, dpi)


def _marker_lines(fig: Figure, markers: Sequence[Any], at: tuple[float, float], most: int) -> None:
    """The first ``most`` markers as short lines of text (the one-page PNG)."""
    if not markers:
        return
    lines = [f"Markers ({len(markers)}): zone and pressure at that moment"]
    for m in markers[:most]:
        lines += textwrap.wrap(
            f"{m.t:.1f} s  {m.words} ({m.who or 'unknown'}): {m.zone_words}, {m.pressure_words}",
            78,
            subsequent_indent="        ",
        )
    if len(markers) > most:
        lines.append(f"… and {len(markers) - most} more (PDF or HTML report).")
    fig.text(at[0], at[1], lines[0], fontsize=7, fontweight="bold", color=_INK, va="top")
    fig.text(at[0], at[1] - 0.013, "\n".join(lines[1:]), fontsize=6, color=_INK, va="top")


def _checks_line(summary: Mapping[str, Any]) -> str:
    """The checks in one line for the one-page PNG (the PDF and HTML have the table)."""
    checks = summary.get("checks", {})
    applied = sum(1 for c in checks.values() if c.get("status") == "applied")
    off = [k.replace("_", " ") for k, c in checks.items() if c.get("status") != "applied"]
    text = f"Checks: {applied} of {len(checks)} applied"
    return text + (f"; not applicable: {', '.join(off)} (why: PDF or HTML report)." if off else ".")


# ----------------------------------------------------------------------------------------- html


def _img(png: bytes, alt: str) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _html_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str]
) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        f'<tr class="{c}">' + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
        for r, c in zip(rows, classes, strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:Helvetica,Arial,sans-serif;color:#1d1d1d;max-width:58em;margin:2em auto;
padding:0 1em;font-size:14px}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.15em;border-bottom:1px solid #999;
margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border:1px solid #ccc;
padding:3px 6px;text-align:left}th{background:#e6e6e6}
tr.over td,tr.high td{background:#f4cccc;font-weight:bold}
dl{display:grid;grid-template-columns:11em 1fr;gap:2px 1em}dt{color:#666}dd{margin:0}
.maps{display:flex;gap:1em;flex-wrap:wrap}.maps img{width:48%;min-width:18em}
img{max-width:100%}.note{color:#666;font-size:.9em}
@media print{body{margin:0}h2{break-after:avoid}}
"""


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page (PNG images embedded as base64)."""
    e = html.escape
    facts = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in data.header)
    maps = [render_map_png(data.maps, data.body, data.map_note, w) for w in ("peak", "dose")]
    zr = zone_rows(data.summary)
    zones = (
        _html_table(
            [h for _, h in _ZONE_COLS],
            [[r[k] for k, _ in _ZONE_COLS] for r in zr],
            ["over" if r["is_over"] else "" for r in zr],
        )
        if zr
        else '<p class="note">No body zones on this sensor: '
        + e(data.summary.get("checks", {}).get("zone_pressure", {}).get("reason", ""))
        + ".</p>"
    )
    zl = zone_load_rows(data.summary)
    if not zr and zl:
        zones += (
            f'<h3>Where the load goes</h3><p class="note">{e(_ZONE_LOAD_NOTE)}</p>'
            + _html_table(
                [h for _, h in _ZONE_LOAD_COLS],
                [[r[k] for k, _ in _ZONE_LOAD_COLS] for r in zl],
                [""] * len(zl),
            )
        )
    checks = data.summary.get("checks", {})
    check_rows = [
        [k, "applied" if c.get("status") == "applied" else "not applicable", c.get("reason", "")]
        for k, c in checks.items()
    ]
    alerts = _html_table(
        ["kind", "priority", "zone", "t start, s", "t end, s", "peak", "limit", "unit"],
        [
            [
                a["kind"],
                a.get("priority", ""),
                zone_words(a["zone"]) if a.get("zone") else "–",
                f"{float(a['t_start']):.2f}",
                f"{float(a['t_end']):.2f}",
                _num(a.get("peak")),
                _num(a.get("limit")),
                a.get("unit", ""),
            ]
            for a in data.alerts
        ],
        ["high" if a.get("priority") == "high" else "" for a in data.alerts],
    )
    notes = "".join(f'<p class="note">{e(n)}</p>' for n in data.notes)
    delivery = _html_delivery(data)
    mr = marker_rows(data.markers)
    markers = (
        f'<p class="note">{e(_MARKER_NOTE)}</p>'
        + _html_table(
            [h for _, h in _MARKER_COLS],
            [[r[k] for k, _ in _MARKER_COLS] for r in mr],
            ["over" if r["kind"] == "too_much" else "" for r in mr],
        )
        if mr
        else '<p class="note">No markers in this session.</p>'
    )
    title = f"Ashiatsu session report: {Path(data.recording).name}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<meta name="generator" content="ashiguard"><style>{_CSS}</style></head><body>
<h1>Ashiatsu session report</h1>
<dl>{facts}</dl>{notes}
<h2>Pressure maps</h2>
<p class="note">{e(data.body.caption if data.body is not None else data.map_note)}</p>
<div class="maps">{_img(maps[0], "peak pressure map")}{_img(maps[1], "dose map")}</div>
<h2>Planned vs delivered</h2>
{delivery}
<h2>Markers ({len(mr)})</h2>
{markers}
<h2>Load on the client</h2>
{_img(render_load_plot_png(data.summary, data.bars), "load on the client over time")}
<h2>Alarm timeline</h2>
{_img(_timeline_png(data), "alarm timeline")}
<h2>Alarm episodes ({len(data.alerts)})</h2>
{alerts if data.alerts else '<p class="note">No alarm episodes in this session.</p>'}
<h2>Zones</h2>
{zones}
<h2>Checks</h2>
{_html_table(["check", "status", "why"], check_rows, [""] * len(check_rows))}
<p class="note">Generated by ashiguard. Limits are engineering defaults unless a clinic limits
file or a screening set them; they are not clinically validated thresholds.</p>
</body></html>
"""


def _timeline_png(data: ReportData) -> bytes:
    fig = _figure((8.0, 3.0))
    ax = fig.add_axes((0.22, 0.2, 0.74, 0.68))
    draw_timeline(ax, data.alerts, data.duration_s, data.t0_s, data.markers)
    return _png(fig)


def _html_delivery(data: ReportData) -> str:
    e = html.escape
    d = data.delivery
    if d is None or d.delivery is None:
        why = "no plan" if d is None else d.reason
        return f'<p class="note" id="delivery">Not applicable: {e(why)}.</p>'
    rows = delivery_rows(d)
    return (
        f'<p id="delivery">{e(delivery_heading(d))}</p><p class="note">{e(_DELIVERY_NOTE)}</p>'
        + _html_table(
            [h for _, h in _DELIVERY_COLS],
            [[r[k] for k, _ in _DELIVERY_COLS] for r in rows],
            ["over" if r["is_over"] else "" for r in rows],
        )
    )
