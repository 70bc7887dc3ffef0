"""Moticon OpenGo insole text export (Apache-2.0 sample files from moticon-opengo).

``# key: value`` header lines (``Start time: 27.09.2023 10:21:14.922``), a ``# time`` line
naming the tab-separated columns, then one line per sample (100 Hz). Columns are found by
their header name, never by position (``left pressure 3[N/cm²]``, ``right total force[N]``):

- ``time`` (s): required.
- ``<side> pressure <n>[unit]``: required for a foot to be imported; kPa (N/cm2 x 10).
- ``<side> total force[N]`` -> the insole's ``force`` (NaN when the column is absent);
  ``<side> center of pressure X/Y[-0.5...+0.5]`` -> ``cop_norm`` (insole-normalised).
- ``<side> acceleration X/Y/Z[g]`` and ``<side> angular X/Y/Z[dps]`` -> aux channel
  ``<side>_imu`` with their units.
- any other column (``total force[N]``, ``center of pressure X``, ``COP velocity[m/s]``,
  ``left steps[]``, ...): numeric columns -> aux channel ``extras`` (name and unit as in the
  header); columns holding text (event labels) -> ``/annotations`` (``{"t", "column",
  "text"}`` per non-empty cell).

A foot with no data in a line has empty cells there; its samples are left out of that foot's
series. Decimal commas (``6,50``), CRLF line ends and a UTF-8 BOM are read.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
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

__all__ = ["FORMAT", "read_moticon"]

_PRESSURE = re.compile(r"(left|right) pressure ([0-9]{1,6})\[(.+)\]", re.I)
_FORCE = re.compile(r"(left|right) total force\s*\[N\]", re.I)
_COP = re.compile(r"(left|right) cent(?:er|re) of pressure ([XY])\s*\[.*\]", re.I)
_IMU = re.compile(r"(left|right) (acceleration|angular) ([XYZ])\s*\[(.*)\]", re.I)


def _detect(head: str) -> bool:
    return head.lstrip("\ufeff").startswith("# ") and "left pressure 1[" in head


def _header(src: SourceText) -> tuple[dict[str, str], list[str] | None, int]:
    header: dict[str, str] = {}
    names: list[str] | None = None
    for i, line in enumerate(src.lines):
        if not line.lstrip("\ufeff").startswith("#"):
            return header, names, i
        body = line.lstrip("\ufeff")[1:].strip()
        fields = [c.strip().lower() for c in body.split("\t")]
        if len(fields) > 1 and "time" in fields:
            names = [c.strip() for c in body.split("\t")]
        else:
            key, _, value = body.partition(":")
            header[key.strip()] = value.strip()
    return header, names, len(src.lines)


def read_moticon(src: SourceText, side: str | None = None) -> ImportedRecording:
    """Read a Moticon text export into ``/insoles`` (both feet), aux channels, annotations."""
    if side is not None:
        raise src.error(None, "--side does not apply to Moticon (both insoles are imported)")
    if not src.lines:
        raise src.error(None, "file is empty")
    header, names, start = _header(src)
    if names is None:
        raise src.error(start, "no '# time' column header line")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise src.error(start, f"column {dup!r} appears twice")
    scale = _scale(src, names, start)
    cells = _cells(src, start, len(names))
    time_k = [n.lower() for n in names].index("time")
    time = _time(cells, time_k)
    _check_duration(src, header.get("Duration", ""), time)
    used: set[int] = {time_k}
    feet: dict[str, InsoleSeries] = {}
    aux: dict[str, AuxChannel] = {}
    for s in ("left", "right"):
        foot = _foot(src, s, names, cells, time, scale, start, used)
        if foot is not None:
            feet[s] = foot[0]
            if foot[1] is not None:
                aux[f"{s}_imu"] = foot[1]
    if not feet:
        raise src.error(start + 1, "no samples for either foot")
    extras, annotations = _others(src, names, cells, time, start, used)
    notes = ["centre of pressure kept normalised (cop_norm)"]
    if extras is not None:
        aux["extras"] = extras
        notes.append(f"other numeric columns kept in /aux/extras: {', '.join(extras.columns)}")
    if annotations:
        cols = sorted({a["column"] for a in annotations})
        notes.append(f"text columns kept in /annotations: {', '.join(cols)}")
    header["columns"] = ", ".join(names)
    return ImportedRecording(
        source_format="moticon",
        source_path=src.path,
        pressure=None,
        time=None,
        pitch_mm=None,
        placement="foot",
        units="kPa",
        source_units="N/cm²",
        scale_to_kpa=scale,
        insoles=feet,
        header=header,
        started_at=_started(header.get("Start time", "")),
        notes=tuple(notes),
        aux=aux,
        annotations=annotations,
    )


def _check_duration(src: SourceText, text: str, time: np.ndarray) -> None:
    """A file cut short ends well before the header's ``Duration`` ([HH:]MM:SS.fff)."""
    parts = text.split(":")
    try:
        seconds = sum(parse_number(x) * 60**k for k, x in enumerate(reversed(parts)))
    except ValueError:
        return
    last = float(time[-1]) if time.size else 0.0
    if text and last < seconds - 0.05:
        raise src.error(
            len(src.lines), f"data ends at {last} s but Duration says {seconds} s (truncated?)"
        )


