"""PoPu dataset JSON (CC0): Tactilus over-mattress and Sensomatt under-mattress snapshots.

One file holds one posture of one volunteer: ``<sensor>_rows``, ``<sensor>_columns``, the
volunteer's ``height`` (cm) and ``weight`` (kg) and ``snapshots`` (``"0"``..``"9"``), each with
an ``id`` and ``<sensor>_readings`` (rows x columns values, row-major; row 0 at the head end).

Assumptions (documented in docs/recordings.md):

- Tactilus readings are taken as mmHg (converted x 0.133322 to kPa): with a nominal 25.4 mm
  pitch the summed load of a prone snapshot is 1.2-1.5 times the volunteer's weight, the right
  order for mmHg and far off for kPa or psi. Pitch 25.4 mm is nominal, not published.
- Sensomatt readings are raw sensor counts (an empty bed reads about 480 everywhere): stored as
  ``units = raw`` with no kPa scale; nominal pitch chosen so the sheet covers the Tactilus area.
- Snapshot ids read as ``YYMMDD`` + ``MMSScc`` (minutes, seconds, centiseconds; the hour is not
  in the id): the snapshots are about 0.52 s apart. When an id does not decode that way the
  nominal period 0.52 s is used.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from ashiguard.adapters.importers._base import (
    Format,
    ImportedRecording,
    SourceText,
    check_grid_size,
    to_float32,
)

__all__ = ["FORMAT", "NOMINAL_PERIOD_S", "SENSORS", "read_popu"]

NOMINAL_PERIOD_S = 0.52
# sensor -> (units, kPa per unit or None, column pitch mm, row pitch mm)
SENSORS: dict[str, tuple[str, float | None, float, float]] = {
    "tactilus": ("mmHg", 0.133322, 25.4, 25.4),
    "sensomatt": ("raw", None, 27 * 25.4 / 6, 64 * 25.4 / 12),
}


def _detect(head: str) -> bool:
    h = head.lstrip("\ufeff \r\n\t")
    # Keys may come in any order: the snapshots (long arrays) may precede the grid size.
    return h.startswith("{") and any(
        f'"{s}_rows"' in head or ('"snapshots"' in head and f'"{s}_readings"' in head)
        for s in SENSORS
    )


def _line_of(src: SourceText, key: str) -> int | None:
    needle = f'"{key}"'
    for i, line in enumerate(src.lines):
        if needle in line:
            return i + 1
    return None


def read_popu(src: SourceText, side: str | None = None) -> ImportedRecording:
    """Read one PoPu posture file (all its snapshots) as frames under the client."""
    if side is not None:
        raise src.error(None, "--side does not apply to a PoPu mat")
    text = "\n".join(src.lines)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise src.error(exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(data, dict):
        raise src.error(1, "expected a JSON object")
    sensor = next((s for s in SENSORS if f"{s}_rows" in data), None)
    if sensor is None:
        raise src.error(1, "no tactilus_rows or sensomatt_rows field")
    rows, cols = (_dim(src, data, f"{sensor}_{k}") for k in ("rows", "columns"))
    snaps = data.get("snapshots")
    if not isinstance(snaps, dict) or not snaps:
        raise src.error(_line_of(src, "snapshots"), "snapshots: missing or empty")
    check_grid_size(f"{src.name}: line {_line_of(src, f'{sensor}_rows')}", rows, cols, len(snaps))
    frames, ids = [], []
    for key in sorted(snaps, key=_snapshot_order):
        snap = snaps[key]
        readings = snap.get(f"{sensor}_readings") if isinstance(snap, dict) else None
        where = f"snapshots.{key}.{sensor}_readings"
        if not isinstance(readings, list):
            raise src.error(_line_of(src, key), f"{where}: missing")
        if len(readings) != rows * cols:
            raise src.error(
                _line_of(src, key), f"{where}: {len(readings)} values, expected {rows}x{cols}"
            )
        try:
            arr = np.asarray(readings, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise src.error(_line_of(src, key), f"{where}: not all numbers") from None
        if not np.all(np.isfinite(arr)) or (arr < 0).any():
            raise src.error(_line_of(src, key), f"{where}: negative or non-finite value")
        frames.append(arr.reshape(rows, cols))
        ids.append(str(snap.get("id", "")))
    units, scale, pitch, row_pitch = SENSORS[sensor]
    pressure = to_float32(
        np.stack(frames), scale, lambda ix: f"{src.name}: snapshot {ids[ix[0]] or ix[0] + 1}"
    )
    times, time_source = _times(ids)
    header: dict[str, Any] = {k: v for k, v in data.items() if k != "snapshots"}
    header.update(sensor=sensor, snapshot_ids=ids, time_source=time_source)
    client = {}
    for key, name in (("height", "height_cm"), ("weight", "weight_kg")):
        v = data.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1000:
            client[name] = float(v)
    return ImportedRecording(
        source_format="popu",
        source_path=src.path,
        pressure=pressure,
        time=times,
        pitch_mm=pitch,
        row_pitch_mm=row_pitch if row_pitch != pitch else None,
        placement="under_client",
        units="kPa" if scale is not None else "raw",
        source_units=units,
        scale_to_kpa=scale,
        header=header,
        started_at=_date(ids),
        client=client or None,
        notes=(
            f"{sensor} units assumed {units}; pitch {pitch:.1f} mm nominal",
            f"time from {time_source}",
        ),
    )


def _snapshot_order(key: str) -> int:
    """Snapshots in the order of their numeric keys (others last)."""
    return int(key) if key.isascii() and key.isdigit() and len(key) < 18 else 1 << 62


def _dim(src: SourceText, data: dict[str, Any], key: str) -> int:
    v = data.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise src.error(_line_of(src, key), f"{key}: must be a positive integer, got {v!r}")
    return v


_ID = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})")


def _times(ids: list[str]) -> tuple[np.ndarray, str]:
    nominal = np.arange(len(ids), dtype=np.float64) * NOMINAL_PERIOD_S
    secs = []
    for sid in ids:
        m = _ID.fullmatch(sid)
        if not m or int(m.group(5)) >= 60:
            return nominal, f"nominal period {NOMINAL_PERIOD_S} s"
        secs.append(int(m.group(4)) * 60 + int(m.group(5)) + int(m.group(6)) / 100)
    t = np.asarray(secs, dtype=np.float64)
    t = t + 3600.0 * np.concatenate(([0], np.cumsum(np.diff(t) < 0)))  # hour rollover
    t = np.round(t - t[0], 2)
    if len(t) > 1 and (np.diff(t) <= 0).any():
        return nominal, f"nominal period {NOMINAL_PERIOD_S} s"
    return t, "snapshot ids (YYMMDD MMSScc)"


def _date(ids: list[str]) -> str | None:
    m = _ID.fullmatch(ids[0]) if ids else None
    if not m:
        return None
    yy, mm, dd = (int(m.group(k)) for k in (1, 2, 3))
    if not (1 <= mm <= 12 and 1 <= dd <= 31):
        return None
    return f"20{yy:02d}-{mm:02d}-{dd:02d}"


FORMAT = Format(
    name="popu",
    description="PoPu dataset JSON (Tactilus / Sensomatt mat snapshots, prone volunteer)",
    detect=_detect,
    read=read_popu,
)
