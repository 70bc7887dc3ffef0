"""Tekscan ASCII movie exports (F-Scan ``.asf``, I-Scan ``.csv``): header, then frames.

Header lines are ``KEY value``; the frames follow ``ASCII_DATA @@`` as ``Frame n[, t, ...]``
then ROWS lines of COLS comma-separated values (``B`` = no sensel at that cell, stored as NaN),
and the data ends with ``@@``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import PureWindowsPath

import numpy as np

from ashiguard.adapters.importers._base import (
    KPA_PER_UNIT,
    Format,
    ImportedRecording,
    SourceText,
    check_grid_size,
    kpa_scale,
    parse_length_mm,
    parse_number,
    to_float32,
)

__all__ = ["FORMAT", "read_tekscan"]

_REQUIRED = ("ROWS", "COLS", "ROW_SPACING", "COL_SPACING", "SECONDS_PER_FRAME", "UNITS")


def _detect(head: str) -> bool:
    lines = head.lstrip("\ufeff").splitlines()
    return bool(lines) and lines[0].startswith("DATA_TYPE") and "ROWS" in head


def _header(src: SourceText) -> tuple[dict[str, str], dict[str, int], int]:
    header: dict[str, str] = {}
    where: dict[str, int] = {}
    for i, line in enumerate(src.lines):
        if line.startswith("ASCII_DATA"):
            return header, where, i + 1
        key, _, value = line.strip().partition(" ")
        if key and key.isupper():
            header[key.rstrip(":")] = value.strip()
            where[key.rstrip(":")] = i + 1
    if not src.lines:
        raise src.error(None, "file is empty")
    raise src.error(len(src.lines), "no ASCII_DATA line: not a complete Tekscan movie export")


def _int_field(src: SourceText, header: dict[str, str], where: dict[str, int], key: str) -> int:
    try:
        value = int(header[key])
    except ValueError:
        raise src.error(where[key], f"{key} {header[key]!r} is not an integer") from None
    if value < 1:
        raise src.error(where[key], f"{key} must be >= 1")
    return value


def _started_at(text: str) -> str | None:
    text = re.sub(r"\b([ap])\.m\.", r"\1m", text.strip(), flags=re.I).upper()
    for fmt in ("%A, %d %B %Y %I:%M:%S %p", "%m/%d/%Y %I:%M:%S.%f%p", "%m/%d/%Y %I:%M:%S%p"):
        try:
            return datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return None


def read_tekscan(src: SourceText, side: str | None = None) -> ImportedRecording:
    """Read a Tekscan ASCII movie; see the module docstring for the layout.

    ``side`` (``left``/``right``) marks the grid as under that foot (placement ``foot``);
    by default F-Scan movies take the side from the movie name and other sensors are ``other``.
    """
    header, where, first = _header(src)
    for key in _REQUIRED:
        if key not in header:
            raise src.error(first, f"header field {key} missing")
    rows = _int_field(src, header, where, "ROWS")
    cols = _int_field(src, header, where, "COLS")
    col_pitch = parse_length_mm(header["COL_SPACING"], f"{src.name}: line {where['COL_SPACING']}")
    row_pitch = parse_length_mm(header["ROW_SPACING"], f"{src.name}: line {where['ROW_SPACING']}")
    try:
        period = parse_number(header["SECONDS_PER_FRAME"])
    except ValueError:
        period = -1.0
    if not period > 0:
        raise src.error(where["SECONDS_PER_FRAME"], "SECONDS_PER_FRAME must be a number > 0")
    scale = kpa_scale(header["UNITS"], f"{src.name}: line {where['UNITS']}")
    expected = None
    if "START_FRAME" in header and "END_FRAME" in header:
        start = _int_field(src, header, where, "START_FRAME")
        expected = _int_field(src, header, where, "END_FRAME") - start + 1
    check_grid_size(f"{src.name}: line {where['ROWS']}", rows, cols, max(expected or 1, 1))
    times, frames = _frames(src, first, rows, cols, period)
    if not frames:
        raise src.error(first + 1, "no frames after ASCII_DATA")
    if expected is not None and len(frames) != expected:
        raise src.error(
            len(src.lines),
            f"{len(frames)} frames but START_FRAME..END_FRAME says {expected} (truncated?)",
        )
    pressure = to_float32(np.stack(frames), scale, lambda ix: f"{src.name}: frame {ix[0] + 1}")
    sensor = header.get("SENSOR_TYPE", "").upper()
    saturation = _saturation_kpa(header.get("SATURATION_PRESSURE", ""))
    side = side or (_side(header) if "FSCAN" in sensor else None)
    return ImportedRecording(
        source_format="tekscan",
        source_path=src.path,
        pressure=pressure,
        time=np.asarray(times, dtype=np.float64),
        pitch_mm=col_pitch,
        row_pitch_mm=row_pitch if abs(row_pitch - col_pitch) > 1e-9 else None,
        placement="foot" if side else "other",
        side=side,
        units="kPa" if scale is not None else "raw",
        source_units=header["UNITS"],
        scale_to_kpa=scale,
        header=dict(header),
        started_at=_started_at(header.get("TIME", "")),
        sensor_max_kpa=saturation,
    )


def _saturation_kpa(text: str) -> float | None:
    """``SATURATION_PRESSURE 1514.73 KPa`` -> 1514.73 kPa (None when absent or not readable)."""
    m = re.fullmatch(r"\s*([0-9.,eE+-]+)\s*(\S+)\s*", text)
    if not m:
        return None
    try:
        value = parse_number(m.group(1))
        scale = KPA_PER_UNIT.get(m.group(2).lower())
    except ValueError:
        return None
    if scale is None or not math.isfinite(value * scale) or not value > 0:
        return None
    return value * scale


def _side(header: dict[str, str]) -> str | None:
    """F-Scan side from the movie name (``...L.fsx`` / ``...R.fsx``), as Tekscan names them."""
    stem = PureWindowsPath(header.get("FILENAME", "")).stem.upper()
    return {"L": "left", "R": "right"}.get(stem[-1:]) if stem else None


def _frames(
    src: SourceText, first: int, rows: int, cols: int, period: float
) -> tuple[list[float], list[np.ndarray]]:
    lines = src.lines
    times: list[float] = []
    frames: list[np.ndarray] = []
    i = first
    n = len(lines)
    while i < n:
        line = lines[i].strip()
        if not line:
            i += 1
            continue
        if line.startswith("@@"):
            return times, frames
        if not line.startswith("Frame"):
            raise src.error(i + 1, f"expected 'Frame n', got {line[:30]!r}")
        times.append(_frame_time(src, i, line, len(frames), period, times))
        block = lines[i + 1 : i + 1 + rows]
        if len(block) < rows or any(not b.strip() for b in block):
            got = next((k for k, b in enumerate(block) if not b.strip()), len(block))
            raise src.error(i + 1 + got, f"frame {len(frames) + 1} has {got} of {rows} rows")
        frames.append(_grid(src, i + 2, block, cols))
        i += 1 + rows
    raise src.error(n, "file ends without the closing @@ (truncated?)")


def _frame_time(
    src: SourceText, i: int, line: str, k: int, period: float, times: list[float]
) -> float:
    parts = line.split(",")
    t = k * period
    if len(parts) > 1 and parts[1].strip():
        try:
            t = float(parts[1])
        except ValueError:
            raise src.error(i + 1, f"frame time {parts[1].strip()!r} is not a number") from None
        if not math.isfinite(t):
            raise src.error(i + 1, f"frame time {parts[1].strip()!r} is not a finite number")
    if times and t <= times[-1]:
        raise src.error(i + 1, f"frame time {t} s not after {times[-1]} s")
    return t


class _Tokens(dict[str, float]):
    """Token -> value cache: exports repeat a few hundred distinct tokens millions of times."""

    def __missing__(self, key: str) -> float:
        value = math.nan if key.strip() == "B" else float(key)
        self[key] = value
        return value


_TOKENS = _Tokens()


def _grid(src: SourceText, lineno: int, block: list[str], cols: int) -> np.ndarray:
    for k, row in enumerate(block):
        if row.count(",") != cols - 1:
            raise src.error(lineno + k, f"expected {cols} values, got {row.count(',') + 1}")
    parts = ",".join(block).split(",")
    try:
        values = np.fromiter(map(_TOKENS.__getitem__, parts), np.float64, len(parts))
    except ValueError:
        for k, row in enumerate(block):
            src.floats(lineno + k, row.replace("B", "nan").split(","), "sensel value")
        raise
    return values.reshape(len(block), cols)


FORMAT = Format(
    name="tekscan",
    description="Tekscan ASCII movie export (F-Scan .asf, I-Scan .csv)",
    detect=_detect,
    read=read_tekscan,
)
