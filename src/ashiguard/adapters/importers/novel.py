"""novel GmbH ASCII exports: pliance (mats, sensors by number) and pedar (in-shoe insoles).

pliance (``.asc``): header (``mat type``, ``time per frame [secs]``, ``pressure values in
kPa``), then ``time[secs]`` and one column per sensor number, one line per frame; ``MPP``/``MVP``
summary lines end the pressure section; a force/centre-of-pressure table follows; the file ends
with the sensor geometry (``sensor`` numbers, ``x[c]``/``y[c]`` centre in cm, ``area`` cm2).
When the sensor centres lie on a regular lattice the frames are stored as a grid (rows by
ascending y, columns by ascending x; lattice cells with no sensor are NaN); other layouts are
refused, since ashiguard stores mats as grids.

pedar (``.asc``): header (``time per frame [secs]``, ``pressure values in kPa``, ``left
insole:``/``right insole:`` sensor masks), then ``time[secs]`` and the sensor numbers of the
left insole followed by those of the right insole (99 each), one line per frame. Stored under
``/insoles``; the export has no sensor areas, so total force is not available (NaN).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ashiguard.adapters.importers._base import (
    AuxChannel,
    Format,
    ImportedRecording,
    InsoleSeries,
    SourceText,
    check_grid_size,
    kpa_scale,
    parse_number,
    to_float32,
    unit_of,
)

__all__ = ["PEDAR", "PLIANCE", "read_pedar", "read_pliance"]

_PERIOD = re.compile(r"time per frame \[secs\]:\s*([0-9.,]+)")
_TOTAL = re.compile(r"total times? \[secs\]:\s*([0-9.,]+)")
_UNITS = re.compile(r"pressure values in\s+(\S+)")


def _detect_pliance(head: str) -> bool:
    return head.lstrip("\ufeff").startswith("file name:") and "mat type" in head


def _detect_pedar(head: str) -> bool:
    return (
        head.lstrip("\ufeff").startswith("file name:")
        and "sensor type:" in head
        and "insole" in head
    )


def _header(src: SourceText) -> tuple[dict[str, Any], float, float | None, str, int]:
    """Header fields, frame period s, kPa scale, unit text, index of the ``time[secs]`` line."""
    header: dict[str, Any] = {}
    period = scale = unit = None
    for i, line in enumerate(src.lines):
        if line.strip().startswith("time[secs]"):
            break
        if m := _PERIOD.search(line):
            try:
                period = parse_number(m.group(1))
            except ValueError:
                period = -1.0
            if not period > 0:
                raise src.error(i + 1, "time per frame must be > 0")
        if m := _UNITS.search(line):
            unit = m.group(1)
            scale = kpa_scale(unit, f"{src.name}: line {i + 1}")
        if line.startswith("mat type"):
            header["mat type"] = line[len("mat type") :].strip()
        for part in re.split(r"\t|\s{2,}(?=\S+.*:)", line):
            key, sep, value = part.partition(":")
            if sep and key.strip():
                header[key.strip()] = value.strip()
    else:
        if not src.lines:
            raise src.error(None, "file is empty")
        raise src.error(len(src.lines), "no 'time[secs]' column header line")
    if period is None:
        raise src.error(i + 1, "header has no 'time per frame [secs]'")
    if unit is None:
        raise src.error(i + 1, "header has no 'pressure values in <unit>' line")
    return header, period, scale, unit, i


def _table(src: SourceText, start: int, ncols: int) -> tuple[np.ndarray, int]:
    """Numeric lines from ``start`` until a non-numeric or blank line: [k, ncols] and end index."""
    rows: list[np.ndarray] = []
    i = start
    while i < len(src.lines):
        line = src.lines[i]
        parts = line.split()
        if not parts or not re.match(r"-?[0-9.]", parts[0]):
            break
        if len(parts) != ncols:
            raise src.error(i + 1, f"expected {ncols} values, got {len(parts)}")
        rows.append(src.floats(i + 1, parts, "value"))
        i += 1
    if not rows:
        raise src.error(start + 1, "no data lines after the column header")
    table = np.stack(rows)
    if not np.isfinite(table[:, 0]).all():
        k = int(np.argmin(np.isfinite(table[:, 0])))
        raise src.error(start + k + 1, f"time {table[k, 0]} is not a finite number")
    steps = np.diff(table[:, 0])
    if (steps <= 0).any():
        k = int(np.argmax(steps <= 0)) + 1
        raise src.error(start + k + 1, f"time {table[k, 0]} s not after {table[k - 1, 0]} s")
    return table, i


def _number_or(text: str, default: float) -> float:
    try:
        return parse_number(text)
    except ValueError:
        return default


_CM_COLUMNS = {"x": "cop x", "y": "cop y"}


def _force_table(src: SourceText, start: int) -> AuxChannel | None:
    """The pliance force / centre-of-pressure table after the pressure section, by header
    name (``time[secs] force[N] x[cm] y[cm]``): ``-`` = no value (no load, no centre).

    x and y in cm become ``cop x`` / ``cop y`` in mm; other columns are kept with the unit the
    header gives. None when the file has no such table.
    """
    head = next(
        (
            i
            for i in range(start, len(src.lines))
            if src.lines[i].split()[:1] == ["time[secs]"] and len(src.lines[i].split()) > 1
        ),
        None,
    )
    if head is None:
        return None
    names = src.lines[head].split()[1:]
    rows: list[list[float]] = []
    lines: list[int] = []
    for i in range(head + 1, len(src.lines)):
        parts = src.lines[i].split()
        if not parts:
            if rows:
                break
            continue
        if not re.match(r"-?[0-9.]", parts[0]):
            break
        if len(parts) != len(names) + 1:
            raise src.error(i + 1, f"expected {len(names) + 1} values, got {len(parts)}")
        cells = ["nan" if p == "-" else p for p in parts]
        rows.append(list(src.floats(i + 1, cells, "force table value")))
        lines.append(i + 1)
    if not rows:
        return None
    table = np.asarray(rows)
    steps = np.diff(table[:, 0])
    if not np.isfinite(table[:, 0]).all() or (steps <= 0).any():
        k = int(np.argmax(~np.isfinite(table[1:, 0]) | (steps <= 0))) + 1
        raise src.error(lines[k], "force table: time not increasing")
    columns, units, scales = [], [], []
    for n in names:
        base, unit = unit_of(n)
        if base in _CM_COLUMNS and unit == "cm":
            columns.append(_CM_COLUMNS[base])
            units.append("mm")
            scales.append(10.0)
        else:
            columns.append(base)
            units.append(unit)
            scales.append(1.0)
    values = to_float32(
        table[:, 1:] * np.asarray(scales),
        None,
        lambda ix: f"{src.name}: line {lines[ix[0]]}",
    )
    return AuxChannel(
        name="force_cop",
        time=table[:, 0].copy(),
        values=values,
        columns=tuple(columns),
        units=tuple(units),
    )


def _sensor_numbers(src: SourceText, idx: int) -> list[int]:
    parts = src.lines[idx].split()[1:]
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise src.error(idx + 1, "sensor numbers in the column header are not integers") from None


def read_pliance(src: SourceText, side: str | None = None) -> ImportedRecording:
    """Read a pliance ASCII export as a grid (see module docstring)."""
    if side is not None:
        raise src.error(None, "--side does not apply to a pliance mat")
    header, period, scale, unit, idx = _header(src)
    ids = _sensor_numbers(src, idx)
    table, end = _table(src, idx + 1, len(ids) + 1)
    geometry = _geometry(src, end)
    cells = _lattice(src, ids, geometry)
    rows = max(r for r, _ in cells.values()) + 1
    cols = max(c for _, c in cells.values()) + 1
    check_grid_size(f"{src.name}: line {geometry['line']}", rows, cols, table.shape[0])
    values = to_float32(table[:, 1:], scale, lambda ix: f"{src.name}: line {idx + 2 + ix[0]}")
    pressure = np.full((table.shape[0], rows, cols), np.nan, dtype=np.float32)
    for k, sid in enumerate(ids):
        r, c = cells[sid]
        pressure[:, r, c] = values[:, k]
    dx, dy = geometry["pitch"]
    header.update(sensor_ids=ids, frame_period_s=period)
    force = _force_table(src, end)
    aux = {} if force is None else {"force_cop": force}
    note = (
        "force / centre-of-pressure table kept in /aux/force_cop (cm -> mm)"
        if force is not None
        else "the export has no force / centre-of-pressure table"
    )
    return ImportedRecording(
        source_format="pliance",
        source_path=src.path,
        pressure=pressure,
        time=table[:, 0].copy(),
        pitch_mm=dx,
        row_pitch_mm=dy if abs(dy - dx) > 1e-9 else None,
        placement="other",
        units="kPa" if scale is not None else "raw",
        source_units=unit,
        scale_to_kpa=scale,
        header=header,
        notes=(note,),
        aux=aux,
    )


def _geometry(src: SourceText, start: int) -> dict[str, Any]:
    """Sensor centres (mm) from the ``sensor`` / ``x[c]`` / ``y[c]`` block at the end."""
    rows: dict[str, tuple[int, list[str]]] = {}
    for i in range(start, len(src.lines)):
        parts = src.lines[i].split()
        if parts and parts[0] in ("sensor", "x[c]", "y[c]", "area"):
            rows[parts[0]] = (i + 1, parts[1:])
    for key in ("sensor", "x[c]", "y[c]"):
        if key not in rows:
            raise src.error(len(src.lines), f"sensor geometry line {key!r} missing (truncated?)")
    line, sensor = rows["sensor"]
    ids = [int(x) for x in src.floats(line, sensor, "sensor number")]
    xs = src.floats(rows["x[c]"][0], rows["x[c]"][1], "x[c]") * 10.0
    ys = src.floats(rows["y[c]"][0], rows["y[c]"][1], "y[c]") * 10.0
    if not len(ids) == len(xs) == len(ys):
        raise src.error(rows["y[c]"][0], "sensor, x[c] and y[c] lines differ in length")
    return {"centres": dict(zip(ids, zip(xs, ys, strict=True), strict=True)), "line": line}


def _lattice(
    src: SourceText, ids: list[int], geometry: dict[str, Any]
) -> dict[int, tuple[int, int]]:
    centres: dict[int, tuple[float, float]] = geometry["centres"]
    missing = [s for s in ids if s not in centres]
    if missing:
        raise src.error(geometry["line"], f"no geometry for sensor {missing[0]}")
    xy = np.array([centres[s] for s in ids])
    pitch = []
    for axis in (0, 1):
        u = np.unique(np.round(xy[:, axis], 3))
        steps = np.diff(u)
        if steps.size == 0 or not np.allclose(steps, steps.min(), rtol=1e-3, atol=1e-3):
            raise src.error(
                geometry["line"],
                "sensor layout is not a regular grid (only grid mats are supported)",
            )
        pitch.append(round(float(steps.min()), 3))
    geometry["pitch"] = (pitch[0], pitch[1])
    x0, y0 = xy.min(axis=0)
    cells = {
        s: (int(np.rint((y - y0) / pitch[1])), int(np.rint((x - x0) / pitch[0])))
        for s, (x, y) in zip(ids, xy, strict=True)
    }
    if len(set(cells.values())) != len(cells):
        raise src.error(geometry["line"], "two sensors share a grid cell")
    return cells


def read_pedar(src: SourceText, side: str | None = None) -> ImportedRecording:
    """Read a pedar ASCII export into two insoles (see module docstring)."""
    if side is not None:
        raise src.error(None, "--side does not apply to pedar (both insoles are imported)")
    header, period, scale, unit, idx = _header(src)
    if scale is None:
        raise src.error(idx, f"pressure unit {unit!r} has no kPa scale (insoles need kPa)")
    ids = _sensor_numbers(src, idx)
    masks = {s: header.get(f"{s} insole", "") for s in ("left", "right")}
    # Sensor numbers restart at 1 for the right insole.
    split = next((k for k in range(1, len(ids)) if ids[k] <= ids[k - 1]), None)
    if split is None:
        raise src.error(idx + 1, "column header does not hold a left and a right insole")
    table, end = _table(src, idx + 1, len(ids) + 1)
    t = table[:, 0].copy()
    total = _TOTAL.search("\n".join(src.lines[:idx]))
    if total and t[-1] < _number_or(total.group(1), 0.0) - 1.5 * period:
        raise src.error(
            end, f"data ends at {t[-1]} s but the header says {total.group(1)} s (truncated?)"
        )
    insoles = {}
    for side_name, cols in (("left", range(0, split)), ("right", range(split, len(ids)))):
        p = to_float32(
            table[:, [c + 1 for c in cols]],
            scale,
            lambda ix: f"{src.name}: line {idx + 2 + ix[0]}",
        )
        insoles[side_name] = InsoleSeries(
            side=side_name,
            time=t,
            force=np.full(t.shape, np.nan, dtype=np.float32),
            pressure=p,
            sensor_ids=tuple(ids[c] for c in cols),
        )
    header.update(frame_period_s=period, masks=masks)
    return ImportedRecording(
        source_format="pedar",
        source_path=src.path,
        pressure=None,
        time=None,
        pitch_mm=None,
        placement="foot",
        units="kPa",
        source_units=unit,
        scale_to_kpa=scale,
        insoles=insoles,
        header=header,
        notes=("pedar ASCII has no sensor areas: total force not available (NaN)",),
    )


PLIANCE = Format(
    name="pliance",
    description="novel pliance ASCII export (mat, sensors by number, stored as a grid)",
    detect=_detect_pliance,
    read=read_pliance,
)
PEDAR = Format(
    name="pedar",
    description="novel pedar ASCII export (in-shoe insoles, 99 sensors per foot)",
    detect=_detect_pedar,
    read=read_pedar,
)
