"""PNG plots of a finished session for the review page (matplotlib, no pyplot state)."""

from __future__ import annotations

import io
import warnings
from typing import Any

from ashiguard.bootstrap import Settings

__all__ = ["render_plot"]

_PRIORITY_COLOURS = {"high": "#b3261e", "medium": "#f0a020", "low": "#d8b44a"}
_KIND_ORDER = (
    "spine_pressure",
    "kidney_pressure",
    "zone_pressure",
    "restricted_zone",
    "unsupported_weight",
    "sudden_shift",
    "uneven_load",
    "sensor_fault",
)


def _figure(w: float = 7.5, h: float = 3.0) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=110, layout="constrained")
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", color="#6b7785", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _load(t: Any) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    load = (t.summary or {}).get("load") or {}
    series = load.get("series") or []
    if not series:
        _empty(ax, "no load data in this session")
        return _png(fig)
    xs = [p["t"] for p in series]
    ax.fill_between(
        xs, [p["max_load_n"] for p in series], color="#9cc3e0", alpha=0.6, label="max in bin"
    )
    ax.plot(xs, [p["load_n"] for p in series], color="#1f5f8b", lw=1.2, label="mean load")
    weight = (t.summary or {}).get("therapist_weight_n")
    allowed = load.get("allowed_share")
    if weight and allowed:
        ax.axhline(
            weight * allowed,
            color="#b3261e",
            ls="--",
            lw=1,
            label=f"allowed {allowed * 100:.0f} % of body weight",
        )
    ax.set_xlabel("time, s")
    ax.set_ylabel("load on the client, N")
    ax.set_title(f"Load on the client ({load.get('source') or 'unknown source'})", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(alpha=0.3)
    return _png(fig)


def _dose(t: Any) -> bytes:
    from ashiguard.domain.zone_names import ENDANGERMENT_ZONE_SLUGS

    zones = (t.summary or {}).get("zones") or {}
    rows = sorted(((z, v.get("dose_kpa_s") or 0.0) for z, v in zones.items()), key=lambda x: x[1])
    fig = _figure(7.5, max(2.5, 0.25 * len(rows) + 1))
    ax = fig.add_subplot()
    if not rows:
        _empty(ax, "no zone contact in this session")
        return _png(fig)
    colours = ["#b3261e" if z in ENDANGERMENT_ZONE_SLUGS else "#1f5f8b" for z, _ in rows]
    ax.barh([z.replace("_", " ") for z, _ in rows], [d for _, d in rows], color=colours)
    ax.set_xlabel("pressure dose, kPa·s (red: endangerment zones)")
    ax.set_title("Dose per zone", fontsize=10)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _alarms(t: Any) -> bytes:
    alerts = t.alerts or []
    fig = _figure(7.5, 2.8)
    ax = fig.add_subplot()
    if not alerts:
        _empty(ax, "no alarm in this session")
        return _png(fig)
    kinds = [k for k in _KIND_ORDER if any(a["kind"] == k for a in alerts)]
    for a in alerts:
        y = kinds.index(a["kind"])
        width = max(float(a["t_end"]) - float(a["t_start"]), 0.2)
        ax.barh(
            y,
            width,
            left=float(a["t_start"]),
            height=0.6,
            color=_PRIORITY_COLOURS.get(a.get("priority", "low"), "#888"),
        )
    ax.set_yticks(range(len(kinds)), [k.replace("_", " ") for k in kinds], fontsize=7)
    ax.set_xlabel("time, s (red high, orange medium, yellow low priority)")
    ax.set_title("Alarm timeline", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _body(t: Any, settings: Settings) -> bytes:
    import numpy as np

    from ashiguard.adapters.drawing import render_png
    from ashiguard.adapters.recording import open_recording
    from ashiguard.domain.zones import Grid, ZoneMap

    path = settings.data_dir / t.recording_path if t.recording_path else None
    if path is None or not path.exists():
        fig = _figure(4, 3)
        _empty(fig.add_subplot(), "no recording for this session")
        return _png(fig)
    with open_recording(path) as rec:
        meta = rec.meta
        height = (meta.client or {}).get("height_cm")
        if (
            meta.rows is None
            or meta.origin_mm is None
            or not height
            or meta.placement != "on_client"
        ):
            fig = _figure(4, 3)
            _empty(fig.add_subplot(), "recording has no contact sheet on the body frame")
            return _png(fig)
        peak = np.full((meta.rows, meta.cols), np.nan, dtype=np.float32)
        for _, p in rec.iter_chunks(1024):
            if p.size:
                with warnings.catch_warnings():  # all-NaN sensels stay NaN (transparent)
                    warnings.simplefilter("ignore", RuntimeWarning)
                    peak = np.fmax(peak, np.nanmax(p, axis=0))
        grid = Grid(meta.rows, meta.cols, meta.pitch_mm, origin_mm=tuple(meta.origin_mm))
        zm = ZoneMap.from_height(float(height) * 10.0)
    return render_png(zm, peak, grid, title="Peak pressure over the session", dpi=90)


def render_plot(name: str, t: Any, settings: Settings) -> bytes:
    """PNG bytes of plot ``name`` (load, dose, alarms or body) of a finished session ``t``."""
    if name == "load":
        return _load(t)
    if name == "dose":
        return _dose(t)
    if name == "alarms":
        return _alarms(t)
    return _body(t, settings)
