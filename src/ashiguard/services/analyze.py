"""Offline analysis of a recording: alert episodes, a session summary, and evaluation.

The recording is streamed in chunks through the same :class:`AlarmEngine` the live monitor
uses; memory stays around one chunk whatever the recording's length.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ashiguard.domain.alarms import KINDS, AlarmConfig, AlarmEngine, Alert, SensorLayout
from ashiguard.domain.analysis import SessionSummary
from ashiguard.domain.drift import DriftEstimator
from ashiguard.domain.errors import InputError
from ashiguard.domain.sensel_faults import SenselFault, SenselStats, mask_faults

__all__ = [
    "Analysis",
    "EngineSetup",
    "analyze_recording",
    "evaluate_alerts",
    "limits_from_files",
    "plan_engine",
    "read_alerts_jsonl",
    "write_alerts_jsonl",
]

REFERENCE_MASS_KG = 70.0
"""Stands in for an unknown therapist mass only in the "is the grid loaded" thresholds of the
stale-frame and symmetry checks; the load checks themselves are then not applied."""


@dataclass
class EngineSetup:
    """How an engine was set up for a data set, and which checks it can make."""

    layout: SensorLayout | None
    load_source: str | None
    symmetry_source: str | None
    checks: dict[str, dict[str, str]]
    therapist_mass_kg: float
    client_mass_kg: float | None
    mass_known: bool = True


def _check(applied: bool, reason: str) -> dict[str, str]:
    return {"status": "applied" if applied else "not_applicable", "reason": reason}


def plan_engine(
    *,
    placement: str | None,
    rows: int | None,
    cols: int | None,
    pitch_mm: float | None,
    row_pitch_mm: float | None = None,
    origin_mm: tuple[float, float] | None,
    client: Mapping[str, Any],
    therapist_mass_kg: float | None,
    has_bars: bool = False,
    has_insoles: bool = False,
) -> EngineSetup:
    """Decide the layout, load source and applicable checks for a data set (table in
    docs/monitor.md)."""
    from ashiguard.domain.zones import ZONES, Grid, ZoneMap

    mass_known = therapist_mass_kg is not None
    if therapist_mass_kg is not None and not therapist_mass_kg > 0:
        raise InputError(f"therapist_mass_kg: must be positive, got {therapist_mass_kg!r}")
    layout = None
    zone_reason = "no pressure grid"
    if placement is not None and rows and cols and pitch_mm:
        labels = None
        x_mm = None
        if placement == "on_client":
            height = client.get("height_cm")
            if origin_mm is None:
                zone_reason = "on_client grid without origin_mm: zones cannot be placed"
            elif not height:
                zone_reason = "client height_cm missing: zone map cannot be built"
            else:
                marks = {k: float(v) for k, v in (client.get("landmarks_mm") or {}).items()}
                zmap = ZoneMap.from_height(float(height) * 10.0, **marks)
                grid = Grid(int(rows), int(cols), float(pitch_mm), origin_mm=origin_mm)
                labels = zmap.rasterize(grid).labels
                x_mm = grid.centres()[0][0]
                zone_reason = "contact sheet on the client with a zone map"
        else:
            zone_reason = f"{placement} grid: contact pressure on the body is not measured"
        layout = SensorLayout(
            int(rows),
            int(cols),
            float(pitch_mm),
            labels,
            ZONES,
            x_mm,
            placement,
            row_pitch_mm,
        )
    zones_ok = layout is not None and layout.has_zones
    load_source: str | None = None
    load_reason = "no force or pressure measurement of the load"
    if layout is not None and placement == "on_client":
        load_source, load_reason = "mat", "mat total (sum kPa x sensel area)"
    elif has_insoles:
        load_source, load_reason = "feet", "sum of both insole forces"
    elif has_bars:
        load_source, load_reason = "bars", "therapist weight minus bar forces"
    elif layout is not None and placement == "foot":
        load_source, load_reason = "mat", "one foot's grid total (a lower bound of the load)"
    elif layout is not None and placement == "under_client":
        if client.get("weight_kg"):
            load_source = "mat_minus_client"
            load_reason = "under-client mat total minus the client's weight"
        else:
            load_reason = "under-client mat without the client's weight"
    if not mass_known and load_source is not None:
        load_source = None
        load_reason = "therapist's mass unknown (give --therapist-mass): limits are shares of it"
    sym: str | None = None
    sym_reason = "no left/right measurement"
    if zones_ok:
        sym, sym_reason = "mat", "client's left vs right half of the contact sheet"
    elif has_insoles:
        sym, sym_reason = "feet", "therapist's left vs right insole"
    fault_applied = layout is not None
    square = layout is not None and layout.row_pitch_mm in (None, layout.pitch_mm)
    checks = {
        "zone_pressure": _check(zones_ok, zone_reason),
        "restricted_zone": _check(zones_ok, zone_reason),
        "unsupported_weight": _check(load_source is not None, load_reason),
        "sudden_shift": _check(load_source is not None, load_reason),
        "uneven_load": _check(sym is not None, sym_reason),
        "dwell_time": _check(zones_ok, zone_reason),
        "zone_dose": _check(zones_ok, zone_reason),
        "depth_stress": _check(
            zones_ok and square,
            zone_reason
            if not zones_ok
            else "Boussinesq stress at 45 mm (spine) and 80 mm (kidneys)"
            if square
            else "non-square sensels: the depth-stress kernel needs square sensels",
        ),
        "sensor_fault": _check(
            True,
            "frame gaps, time order"
            + (", NaN, negative, saturated, stale, dead sensels" if fault_applied else ""),
        ),
    }
    return EngineSetup(
        layout if (layout is not None) else None,
        load_source,
        sym,
        checks,
        float(therapist_mass_kg) if therapist_mass_kg is not None else REFERENCE_MASS_KG,
        float(client["weight_kg"]) if client.get("weight_kg") else None,
        mass_known,
    )


def limits_from_files(
    *,
    config_text: str | None = None,
    screening: Mapping[str, Any] | None = None,
    intake: Mapping[str, Any] | None = None,
) -> AlarmConfig:
    """Defaults, then the clinic's limits file, then the client's screening restrictions."""
    from ashiguard.domain.alarms import parse_alarm_config

    cfg = parse_alarm_config(config_text) if config_text is not None else AlarmConfig()
    restr = None
    if screening is not None:
        from ashiguard.domain.screening import parse_screening

        restr = parse_screening(dict(screening)).restrictions
    elif intake is not None:
        from ashiguard.domain.intake import parse_intake
        from ashiguard.domain.screening import screen

        restr = screen(parse_intake(dict(intake))).restrictions
    if restr is not None:
        cfg = cfg.tightened(
            restr.avoid_zones, restr.max_load_fraction, restr.max_pressure_kpa, "screening"
        )
    return cfg


@dataclass
class Analysis:
    """Result of :func:`analyze_recording`."""

    alerts: list[Alert]
    summary: dict[str, Any]


def analyze_recording(
    path: str | Path,
    config: AlarmConfig,
    *,
    chunk_frames: int = 512,
    progress: Callable[[int, int], None] | None = None,
    use_truth_restrictions: bool = False,
    therapist_mass_kg: float | None = None,
    sensel_faults: list[SenselFault] | None = None,
) -> Analysis:
    """Stream a recording through the alarm engine and summarise it.

    Parameters
    ----------
    path : path
        An ``ashiguard.recording/1`` file; validation errors raise :class:`InputError`.
    config : AlarmConfig
        Limits. A simulated recording's ground-truth restrictions (``/mat`` attr
        ``truth_restrictions``) are applied only when ``use_truth_restrictions`` is True
        (for evaluating against the simulator), never by default. A ``/mat`` attr
        ``sensor_max_kpa`` (the sensor's full scale) sets the saturation level.
    chunk_frames : int
        Frames per chunk (memory about ``chunk_frames x rows x cols x 4`` bytes, a few MB).
    progress : callable or None
        Called with (frames done, frames total) after each chunk.
    sensel_faults : list or None
        Dead / stuck / saturated sensels to treat as not reporting; None: those stored at
        import (``/mat`` attr ``sensel_faults``), else found during the pass (when any are
        found, the recording is analysed once more with them masked; rare, so the usual
        cost stays one pass).
    """
    from ashiguard.adapters.recording import open_recording

    with open_recording(path) as rec:
        meta = rec.meta
        config = _recording_limits(path, rec.mat_attrs(), config, use_truth_restrictions)
        bars = rec.bars()
        insoles = rec.insoles()
        has_feet = "left" in insoles and "right" in insoles
        setup = plan_engine(
            placement=meta.placement,
            rows=meta.rows,
            cols=meta.cols,
            pitch_mm=meta.pitch_mm,
            row_pitch_mm=meta.row_pitch_mm,
            origin_mm=meta.origin_mm,
            client=meta.client,
            therapist_mass_kg=therapist_mass_kg or meta.therapist_mass_kg,
            has_bars=bars is not None,
            has_insoles=has_feet,
        )
        if meta.units not in (None, "kPa"):
            for k in (
                "zone_pressure",
                "restricted_zone",
                "dwell_time",
                "zone_dose",
                "depth_stress",
            ):
                setup.checks[k] = _check(False, f"pressure in {meta.units} units, not kPa")
            if setup.load_source in ("mat", "mat_minus_client"):
                setup.load_source = None
                for k in ("unsupported_weight", "sudden_shift"):
                    setup.checks[k] = _check(False, f"pressure in {meta.units} units, not kPa")
            if setup.layout is not None:
                setup.layout = SensorLayout(
                    setup.layout.rows,
                    setup.layout.cols,
                    setup.layout.pitch_mm,
                    None,
                    placement=setup.layout.placement,
                )
        engine = AlarmEngine(
            setup.layout,
            config,
            setup.therapist_mass_kg,
            client_mass_kg=setup.client_mass_kg,
            load_source=setup.load_source,
            symmetry_source=setup.symmetry_source,
        )
        summary = SessionSummary(engine)
        zone_load, zone_load_info = None, None
        if meta.placement == "under_client":
            from ashiguard.services.zone_load import plan_zone_load

            zone_load, zone_load_info = plan_zone_load(rec)
        total = meta.frames
        done = 0
        stored = _stored_faults(rec) if sensel_faults is None else sensel_faults
        faults = stored or []
        stats = (
            SenselStats(meta.rows, meta.cols or 0)
            if stored is None and meta.rows is not None
            else None
        )
        drift = DriftEstimator()
        if meta.rows is not None:
            for times, pressure in rec.iter_chunks(chunk_frames):
                if stats is not None:
                    stats.add(pressure)
                if faults:
                    pressure = mask_faults(pressure, faults)
                drift.add(times, pressure)
                t = np.asarray(times, dtype=np.float64)
                b = _resample(bars, t) if bars is not None else None
                feet = _feet_at(insoles, t) if has_feet else None
                feats = engine.process(t, pressure, bars_n=b, feet_n=feet, contact_counts=True)
                summary.add(feats, pressure if setup.layout is not None else None)
                if zone_load is not None:
                    zone_load.add(t, pressure)
                done += t.size
                if progress is not None:
                    progress(done, total)
        elif has_feet:
            t = insoles["left"].time.astype(np.float64)
            feet = _feet_at(insoles, t)
            for a in range(0, t.size, chunk_frames):
                sl = slice(a, a + chunk_frames)
                feats = engine.process(t[sl], None, feet_n=feet[sl])
                summary.add(feats)
            for side, ins in insoles.items():
                if ins.cop_mm is not None:
                    summary.add_cop_path(side, ins.time.astype(np.float64), ins.cop_mm)
        elif bars is not None:
            t = bars[0].astype(np.float64)
            force = bars[1].astype(np.float64)
            for a in range(0, t.size, chunk_frames):
                sl = slice(a, a + chunk_frames)
                summary.add(engine.process(t[sl], None, bars_n=force[sl]))
        else:
            raise InputError(f"{path}: recording has no /mat, /insoles or /bars data to analyze")
        alerts = engine.finish()
        corrected = _drift_corrected(rec.mat_attrs())
        found = stats.faults(saturation=rec.saturation_level()) if stats is not None else []
    if found:  # faults from power-on found in this pass: analyse again with them masked
        return analyze_recording(
            path,
            config,
            chunk_frames=chunk_frames,
            progress=progress,
            use_truth_restrictions=use_truth_restrictions,
            therapist_mass_kg=therapist_mass_kg,
            sensel_faults=found,
        )
    out = summary.to_json()
    out = {
        "schema": "ashiguard.analysis/1",
        "recording": str(path),
        "placement": meta.placement if meta.rows is not None else "insoles" if has_feet else "bars",
        "therapist_mass_known": setup.mass_known,
        "checks": setup.checks,
        "limits": {
            "zones_kpa": {z: engine.config.zone_limit(z) for z in engine.zone_names},
            "avoid_zones": sorted(engine.config.avoid_zones),
            "max_load_fraction": engine.config.max_load_fraction,
            "sources": dict(engine.config.sources),
        },
        "alerts_by_kind": {k: sum(1 for a in alerts if a.kind == k) for k in KINDS},
        "sensels_never_reporting": engine.never_reported,
        "sensel_faults": [f.to_json() for f in faults],
        "drift": {
            **(drift.report() if meta.rows is not None else {}),
            "units": meta.units,
            "corrected_on_import": corrected,
        }
        if meta.rows is not None
        else _insole_drift(insoles),
        **out,
    }
    if zone_load_info is not None:
        out["zone_load"] = {
            **zone_load_info,
            **(zone_load.to_json() if zone_load is not None else {}),
        }
    return Analysis(alerts, out)


def _insole_drift(insoles: Mapping[str, Any]) -> dict[str, Any] | None:
    """Per foot, the drift of the insole's sensors while unloaded (``domain.drift``)."""
    out: dict[str, Any] = {}
    for side, ins in insoles.items():
        if ins.pressure is not None and ins.time.size:
            est = DriftEstimator()
            est.add(ins.time, ins.pressure[:, None, :])
            out[side] = {**est.report(), "units": "kPa"}
    return out or None


def _drift_corrected(attrs: dict[str, Any]) -> Any:
    """The drift an import removed (``/mat`` attr ``drift_corrected``), or None."""
    text = attrs.get("drift_corrected")
    if text is None:
        return None
    try:
        return json.loads(str(text))
    except json.JSONDecodeError:
        return None


def _stored_faults(rec: Any) -> list[SenselFault] | None:
    """Dead / stuck / saturated sensels from power-on as stored at import (``/mat`` attr
    ``sensel_faults``), or None when the recording has none stored."""
    stored = rec.sensel_faults()
    if stored is None:
        return None
    return [
        SenselFault(int(f["row"]), int(f["col"]), str(f.get("kind", "")), float(f["value"]))
        for f in stored
    ]


def _recording_limits(
    path: str | Path, attrs: dict[str, Any], config: AlarmConfig, use_truth: bool
) -> AlarmConfig:
    """Apply the recording's sensor full scale and, when asked, its truth restrictions
    (``attrs``: the ``/mat`` attributes, :meth:`RecordingReader.mat_attrs`)."""
    full = attrs.get("sensor_max_kpa")
    if full is not None and math.isfinite(float(full)) and float(full) > 0:
        config = replace(config, saturation_kpa=float(full))
    if use_truth:
        raw = attrs.get("truth_restrictions")
        if raw is None:
            raise InputError(f"{path}: /mat attr truth_restrictions: absent (not simulated?)")
        try:
            data = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
            avoid = [str(z) for z in data.get("avoid_zones", [])]
        except (json.JSONDecodeError, AttributeError, TypeError):
            raise InputError(f"{path}: /mat attr truth_restrictions: not valid JSON") from None
        config = config.tightened(
            avoid,
            data.get("max_load_fraction"),
            data.get("max_pressure_kpa"),
            source="truth_restrictions",
        )
    return config


def _resample(series: tuple[Any, Any], t: np.ndarray) -> np.ndarray:
    """Bar forces [n, 2] at the frame times (linear interpolation, N)."""
    bt, bf = np.asarray(series[0], dtype=np.float64), np.asarray(series[1], dtype=np.float64)
    return np.stack([np.interp(t, bt, bf[:, 0]), np.interp(t, bt, bf[:, 1])], axis=1)


def _feet_at(insoles: Mapping[str, Any], t: np.ndarray) -> np.ndarray:
    """Left and right insole force [n, 2] at times ``t`` (N)."""
    cols = []
    for side in ("left", "right"):
        ins = insoles[side]
        cols.append(np.interp(t, ins.time.astype(np.float64), ins.force.astype(np.float64)))
    return np.stack(cols, axis=1)


def write_alerts_jsonl(alerts: Sequence[Alert], path: str | Path) -> None:
    """Write ``ashiguard.alerts/1`` JSON Lines (one episode per line, by ``t_start``)."""
    with open(path, "w", encoding="utf-8") as fh:
        for a in sorted(alerts, key=lambda a: a.t_start):
            fh.write(json.dumps(a.to_json(), ensure_ascii=False) + "\n")


def read_alerts_jsonl(text: str, where: str = "alerts") -> list[dict[str, Any]]:
    """Parse alert JSON Lines, naming the bad line."""
    out = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"{where}: line {i}: not JSON") from None
        if not isinstance(obj, dict):
            raise InputError(f"{where}: line {i}: not a JSON object")
        for key in ("kind", "t_start", "t_end"):
            if key not in obj:
                raise InputError(f"{where}: line {i}: missing {key!r}")
        if obj["kind"] not in KINDS:
            raise InputError(f"{where}: line {i}: unknown kind {obj['kind']!r}")
        for key in ("t_start", "t_end"):
            v = obj[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError(f"{where}: line {i}: {key} must be a number")
        out.append(obj)
    return out


def evaluate_alerts(
    truth: Sequence[Mapping[str, Any]],
    alerts: Sequence[Mapping[str, Any]],
    *,
    onset_tolerance_s: float = 0.5,
) -> dict[str, Any]:
    """Per-kind recall, precision and onset delay of alerts against ground-truth events.

    A truth event is detected when an alert of the same kind (and zone, when the truth names
    one) overlaps it and starts no later than ``onset_tolerance_s`` after it; each alert
    counts for at most one event. An alert is a true positive when it overlaps any truth event
    of its kind (and zone); otherwise it is a false positive.
    """
    per: dict[str, Any] = {}
    kinds = sorted({str(e["kind"]) for e in truth} | {str(a["kind"]) for a in alerts})
    for kind in kinds:
        tr = [e for e in truth if e["kind"] == kind]
        al = [a for a in alerts if a["kind"] == kind]
        used: set[int] = set()
        delays: list[float] = []
        for e in tr:
            best = None
            for j, a in enumerate(al):
                if j in used or not _matches(e, a):
                    continue
                if a["t_start"] - e["t_start"] > onset_tolerance_s:
                    continue
                if best is None or abs(a["t_start"] - e["t_start"]) < abs(
                    al[best]["t_start"] - e["t_start"]
                ):
                    best = j
            if best is not None:
                used.add(best)
                delays.append(max(0.0, float(al[best]["t_start"]) - float(e["t_start"])))
        tp_alerts = sum(1 for a in al if any(_matches(e, a) for e in tr))
        per[kind] = {
            "truth": len(tr),
            "alerts": len(al),
            "detected": len(delays),
            "recall": len(delays) / len(tr) if tr else None,
            "precision": tp_alerts / len(al) if al else None,
            "onset_delay_mean_s": float(np.mean(delays)) if delays else None,
            "onset_delay_max_s": float(np.max(delays)) if delays else None,
        }
    return {
        "schema": "ashiguard.evaluation/1",
        "onset_tolerance_s": onset_tolerance_s,
        "kinds": per,
    }


def _matches(e: Mapping[str, Any], a: Mapping[str, Any]) -> bool:
    if e.get("zone") and a.get("zone") != e.get("zone"):
        return False
    return float(a["t_start"]) <= float(e["t_end"]) and float(a["t_end"]) >= float(e["t_start"])
