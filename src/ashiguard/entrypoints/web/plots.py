"""The review page's figures and tables of a finished session: PNG plots (matplotlib, no
pyplot state), planned vs delivered per zone and the markers (:func:`review_data`)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ashiguard.settings import Settings

__all__ = ["render_plot", "render_trends", "review_data"]


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


def _recording(t: Any, settings: Settings) -> Path | None:
    path = settings.data_dir / t.recording_path if t.recording_path else None
    return path if path is not None and path.exists() else None


def _load(t: Any) -> bytes:
    from ashiguard.services.report import render_load_plot_png

    if not ((t.summary or {}).get("load") or {}).get("series"):
        fig = _figure()
        _empty(fig.add_subplot(), "no load data in this session")
        return _png(fig)
    return render_load_plot_png(t.summary)


def _dose(t: Any) -> bytes:
    from ashiguard.domain.zone_names import ENDANGERMENT_ZONE_SLUGS, zone_words

    zones = (t.summary or {}).get("zones") or {}
    rows = sorted(((z, v.get("dose_kpa_s") or 0.0) for z, v in zones.items()), key=lambda x: x[1])
    fig = _figure(7.5, max(2.5, 0.25 * len(rows) + 1))
    ax = fig.add_subplot()
    if not rows:
        _empty(ax, "no zone contact in this session")
        return _png(fig)
    colours = ["#b3261e" if z in ENDANGERMENT_ZONE_SLUGS else "#1f5f8b" for z, _ in rows]
    ax.barh([zone_words(z) for z, _ in rows], [d for _, d in rows], color=colours)
    ax.set_xlabel("pressure dose, kPa·s (red: endangerment zones)")
    ax.set_title("Dose per zone", fontsize=10)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _markers(t: Any, path: Path | None) -> list[Any]:
    from ashiguard.services.comfort import stored_markers
    from ashiguard.services.delivery import recording_markers

    return recording_markers(path, stored_markers(t))


def _alarms(t: Any, settings: Settings) -> bytes:
    from ashiguard.adapters.recording import open_recording
    from ashiguard.services.report import render_alarm_timeline_png

    # comfort episodes are the "too much" markers, drawn on the markers row
    alerts = [a for a in t.alerts or [] if a.get("kind") != "comfort"]
    path = _recording(t, settings)
    markers = _markers(t, path)
    if not alerts and not markers:
        fig = _figure(7.5, 2.8)
        _empty(fig.add_subplot(), "no alarm and no marker in this session")
        return _png(fig)
    duration = max([float(a["t_end"]) for a in alerts] + [m.t for m in markers])
    if path is not None:
        with open_recording(path) as rec:
            duration = max(duration, float(rec.meta.duration_s or 0.0))
    return render_alarm_timeline_png(alerts, duration, markers)


def _body(t: Any, settings: Settings) -> bytes:
    from ashiguard.services.report import render_peak_map_png

    path = _recording(t, settings)
    if path is None:
        fig = _figure(4, 3)
        _empty(fig.add_subplot(), "no recording for this session")
        return _png(fig)
    return render_peak_map_png(path, "peak")


def review_data(t: Any, payload: dict[str, Any] | None, settings: Settings) -> dict[str, Any]:
    """What the review page shows beyond the stored row: ``delivery`` (a
    :class:`~ashiguard.services.delivery.DeliveryReport`), its table ``delivery_rows`` and
    ``delivery_heading``, the ``markers`` with the pressure at each, and the ``comfort``
    ceiling proposed for the client's next plan (None without "too much" markers).
    ``payload`` is the screening the session was treated under
    (:func:`ashiguard.services.clearances.screening_as_treated`), or None.

    A recording that cannot be read turns into "not applicable" with the reason, never into
    an error page: the stored summary and alarms are still worth reviewing.
    """
    from ashiguard.adapters.report_render import delivery_heading, delivery_rows
    from ashiguard.domain.errors import DomainError
    from ashiguard.services.delivery import DeliveryReport, session_delivery

    path = _recording(t, settings)
    if path is None:
        delivery = DeliveryReport("not_applicable", "no recording for this session")
        markers = _markers(t, None)
    else:
        try:
            delivery = session_delivery(path, payload, None)
            if delivery.plan is None and payload and t.practitioner is not None:
                delivery = session_delivery(path, payload, float(t.practitioner.mass_kg))
            markers = _markers(t, path)
        except DomainError as exc:
            delivery = DeliveryReport("not_applicable", f"recording unreadable: {exc}")
            markers = _markers(t, None)
    return {
        "delivery": delivery,
        "delivery_rows": delivery_rows(delivery),
        "delivery_heading": delivery_heading(delivery) if delivery.delivery else "",
        "markers": markers,
    }


def render_plot(name: str, t: Any, settings: Settings) -> bytes:
    """PNG bytes of plot ``name`` (load, dose, alarms or body) of a finished session ``t``."""
    if name == "load":
        return _load(t)
    if name == "dose":
        return _dose(t)
    if name == "alarms":
        return _alarms(t, settings)
    return _body(t, settings)


def render_trends(trends: list[Any]) -> bytes:
    """A client's visits side by side: peak load (N) and alarms per session, the dose of the
    four most-worked zones (kPa·s) and pain or tension before and after (0-10, from the
    session's note), session after session (``VisitTrend`` rows)."""
    from ashiguard.domain.zone_names import zone_words

    fig = _figure(7.5, 7.0)
    ax_load, ax_alarms, ax_dose, ax_pain = fig.subplots(4, 1, sharex=True)
    if not trends:
        _empty(ax_load, "no finished session yet")
        for ax in (ax_alarms, ax_dose, ax_pain):
            ax.set_visible(False)
        return _png(fig)
    x = list(range(1, len(trends) + 1))
    labels = [t.started_at.strftime("%d %b") for t in trends]
    ax_load.plot(x, [t.peak_load_n or 0.0 for t in trends], "o-", color="#1f5f8b")
    ax_load.set_ylabel("peak load (N)")
    ax_alarms.bar(x, [t.alarms for t in trends], width=0.5, color="#b3261e", label="alarms")
    ax_alarms.bar(
        x, [-t.too_much for t in trends], width=0.5, color="#7b3fa0", label='"too much" (below)'
    )
    ax_alarms.axhline(0, color="#6b7785", lw=0.8)
    ax_alarms.set_ylabel("alarms / too much")
    ax_alarms.legend(loc="upper left", fontsize=8, frameon=False)
    totals: dict[str, float] = {}
    for t in trends:
        for z, d in t.dose_kpa_s.items():
            totals[z] = totals.get(z, 0.0) + d
    for z in sorted(totals, key=lambda k: totals[k], reverse=True)[:4]:
        ax_dose.plot(x, [t.dose_kpa_s.get(z, 0.0) for t in trends], "o-", label=zone_words(z))
    ax_dose.set_ylabel("dose (kPa·s)")
    if totals:
        ax_dose.legend(loc="upper left", fontsize=8, frameon=False)
    for attr, style, label in (("pain_before", "o--", "before"), ("pain_after", "o-", "after")):
        pts = [(i, getattr(t, attr)) for i, t in zip(x, trends, strict=True)]
        pts = [(i, v) for i, v in pts if v is not None]
        if pts:
            ax_pain.plot([i for i, _ in pts], [v for _, v in pts], style, label=label)
    ax_pain.set_ylim(-0.5, 10.5)
    ax_pain.set_ylabel("pain 0-10")
    if any(t.pain_before is not None or t.pain_after is not None for t in trends):
        ax_pain.legend(loc="upper left", fontsize=8, frameon=False)
    else:
        ax_pain.text(0.5, 0.5, "no pain scores in the notes", ha="center", va="center",
                     color="#6b7785", transform=ax_pain.transAxes)  # fmt: skip
    ax_pain.set_xticks(x, labels, rotation=0)
    ax_pain.set_xlim(0.4, len(trends) + 0.6)
    ax_pain.set_xlabel("session")
    return _png(fig)