def _scale(src: SourceText, names: list[str], start: int) -> float:
    units = {m.group(3) for n in names if (m := _PRESSURE.fullmatch(n))}
    if len(units) != 1:
        raise src.error(start, "pressure columns missing or in mixed units")
    unit = units.pop()
    scale = kpa_scale(unit, f"{src.name}: line {start}")
    if scale is None:
        raise src.error(start, f"pressure unit {unit!r} has no kPa scale")
    return scale


class _Cells:
    """The data lines split into columns; numbers parsed on demand, column by column."""

    def __init__(self, src: SourceText, start: int, columns: list[tuple[str, ...]]) -> None:
        self.src = src
        self.start = start
        self.columns = columns
        self.lines = np.array(
            [i + 1 for i in range(start, len(src.lines)) if src.lines[i].strip()], dtype=np.int64
        )

    def __getitem__(self, k: int) -> tuple[str, ...]:
        return self.columns[k]

    def numbers(self, k: int, what: str) -> np.ndarray:
        """Column ``k`` as float64 (empty cell: NaN); InputError naming the line otherwise."""
        out = np.empty(len(self.columns[k]))
        for n, cell in enumerate(self.columns[k]):
            try:
                out[n] = _number(cell)
            except ValueError:
                raise self.src.error(
                    int(self.lines[n]), f"{what}: {cell.strip()!r} is not a number"
                ) from None
        return out

    def is_numeric(self, k: int) -> bool:
        """Whether every cell of column ``k`` is a number or empty."""
        try:
            for cell in self.columns[k]:
                _number(cell)
        except ValueError:
            return False
        return True


_CACHE: dict[str, float] = {}


def _number(cell: str) -> float:
    v = _CACHE.get(cell)
    if v is None:
        v = parse_number(cell) if cell.strip() else math.nan
        if len(_CACHE) > 200_000:
            _CACHE.clear()
        _CACHE[cell] = v
    return v


def _cells(src: SourceText, start: int, ncols: int) -> _Cells:
    samples = sum(1 for line in src.lines[start:] if line.strip())
    check_grid_size(f"{src.name}: line {start}", 1, ncols, samples)
    rows: list[list[str]] = []
    for i in range(start, len(src.lines)):
        line = src.lines[i]
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != ncols:
            raise src.error(i + 1, f"expected {ncols} tab-separated fields, got {len(parts)}")
        rows.append(parts)
    columns = [tuple(c) for c in zip(*rows, strict=True)] if rows else [() for _ in range(ncols)]
    return _Cells(src, start, columns)


def _time(cells: _Cells, k: int) -> np.ndarray:
    t = cells.numbers(k, "time")
    for n in range(t.size):
        if not math.isfinite(t[n]):
            raise cells.src.error(int(cells.lines[n]), "time is missing or not a finite number")
        if n and not t[n] > t[n - 1]:
            raise cells.src.error(int(cells.lines[n]), f"time {t[n]} s not after {t[n - 1]} s")
    return t


