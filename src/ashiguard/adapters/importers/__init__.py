"""Importers for real pressure-sensor exports, with format detection from the content.

``import_file(path, fmt=None)`` reads a vendor export into an :class:`ImportedRecording`
(pressure in kPa, time in s, pitch in mm); ``write_imported(imported, out)`` stores it as an
``ashiguard.recording/1`` file. Formats register in :data:`FORMATS`; each has
``detect(head_text) -> bool`` over the first bytes of the file and ``read(source)``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ashiguard.adapters.importers import emed, moticon, novel, popu, tekscan, xsensor
from ashiguard.adapters.importers._base import (
    KPA_PER_UNIT,
    AuxChannel,
    Format,
    ImportedRecording,
    InsoleSeries,
    SourceText,
)
from ashiguard.domain.errors import InputError

__all__ = [
    "FORMATS",
    "KPA_PER_UNIT",
    "AuxChannel",
    "Format",
    "ImportedRecording",
    "InsoleSeries",
    "apply_corrections",
    "detect_format",
    "import_file",
    "write_imported",
]

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        tekscan.FORMAT,
        xsensor.FORMAT,
        novel.PLIANCE,
        novel.PEDAR,
        moticon.FORMAT,
        popu.FORMAT,
        emed.FORMAT,
    )
}
_HEAD_BYTES = 8192


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if not raw.strip():
        raise InputError(f"{path.name}: file is empty")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path.name}: not a text export")  # pragma: no cover - cp1252 decodes all


def detect_format(head: str) -> str | None:
    """Name of the first format whose ``detect`` accepts ``head`` (the file's first bytes)."""
    for name, f in FORMATS.items():
        if f.detect(head):
            return name
    return None


def import_file(
    path: str | Path, fmt: str | None = None, *, side: str | None = None
) -> ImportedRecording:
    """Read a vendor export; ``fmt`` forces a format, else it is detected from the content.

    ``side`` (``left``/``right``) picks the foot for grid exports holding both feet (XSENSOR)
    or marks a Tekscan grid as under that foot; other formats refuse it.

    Raises
    ------
    InputError
        Unknown format, or a file the format cannot read (the message names the line).
    """
    p = Path(path)
    if side is not None and side not in ("left", "right"):
        raise InputError(f"--side: {side!r} is not left or right")
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    text = _read_text(p)
    name = fmt or detect_format(text[:_HEAD_BYTES])
    if name is None and p.suffix.lower() == ".lst":
        raise InputError(f"{p.name}: {emed.REFUSAL}")
    if name is None:
        raise InputError(f"{p.name}: unknown export format (known: {', '.join(FORMATS)})")
    imported = FORMATS[name].read(SourceText(p, text), side)
    if imported.pressure is not None and imported.frames:
        _find_sensel_faults(imported)
    return imported


def _find_sensel_faults(imported: ImportedRecording) -> None:
    """Dead / stuck / saturated sensels from power-on (``domain.sensel_faults``), kept in
    ``imported.sensel_faults`` and named in one note."""
    from ashiguard.domain.sensel_faults import FAULT_KINDS, SenselStats

    assert imported.pressure is not None and imported.shape is not None
    stats = SenselStats(*imported.shape)
    for i in range(0, imported.frames, 1024):
        stats.add(imported.pressure[i : i + 1024])
    saturation = imported.sensor_max_kpa if imported.units == "kPa" else None
    faults = stats.faults(saturation=saturation)
    imported.sensel_faults = faults
    if faults:
        kinds = ", ".join(
            f"{sum(f.kind == k for f in faults)} {k}"
            for k in FAULT_KINDS
            if any(f.kind == k for f in faults)
        )
        cells = ", ".join(f"[{f.row}, {f.col}]" for f in faults[:5])
        more = " ..." if len(faults) > 5 else ""
        imported.notes = (
            *imported.notes,
            f"sensor faults from power-on: {kinds} sensel(s) at (row, col) {cells}{more}; "
            "the analysis treats them as not reporting",
        )


def apply_corrections(
    imported: ImportedRecording,
    *,
    tare_window: tuple[float, float] | None = None,
    calibration: str | Path | None = None,
    drift: bool = False,
) -> ImportedRecording:
    """Zero (tare) and calibrate an imported grid in place, and return it.

    ``tare_window`` (start, end) s: each sensel's mean over the frames in that window is
    subtracted (``domain.zeroing``); ``calibration``: an ``ashiguard.calibration/1`` file
    (JSON or CSV) turning raw counts into kPa; ``drift``: subtract the piecewise-linear
    baseline through the unloaded frames (``domain.drift``), after the tare and before the
    calibration. The recording keeps the offsets, the window, the calibration and the drift
    removed (``/mat`` attrs ``tare_*``, ``calibration*``, ``drift_corrected``).

    Raises
    ------
    InputError
        No grid, a loaded or empty window, a bad calibration file, or a calibration for an
        export already in kPa.
    """
    from ashiguard.domain.zeroing import apply_tare, parse_calibration, tare_from_frames

    if tare_window is None and calibration is None and not drift:
        return imported
    if imported.pressure is None or imported.time is None or imported.shape is None:
        if calibration is not None or not imported.insoles:
            what = "--calibration" if calibration is not None else "--tare-window"
            raise InputError(
                f"{what}: applies to grid recordings in raw counts; this export has "
                + ("insoles in kPa" if imported.insoles else "no grid")
            )
        return _correct_insoles(imported, tare_window, drift)
    rows, cols = imported.shape
    cal = None
    if calibration is not None:
        cal_path = Path(calibration)
        if imported.units != "raw":
            raise InputError(
                f"--calibration: {cal_path.name}: the export is already in {imported.units}; "
                "a calibration turns raw counts into kPa"
            )
        try:
            raw = cal_path.read_bytes()
        except OSError as exc:
            raise InputError(f"--calibration: {cal_path}: cannot read: {exc.strerror}") from None
        try:
            cal_text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"--calibration: {cal_path.name}: not UTF-8 text") from None
        cal = parse_calibration(cal_text, cal_path.name, rows, cols)
    notes = list(imported.notes)
    if tare_window is not None:
        tare = tare_from_frames(
            imported.time,
            imported.pressure,
            tare_window,
            max_offset=20.0 if imported.units == "kPa" else None,
        )
        for i in range(0, imported.frames, 1024):
            imported.pressure[i : i + 1024] = apply_tare(
                imported.pressure[i : i + 1024], tare.offsets
            )
        imported.mat_attrs.update(
            tare_window_s=np.asarray(tare.window_s, dtype=np.float64),
            tare_offsets=tare.offsets,
            tare_units=imported.units,
            tare_frames=tare.frames,
        )
        notes.append(
            f"tare: each sensel's mean over {tare.frames} frames from {tare.window_s[0]:g} to "
            f"{tare.window_s[1]:g} s subtracted (largest offset {float(tare.offsets.max()):.4g} "
            f"{imported.units}); values below 0 clipped to 0"
        )
    if drift:
        from ashiguard.domain.drift import DriftEstimator, correct_drift

        est = DriftEstimator()
        est.add(imported.time, imported.pressure)
        report = est.report()
        anchors = est.anchors
        for i in range(0, imported.frames, 1024):
            sl = slice(i, i + 1024)
            imported.pressure[sl] = correct_drift(imported.time[sl], imported.pressure[sl], anchors)
        report["units"] = imported.units
        imported.mat_attrs["drift_corrected"] = json.dumps(report)
        if anchors:
            notes.append(
                f"drift: baseline through {len(anchors)} unloaded stretch(es) subtracted "
                f"(largest sensel change {report['baseline_change_max']} {imported.units})"
            )
        else:
            notes.append("drift: no unloaded stretch found, nothing corrected")
    if cal is not None:
        for i in range(0, imported.frames, 1024):
            imported.pressure[i : i + 1024] = cal.apply(imported.pressure[i : i + 1024])
        imported.units = "kPa"
        imported.scale_to_kpa = float(cal.kpa_per_count.flat[0]) if cal.is_global else None
        imported.mat_attrs.update(
            calibration=json.dumps(cal.to_json()),
            calibration_file=Path(calibration).name if calibration is not None else "",
            calibration_kpa_per_count=cal.kpa_per_count,
        )
        notes.append(
            f"calibration {Path(str(calibration)).name}: counts -> kPa "
            + ("(one factor)" if cal.is_global else "(per sensel)")
        )
    imported.notes = tuple(notes)
    # sensel faults stay as found on the export itself (a stuck sensel tared to 0 is still stuck)
    return imported


