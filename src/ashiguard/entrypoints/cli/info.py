"""``ashiguard info``: summarize a recording."""

from __future__ import annotations

from typing import Any

import typer

from ashiguard.entrypoints.cli._common import print_json, refusing_bad_input

__all__ = ["register"]


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}{unit}"
    return f"{v}{unit}"


def _faults(faults: list[dict[str, Any]]) -> str:
    """``1 dead sensel [17, 7]`` / ``none``: dead and stuck sensels from power-on."""
    if not faults:
        return "no dead or stuck sensels"
    parts = []
    for kind in ("dead", "stuck", "saturated"):
        cells = [f"[{f['row']}, {f['col']}]" for f in faults if f["kind"] == kind]
        if cells:
            shown = ", ".join(cells[:8]) + (" ..." if len(cells) > 8 else "")
            parts.append(f"{len(cells)} {kind} ({shown})")
    return "; ".join(parts) + " sensel(s) at (row, col): sensor faults, treated as missing"


def _drift(d: dict[str, Any], units: str | None) -> str:
    """``baseline +2.7 kPa (largest sensel) over 6 unloaded stretches, 1.2 kPa/min``."""
    if d.get("baseline_change_max") is None:
        return (
            f"not measurable ({d.get('anchors', 0)} unloaded stretch(es) of "
            f"{d.get('unloaded_frames', 0)} unloaded frames; 2 needed)"
        )
    return (
        f"baseline change {d['baseline_change_max']:+.4g} {units} (largest sensel), "
        f"mean {d['baseline_change_mean']:+.4g}, over {d['anchors']} unloaded stretches, "
        f"{_fmt(d['rate_per_min'])} {units}/min"
    )


def info(
    recording: str = typer.Argument(..., help="Recording (HDF5, ashiguard.recording/1)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Summarize a recording: duration, rate, grid, units, peak, missing sensels, extras."""
    from ashiguard.adapters.recording import open_recording

    with refusing_bad_input(), open_recording(recording) as rec:
        s = rec.summary()
    if as_json:
        print_json(s)
        return
    grid = "-" if s["grid"] is None else f"{s['grid'][0]} x {s['grid'][1]}"
    pitch = _fmt(s["pitch_mm"], " mm")
    if s["row_pitch_mm"] not in (None, s["pitch_mm"]):
        pitch += f" (rows {_fmt(s['row_pitch_mm'], ' mm')})"
    lines = [
        f"recording   {s['path']}"
        + ("" if s["complete"] else "  (INCOMPLETE: writer did not close)"),
        f"started     {_fmt(s['started_at'])}   source {_fmt(s['source_format'])}",
        f"duration    {s['duration_s']:.3f} s   frames {s['frames']}   "
        f"rate {_fmt(s['rate_hz'], ' Hz')}",
        f"grid        {grid}   pitch {pitch}   origin {_fmt(s['origin_mm'])}",
        f"placement   {_fmt(s['placement'])}" + (f" ({s['side']})" if s["side"] else ""),
        f"units       {_fmt(s['units'])}   peak {_fmt(s['peak'])}   "
        f"missing sensels {_fmt(s['missing_sensels'])} ({_fmt(s['missing_fraction'])} of values)",
        f"bars        {'yes, ' + str(s['bars_samples']) + ' samples' if s['bars'] else 'no'}",
    ]
    if s["tare"]:
        t = s["tare"]
        lines.insert(
            -1,
            f"tare        {t['window_s'][0]:g} to {t['window_s'][1]:g} s, {t['frames']} frames, "
            f"offset mean {_fmt(t['offset_mean'])} max {_fmt(t['offset_max'])} {t['units']}",
        )
    for ev in s.get("tare_events") or []:
        when = f"{float(ev.get('t_request') or 0):.2f} s by {ev.get('who') or '-'}"
        if ev.get("status") == "zeroed":
            w = ev.get("window_s") or [0, 0]
            what = (
                f"zeroed at {when} on {w[0]:g} to {w[1]:g} s, {ev.get('frames')} frames, "
                f"largest offset {ev.get('offset_max')} {ev.get('units')}"
            )
        else:
            what = f"refused at {when}: {ev.get('reason')}"
        lines.insert(-1, f"zeroing     {what}")
    if s["calibration"]:
        c = s["calibration"]
        lines.insert(
            -1,
            f"calibration {c.get('file') or '-'}: kPa per count {c.get('kpa_per_count')}"
            + (f" ({c['source']})" if c.get("source") else ""),
        )
    if s["drift"] is not None:
        lines.insert(-1, f"drift       {_drift(s['drift'], s['units'])}")
    if s["drift_corrected"]:
        lines.insert(
            -1, f"drift fixed {_drift(s['drift_corrected'], s['drift_corrected'].get('units'))}"
        )
    if s["sensel_faults"] is not None:
        lines.insert(-1, f"faults      {_faults(s['sensel_faults'])}")
    if s["insoles"]:
        for side, ins in s["insoles"].items():
            lines.append(
                f"insole      {side}: {ins['samples']} samples, {ins['sensors']} sensors, "
                f"rate {_fmt(ins['rate_hz'], ' Hz')}, "
                f"peak force {_fmt(ins['peak_force_n'], ' N')}, "
                f"peak {_fmt(ins['peak_pressure_kpa'], ' kPa')}"
            )
            if ins.get("tare_window_s"):
                w = ins["tare_window_s"]
                lines.append(f"  tare      {side}: {w[0]:g} to {w[1]:g} s")
            if ins.get("drift"):
                lines.append(f"  drift     {side}: {_drift(ins['drift'], 'kPa')}")
            if ins.get("drift_corrected"):
                lines.append(f"  drift fix {side}: {_drift(ins['drift_corrected'], 'kPa')}")
    else:
        lines.append("insoles     none")
    for name, a in s["aux"].items():
        lines.append(f"aux         {name}: {a['samples']} samples, {', '.join(a['columns'])}")
    if s["annotations"]:
        lines.append(f"annotations {s['annotations']}")
    lines.append(
        f"truth       {s['truth_events']} events   alerts {s['alerts']}   "
        f"dropped frames {_fmt(s['dropped_frames'])}   reordered {_fmt(s['reordered_frames'])}"
    )
    if s["therapist_mass_kg"] is not None or s["client"]:
        lines.append(
            f"people      therapist {_fmt(s['therapist_mass_kg'], ' kg')}   client {s['client']}"
        )
    for line in lines:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.command("info")(info)
