"""Session reports: gather a recording, its analysis and the client's screening into one
document (PDF, PNG or self-contained HTML; drawn by :mod:`ashiguard.adapters.report_render`).

Alerts and the summary come from the files given, or else from
:func:`ashiguard.services.analyze.analyze_recording` (the code path of ``ashiguard analyze``)
with the limits of :func:`~ashiguard.services.analyze.limits_from_files`. The only numbers
computed here are the per-sensel maps (peak and pressure-time dose), which the summary does
not carry; they take one more chunked pass over the file.

Notes
-----
- A body map is drawn only where the frames are in the body frame: an ``on_client`` sheet with
  ``origin_mm`` and the client's height, or an ``under_client`` mat with a stored
  ``origin_mm`` or registered by the analysis (``zone_load``; its map is then the client's own
  weight plus the transmitted load, and the report says so). Every other placement gets a
  plain grid map and a note that there is no body frame; a body map is never faked.
- The dose map integrates each sensel's pressure over time with each frame weighted by the
  time since the previous frame, capped at the engine's ``max_frame_gap_s`` (as the summary's
  zone dose), so a signal gap never counts as contact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ashiguard.domain.errors import InputError

__all__ = [
    "FORMATS",
    "BodyFrame",
    "ReportData",
    "SessionMaps",
    "build_report",
    "collect_report",
    "parse_summary",
    "render_alarm_timeline_png",
    "render_load_plot_png",
    "render_peak_map_png",
    "session_maps",
]

FORMATS = (".pdf", ".png", ".html")
_SUMMARY_KEYS = ("checks", "zones", "load")
_BARS_POINTS = 2000


@dataclass
class SessionMaps:
    """Per-sensel maps of a session.

    Attributes
    ----------
    peak_kpa : ndarray [rows, cols], kPa
        Largest value of each sensel over the session (NaN where it never reported).
    dose_kpa_s : ndarray [rows, cols], kPa·s
        Time integral of each sensel's pressure (negative values count as 0).
    pitch_mm, row_pitch_mm : float, mm
        Column and row spacing.
    units : str
        ``kPa`` or ``raw`` (sensor counts).
    """

    peak_kpa: npt.NDArray[np.float64]
    dose_kpa_s: npt.NDArray[np.float64]
    pitch_mm: float
    row_pitch_mm: float
    units: str = "kPa"


@dataclass
class BodyFrame:
    """Zone map and grid placement of a recording whose frames are in the body frame."""

    zone_map: Any  # ashiguard.domain.zones.ZoneMap
    grid: Any  # ashiguard.domain.zones.Grid
    caption: str


@dataclass
class ReportData:
    """Everything a report shows; built by :func:`collect_report`."""

    recording: str
    header: list[tuple[str, str]]
    summary: dict[str, Any]
    alerts: list[dict[str, Any]]
    duration_s: float
    t0_s: float
    placement: str
    maps: SessionMaps | None
    body: BodyFrame | None
    map_note: str
    bars: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None
    screening: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    delivery: Any = None  # ashiguard.services.delivery.DeliveryReport
    markers: list[Any] = field(default_factory=list)  # ashiguard.services.delivery.MarkerRow


def session_maps(reader: Any, max_gap_s: float | None = None) -> SessionMaps | None:
    """Peak and dose map of an open recording (:class:`RecordingReader`), or None without a mat.

    Parameters
    ----------
    reader : RecordingReader
        From :func:`ashiguard.adapters.recording.open_recording`.
    max_gap_s : float, s, optional
        Cap on a frame's time weight (default: the alarm engine's ``max_frame_gap_s``).
    """
    from ashiguard.domain.alarms import AlarmConfig

    m = reader.meta
    if m.rows is None or not m.frames:
        return None
    gap = AlarmConfig().max_frame_gap_s if max_gap_s is None else float(max_gap_s)
    peak = np.full((m.rows, m.cols), np.nan)
    dose = np.zeros((m.rows, m.cols))
    last: float | None = None
    for times, block in reader.iter_chunks(2048):
        t = np.asarray(times, dtype=np.float64)
        p = np.asarray(block, dtype=np.float64)
        peak = np.fmax(peak, np.fmax.reduce(p, axis=0))
        prev = np.concatenate([[t[0] if last is None else last], t[:-1]])
        dt = np.clip(t - prev, 0.0, gap)
        dose += np.einsum("k,kij->ij", dt, np.clip(np.nan_to_num(p, nan=0.0), 0.0, None))
        last = float(t[-1])
    return SessionMaps(peak, dose, float(m.pitch_mm), float(m.row_pitch_mm), m.units or "kPa")


def _registered_frame(meta: Any, summary: Mapping[str, Any] | None) -> BodyFrame | None:
    """The body frame an ``under_client`` mat got from registration in the analysis
    (``zone_load.registration``, docs/monitor.md), when there is one."""
    from ashiguard.domain.zones import Grid, ZoneMap

    zl = (summary or {}).get("zone_load") or {}
    reg = zl.get("registration") if zl.get("status") == "applied" else None
    height = meta.client.get("height_cm")
    if meta.placement != "under_client" or not isinstance(reg, dict) or not height:
        return None
    try:
        g = reg["grid"]
        grid = Grid(
            int(meta.rows),
            int(meta.cols),
            float(meta.pitch_mm),
            origin_mm=(float(g["origin_mm"][0]), float(g["origin_mm"][1])),
            rotation_deg=float(g["rotation_deg"]),
        )
        quality = float(reg["quality"])
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    caption = (
        f"Mat under the client, registered on the client-alone frames (quality {quality:.2f}): "
        "the client's own weight plus the transmitted load, not contact pressure on the back."
    )
    return BodyFrame(ZoneMap.from_height(float(height) * 10.0), grid, caption)


def _body_frame(
    meta: Any, summary: Mapping[str, Any] | None = None
) -> tuple[BodyFrame | None, str]:
    """The body frame of a recording's grid, or None and why not (an ``under_client`` mat
    without a stored placement uses the registration of its analysis ``summary``, if any)."""
    from ashiguard.domain.zones import Grid, ZoneMap

    placement = meta.placement
    if placement is None:
        what = f"{' and '.join(meta.insoles)} insoles only" if meta.insoles else "bar forces only"
        return None, f"No pressure grid ({what}): no body frame, no map drawn."
    if placement == "foot":
        side = f"{meta.side} " if meta.side else ""
        return None, (
            f"Grid under the therapist's {side}foot (plantar pressure): no body frame, so no "
            "body map; the plain sensor grid is shown."
        )
    if placement == "other":
        return None, "Sensor not on the client's back ('other'): no body frame; plain grid shown."
    height = meta.client.get("height_cm")
    registered = _registered_frame(meta, summary) if meta.origin_mm is None else None
    if registered is not None:
        return registered, registered.caption
    if meta.origin_mm is None or not height:
        missing = "origin_mm" if meta.origin_mm is None else "the client's height_cm"
        what = "registration" if placement == "under_client" else "body-frame placement"
        return None, (
            f"{placement} grid without {missing} ({what} missing): no body frame, so no body "
            "map; the plain sensor grid is shown."
        )
    marks = {k: float(v) for k, v in (meta.client.get("landmarks_mm") or {}).items()}
    zone_map = ZoneMap.from_height(float(height) * 10.0, **marks)
    grid = Grid(int(meta.rows), int(meta.cols), float(meta.pitch_mm), origin_mm=meta.origin_mm)
    if placement == "under_client":
        caption = (
            "Registered mat under the client: the client's own weight plus the transmitted "
            "load, not contact pressure on the back."
        )
    else:
        caption = "Contact sheet on the client's back, in the body frame (head at the top)."
    return BodyFrame(zone_map, grid, caption), caption


def parse_summary(data: Any, where: str = "summary") -> dict[str, Any]:
    """Check an ``ashiguard.analysis/1`` summary object enough to draw it; name what is wrong."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: must be a JSON object")
    if data.get("schema") != "ashiguard.analysis/1":
        raise InputError(
            f"{where}: schema: expected 'ashiguard.analysis/1', got {data.get('schema')!r}"
        )
    for key in _SUMMARY_KEYS:
        if not isinstance(data.get(key), dict):
            raise InputError(f"{where}: {key}: missing or not an object")
    if not isinstance(data["load"].get("series", []), list):
        raise InputError(f"{where}: load.series: must be a list")
    for name, z in data["zones"].items():
        if not isinstance(z, dict):
            raise InputError(f"{where}: zones.{name}: must be an object")
    return data