def _correct_insoles(
    imported: ImportedRecording, tare_window: tuple[float, float] | None, drift: bool
) -> ImportedRecording:
    """Tare and drift correction of each insole's sensor pressures (kPa); the total force as
    the insole computed it is kept as it is (noted)."""
    import dataclasses

    from ashiguard.domain.drift import DriftEstimator, correct_drift
    from ashiguard.domain.zeroing import apply_tare, tare_from_frames

    notes = list(imported.notes)
    updated = {}
    for side, ins in sorted(imported.insoles.items()):
        if ins.pressure is None:
            continue
        p = ins.pressure[:, None, :]
        attrs = dict(ins.attrs)
        if tare_window is not None:
            try:
                tare = tare_from_frames(ins.time, p, tare_window)
            except InputError as exc:
                raise InputError(f"{side} insole: {exc}") from None
            p = apply_tare(p, tare.offsets)
            attrs.update(
                tare_window_s=np.asarray(tare.window_s, dtype=np.float64),
                tare_offsets=tare.offsets[0],
                tare_units="kPa",
                tare_frames=tare.frames,
            )
            notes.append(
                f"{side} insole tare: each sensor's mean over {tare.frames} samples from "
                f"{tare.window_s[0]:g} to {tare.window_s[1]:g} s subtracted "
                f"(largest {float(tare.offsets.max()):.4g} kPa); total force kept as recorded"
            )
        if drift:
            est = DriftEstimator()
            est.add(ins.time, p)
            report = est.report()
            p = correct_drift(ins.time, p, est.anchors)
            report["units"] = "kPa"
            attrs["drift_corrected"] = json.dumps(report)
            notes.append(
                f"{side} insole drift: baseline through {len(est.anchors)} unloaded "
                f"stretch(es) subtracted (largest sensor change {report['baseline_change_max']} "
                "kPa); total force kept as recorded"
            )
        updated[side] = dataclasses.replace(ins, pressure=p[:, 0, :], attrs=attrs)
    imported.insoles.update(updated)  # all feet or none: a refusal leaves the import as it was
    imported.notes = tuple(notes)
    return imported