def _foot(
    src: SourceText,
    side: str,
    names: list[str],
    cells: _Cells,
    time: np.ndarray,
    scale: float,
    start: int,
    used: set[int],
) -> tuple[InsoleSeries, AuxChannel | None] | None:
    pcols: list[tuple[int, int]] = []
    force_col: int | None = None
    cop: dict[str, int] = {}
    imu: list[tuple[str, int, str]] = []
    for k, n in enumerate(names):
        if (m := _PRESSURE.fullmatch(n)) and m.group(1).lower() == side:
            pcols.append((int(m.group(2)), k))
        elif (m := _FORCE.fullmatch(n)) and m.group(1).lower() == side:
            force_col = k
        elif (m := _COP.fullmatch(n)) and m.group(1).lower() == side:
            cop[m.group(2).upper()] = k
        elif (m := _IMU.fullmatch(n)) and m.group(1).lower() == side:
            imu.append((f"{m.group(2).lower()} {m.group(3).upper()}", k, m.group(4).strip()))
    if not pcols:
        return None
    pcols.sort()
    if len({n for n, _ in pcols}) != len(pcols):
        raise src.error(start, f"{side} foot: a pressure sensor number appears twice")
    used.update(k for _, k in pcols)
    pressure = np.stack([cells.numbers(k, names[k]) for _, k in pcols], axis=1)
    force = (
        cells.numbers(force_col, names[force_col])
        if force_col is not None
        else np.full(time.shape, np.nan)
    )
    # A sample belongs to this foot when any of its pressures (or its force) is there.
    have = np.isfinite(pressure).any(axis=1) | np.isfinite(force)
    if not have.any():
        return None
    lines = cells.lines[have]

    def where(ix: tuple[int, ...]) -> str:
        return f"{src.name}: line {int(lines[ix[0]])} ({side} foot)"

    cop_norm = None
    if force_col is not None:
        used.add(force_col)
    if set(cop) == {"X", "Y"}:
        used.update(cop.values())
        xy = np.stack([cells.numbers(cop[a], names[cop[a]]) for a in "XY"], axis=1)
        cop_norm = to_float32(xy[have], None, where)
    series = InsoleSeries(
        side=side,
        time=time[have].copy(),
        force=to_float32(force[have], None, where),
        pressure=to_float32(pressure[have], scale, where),
        cop_norm=cop_norm,
        sensor_ids=tuple(n for n, _ in pcols),
    )
    if not imu:
        return series, None
    imu.sort()
    used.update(k for _, k, _ in imu)
    values = np.stack([cells.numbers(k, names[k]) for _, k, _ in imu], axis=1)
    channel = AuxChannel(
        name=f"{side}_imu",
        time=time[have].copy(),
        values=to_float32(values[have], None, where),
        columns=tuple(unit_of(names[k])[0] for _, k, _ in imu),
        units=tuple(u for _, _, u in imu),
    )
    return series, channel


def _others(
    src: SourceText,
    names: list[str],
    cells: _Cells,
    time: np.ndarray,
    start: int,
    used: set[int],
) -> tuple[AuxChannel | None, list[dict[str, Any]]]:
    """Columns no rule above claimed: numbers -> ``extras``, text -> annotations."""
    numeric: list[int] = []
    annotations: list[dict[str, Any]] = []
    for k, name in enumerate(names):
        if k in used:
            continue
        if cells.is_numeric(k):
            numeric.append(k)
            continue
        for n, cell in enumerate(cells[k]):
            if cell.strip():
                annotations.append({"t": float(time[n]), "column": name, "text": cell.strip()})
    annotations.sort(key=lambda a: a["t"])
    if not numeric:
        return None, annotations
    values = np.stack([cells.numbers(k, names[k]) for k in numeric], axis=1)
    extras = AuxChannel(
        name="extras",
        time=time.copy(),
        values=to_float32(values, None, lambda ix: f"{src.name}: line {int(cells.lines[ix[0]])}"),
        columns=tuple(unit_of(names[k])[0] for k in numeric),
        units=tuple(unit_of(names[k])[1] for k in numeric),
    )
    return extras, annotations


def _started(text: str) -> str | None:
    try:
        return datetime.strptime(text, "%d.%m.%Y %H:%M:%S.%f").isoformat(timespec="milliseconds")
    except ValueError:
        return None


FORMAT = Format(
    name="moticon",
    description="Moticon OpenGo insole text export (16 sensors per foot, N/cm2)",
    detect=_detect,
    read=read_moticon,
)