def _screening_json(
    screening: Mapping[str, Any] | None, intake: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    if screening is not None:
        from ashiguard.domain.screening import parse_screening

        return parse_screening(dict(screening)).to_json()
    if intake is not None:
        from ashiguard.domain.intake import parse_intake
        from ashiguard.domain.screening import screen

        return screen(parse_intake(dict(intake))).to_json()
    return None


def _fmt(v: Any, spec: str = "g", unit: str = "") -> str:
    if v is None:
        return "not recorded"
    return f"{format(v, spec)}{' ' + unit if unit else ''}"


def _header(
    meta: Any,
    summary: Mapping[str, Any],
    screening: Mapping[str, Any] | None,
    client_id: str | None,
    duration_s: float,
    alerts: Sequence[Mapping[str, Any]],
    mass_kg: float | None = None,
) -> list[tuple[str, str]]:
    client = meta.client
    placement = meta.placement or "insoles"
    if meta.side:
        placement += f" ({meta.side})"
    grid = "none"
    if meta.rows is not None:
        grid = f"{meta.rows} x {meta.cols} sensels, pitch {meta.pitch_mm:g} mm, {meta.units}"
    high = sum(1 for a in alerts if a.get("priority") == "high")
    load = summary.get("load", {})
    share = load.get("max_share")
    rows = [
        ("Client", client_id or "not recorded"),
        (
            "Height / weight",
            f"{_fmt(client.get('height_cm'), '.0f', 'cm')} / "
            f"{_fmt(client.get('weight_kg'), '.0f', 'kg')}",
        ),
        ("Recording", Path(meta.path).name + ("" if meta.complete else " (incomplete)")),
        ("Started", meta.started_at or "not recorded"),
        ("Duration", f"{duration_s:.1f} s" + (f", {meta.frames} frames" if meta.frames else "")),
        ("Placement", placement + (f", source {meta.source_format}" if meta.source_format else "")),
        ("Grid", grid),
        (
            "Therapist mass",
            f"{mass_kg:.1f} kg (given for the report)"
            if mass_kg is not None
            else _fmt(meta.therapist_mass_kg, ".1f", "kg"),
        ),
        (
            "Alarm episodes",
            f"{len(alerts)} ({high} high priority)"
            + (f"; max load {share * 100:.0f} % of body weight" if share is not None else ""),
        ),
    ]
    if screening is None:
        rows.append(("Screening", "none given: default limits"))
        return rows
    r = screening.get("restrictions") or {}
    restr = []
    if r.get("avoid_zones"):
        restr.append("avoid " + ", ".join(r["avoid_zones"]))
    if r.get("max_load_fraction") is not None:
        restr.append(f"load <= {r['max_load_fraction'] * 100:.0f} % of body weight")
    if r.get("max_pressure_kpa") is not None:
        restr.append(f"pressure <= {r['max_pressure_kpa']:g} kPa")
    rows += [
        ("Screening", f"{screening['decision']} on {screening['date']}"),
        ("Restrictions", "; ".join(restr) or "none"),
        ("Rules version", str(screening.get("rules_version") or "not given")),
    ]
    return rows


def _decimated_bars(
    bars: tuple[Any, Any] | None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    if bars is None or not len(bars[0]):
        return None
    t = np.asarray(bars[0], dtype=np.float64)
    f = np.asarray(bars[1], dtype=np.float64)
    step = max(1, t.size // _BARS_POINTS)
    return t[::step], f[::step]


def collect_report(
    recording_path: str | Path,
    *,
    screening: Mapping[str, Any] | None = None,
    intake: Mapping[str, Any] | None = None,
    alerts: Sequence[Mapping[str, Any]] | None = None,
    summary: Mapping[str, Any] | None = None,
    config_text: str | None = None,
    therapist_mass_kg: float | None = None,
    comfort: Any = None,
    markers: Sequence[Mapping[str, Any]] | None = None,
) -> ReportData:
    """Read the recording, run the analyzer for what is not given, and gather the report.

    Parameters
    ----------
    recording_path : path
        ``ashiguard.recording/1`` file (validated; a bad file raises :class:`InputError`).
    screening, intake : dict, optional
        Contract section 3 / 2 objects (at most one): decision, restrictions and limits.
    alerts : list of dict, optional
        ``ashiguard.alerts/1`` episodes; when None (or ``summary`` is None) the analyzer runs.
    summary : dict, optional
        ``ashiguard.analysis/1`` summary.
    config_text : str, optional
        A clinic limits file (TOML), as ``ashiguard analyze --config``.
    therapist_mass_kg : float, kg, optional
        Overrides the recording's therapist mass for the analysis and the plan.
    comfort : ComfortCap or float, optional
        The client's comfort ceiling, kPa, applied to the plan the delivery is compared with.
    markers : list of dict, optional
        Markers stored with the session, used when the recording has no ``/annotations``.
    """
    from ashiguard.adapters.recording import open_recording
    from ashiguard.services.analyze import analyze_recording, limits_from_files
    from ashiguard.services.delivery import recording_markers, session_delivery

    if screening is not None and intake is not None:
        raise InputError("screening/intake: give one of them, not both")
    screen_json = _screening_json(screening, intake)
    client_id = None
    if screen_json is not None:
        client_id = str(screen_json["client_id"])
    notes: list[str] = []
    with open_recording(recording_path) as rec:
        meta = rec.meta
        if alerts is None or summary is None:
            cfg = limits_from_files(config_text=config_text, screening=screening, intake=intake)
            result = analyze_recording(recording_path, cfg, therapist_mass_kg=therapist_mass_kg)
            if alerts is None:
                alerts = [a.to_json() for a in result.alerts]
            if summary is None:
                summary = result.summary
        summary = parse_summary(dict(summary))
        maps = session_maps(rec)
        bars = _decimated_bars(rec.bars())
    body, map_note = _body_frame(meta, summary)
    if maps is not None and maps.units != "kPa":
        notes.append(f"Pressure in {maps.units} units (no kPa calibration): maps are in counts.")
    t_first = summary.get("t_first")
    t_last = summary.get("t_last")
    duration = meta.duration_s
    t0 = meta.t_first if meta.t_first is not None else 0.0
    if not meta.frames and t_first is not None and t_last is not None:
        duration, t0 = float(t_last) - float(t_first), float(t_first)
    alert_list = sorted((dict(a) for a in alerts), key=lambda a: float(a["t_start"]))
    delivery = session_delivery(
        recording_path, screen_json, therapist_mass_kg or meta.therapist_mass_kg, comfort
    )
    header = _header(meta, summary, screen_json, client_id, duration, alert_list, therapist_mass_kg)
    header.append(("Delivery score", _score_words(delivery)))
    return ReportData(
        recording=str(recording_path),
        header=header,
        summary=summary,
        alerts=alert_list,
        duration_s=float(duration),
        t0_s=float(t0),
        placement=meta.placement or "insoles",
        maps=maps,
        body=body,
        map_note=map_note,
        bars=bars,
        screening=screen_json,
        notes=notes,
        delivery=delivery,
        markers=recording_markers(recording_path, markers or ()),
    )


def _score_words(delivery: Any) -> str:
    """The delivery score for the header: ``72 / 100 (in band 60 %, over 10 %)``."""
    d = delivery.delivery
    if delivery.status != "applied" or d is None:
        return f"not applicable: {delivery.reason}"
    if d.score is None:
        return "no planned zone was loaded"
    return (
        f"{d.score:.0f} / 100 (loaded time: {d.in_band_s / d.loaded_s:.0%} in band, "
        f"{d.over_s / d.loaded_s:.0%} over)"
    )


def build_report(
    recording_path: str | Path,
    out_path: str | Path,
    screening: Mapping[str, Any] | None = None,
    alerts: Sequence[Mapping[str, Any]] | None = None,
    summary: Mapping[str, Any] | None = None,
    *,
    intake: Mapping[str, Any] | None = None,
    config_text: str | None = None,
    therapist_mass_kg: float | None = None,
    comfort: Any = None,
    markers: Sequence[Mapping[str, Any]] | None = None,
) -> Path:
    """Write a session report; the format follows ``out_path``'s extension (.pdf, .png, .html).

    PDF: four A4 portrait pages (header and maps; planned vs delivered and markers; load and
    alarms; zone and checks tables).
    PNG: one A4-proportioned page. HTML: one self-contained file with embedded PNG images.
    See :func:`collect_report` for the inputs; returns ``out_path``.
    """
    from ashiguard.adapters import report_render

    out = Path(out_path)
    ext = out.suffix.lower()
    if ext not in FORMATS:
        raise InputError(f"{out}: output must end in {', '.join(FORMATS)} (got {ext or 'none'!r})")
    data = collect_report(
        recording_path,
        screening=screening,
        intake=intake,
        alerts=alerts,
        summary=summary,
        config_text=config_text,
        therapist_mass_kg=therapist_mass_kg,
        comfort=comfort,
        markers=markers,
    )
    try:
        if ext == ".pdf":
            report_render.write_pdf(data, out)
        elif ext == ".png":
            out.write_bytes(report_render.render_page_png(data))
        else:
            out.write_text(report_render.render_html(data), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{out}: cannot write: {exc.strerror or exc}") from None
    return out


def render_load_plot_png(summary: Mapping[str, Any], bars: Any = None) -> bytes:
    """PNG of the load on the client over time (see :mod:`ashiguard.adapters.report_render`)."""
    from ashiguard.adapters.report_render import render_load_plot_png as _render

    return _render(parse_summary(dict(summary)), _decimated_bars(bars))


def render_alarm_timeline_png(
    alerts: Sequence[Mapping[str, Any]], duration_s: float, markers: Sequence[Any] = ()
) -> bytes:
    """PNG of the alarm timeline: one row per kind, spans coloured by priority, and the
    session's markers (:class:`ashiguard.services.delivery.MarkerRow`) on a row of their own."""
    from ashiguard.adapters.report_render import render_alarm_timeline_png as _render

    return _render(alerts, duration_s, markers=markers)


def render_peak_map_png(recording_path: str | Path, which: str = "peak") -> bytes:
    """PNG of a recording's peak (``which='peak'``) or dose (``'dose'``) map: on the body
    outline when the grid is in the body frame, else the plain grid with a note."""
    from ashiguard.adapters.recording import open_recording
    from ashiguard.adapters.report_render import render_map_png

    if which not in ("peak", "dose"):
        raise InputError(f"which: {which!r} is not 'peak' or 'dose'")
    with open_recording(recording_path) as rec:
        maps = session_maps(rec)
        meta = rec.meta
    body, note = _body_frame(meta)
    return render_map_png(maps, body, note, which)