def write_imported(imported: ImportedRecording, out_path: str | Path) -> Path:
    """Write an imported export as an ``ashiguard.recording/1`` file and return its path.

    The recording is written under a temporary name beside ``out_path`` and renamed to it only
    once complete: an import that fails leaves nothing at ``out_path`` (and an earlier file
    there untouched).
    """
    out = Path(out_path)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.importing")
    try:
        _write(imported, tmp)
        os.replace(tmp, out)
    except InputError as exc:
        tmp.unlink(missing_ok=True)
        msg = str(exc).replace(str(tmp), str(out))
        raise InputError(msg if str(out) in msg else f"{out}: {msg}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def _write(imported: ImportedRecording, out: Path) -> None:
    from ashiguard.adapters.recording import RecordingWriter

    shape = imported.shape
    mat_attrs: dict[str, Any] = {
        "source_format": imported.source_format,
        "source_file": Path(imported.source_path).name,
        "source_header": json.dumps(imported.header, ensure_ascii=False, default=str),
        "source_units": imported.source_units,
    }
    if imported.scale_to_kpa is not None:
        mat_attrs["scale_to_kpa"] = float(imported.scale_to_kpa)
    if imported.sensor_max_kpa is not None and imported.units == "kPa":
        mat_attrs["sensor_max_kpa"] = float(imported.sensor_max_kpa)
    mat_attrs.update(imported.mat_attrs)
    if imported.sensel_faults is not None:
        mat_attrs["sensel_faults"] = json.dumps([f.to_json() for f in imported.sensel_faults])
    notes = list(imported.notes)
    if notes:
        mat_attrs["import_notes"] = json.dumps(notes)
    with RecordingWriter(
        out,
        rows=shape[0] if shape else None,
        cols=shape[1] if shape else None,
        pitch_mm=imported.pitch_mm if shape else None,
        row_pitch_mm=imported.row_pitch_mm,
        placement=imported.placement,
        side=imported.side,
        started_at=imported.started_at,
        client=imported.client,
        units=imported.units,
        mat_attrs=mat_attrs,
        flush_interval_s=0.5,
    ) as w:
        if imported.pressure is not None and imported.time is not None:
            block = 256
            for i in range(0, imported.frames, block):
                w.append(imported.time[i : i + block], imported.pressure[i : i + block])
        for side, ins in imported.insoles.items():
            attrs: dict[str, Any] = {
                "source_format": imported.source_format,
                "source_file": Path(imported.source_path).name,
            }
            if ins.sensor_ids:
                attrs["sensor_ids"] = np.asarray(ins.sensor_ids, dtype=np.int32)
            attrs.update(ins.attrs)
            if not imported.shape:
                attrs["source_header"] = mat_attrs["source_header"]
            w.append_insole(
                side,
                ins.time,
                ins.force,
                pressure=ins.pressure,
                cop_mm=ins.cop_mm,
                cop_norm=ins.cop_norm,
                attrs=attrs,
            )
        for name, ch in imported.aux.items():
            w.write_aux(
                name,
                ch.time,
                ch.values,
                columns=ch.columns,
                units=ch.units,
                attrs={"source_format": imported.source_format},
            )
        if imported.annotations:
            w.write_annotations(imported.annotations)
