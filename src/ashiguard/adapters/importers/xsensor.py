"""XSENSOR CSV export (X4 foot / Pro): a file header, then a header block per frame.

Layout: ``Units:,mmHg`` in the file header; each frame starts ``FRAME,<n>`` with ``Date,`` and
``Time,`` (clock time of the frame); then one block per sensor: ``SENSOR,<name>``, ``Rows,``,
``Columns,``, ``Sensel Width (cm),``, ``Sensel Height (cm),``, summary statistics, and
``SENSELS`` followed by ``Rows`` lines of ``Columns`` values. ``GROUP`` blocks (region
statistics) follow and are skipped. Blank separator lines (only commas) are ignored.

A file may hold two sensors (left and right foot, names ending ``-LF``/``-RF``); one grid is
imported per file: ``side`` chooses it (default: the first sensor).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from ashiguard.adapters.importers._base import (
    Format,
    ImportedRecording,
    SourceText,
    check_grid_size,
    kpa_scale,
    to_float32,
)
from ashiguard.domain.errors import InputError

__all__ = ["FORMAT", "read_xsensor"]


def _detect(head: str) -> bool:
    return any(line.startswith("FRAME,") for line in head.splitlines()) and (
        "Units:," in head or "SENSOR," in head
    )


def _fields(line: str) -> list[str]:
    parts = line.split(",")
    while parts and not parts[-1].strip():
        parts.pop()
    return parts


def _sensor_side(name: str) -> str | None:
    n = name.split()[0].upper() if name.split() else ""
    if n.endswith(("-LF", "-L")):
        return "left"
    if n.endswith(("-RF", "-R")):
        return "right"
    return None


class _Parser:
    def __init__(self, src: SourceText, side: str | None) -> None:
        self.src = src
        self.want_side = side
        self.header: dict[str, str] = {}
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []
        self.sensor: dict[str, Any] | None = None
        self.sensors_seen: list[str] = []
        self.frame_sensors: list[set[str]] = []  # per FRAME, sensors whose grid was complete
        self.frame_lines: list[int] = []

    def run(self) -> None:
        lines = self.src.lines
        i = 0
        frame_clock: float | None = None
        cur: dict[str, str] = {}
        cur_line: dict[str, int] = {}
        while i < len(lines):
            f = _fields(lines[i])
            i += 1
            if not f:
                continue
            key = f[0].strip()
            value = f[1].strip() if len(f) > 1 else ""
            if key == "FRAME":
                if self.frames and len(self.times) != len(self.frames):
                    raise self.src.error(i, f"frame before line {i} had no sensor data")
                frame_clock, cur = None, {}
                self.frame_sensors.append(set())
                self.frame_lines.append(i)
            elif key == "Time" and frame_clock is None and self.frames is not None:
                frame_clock = self._clock(i, value)
            elif key == "SENSOR":
                cur, cur_line = {"SENSOR": value}, {"SENSOR": i}
                if value not in self.sensors_seen:
                    self.sensors_seen.append(value)
            elif key == "SENSELS":
                i = self._sensels(i, cur, cur_line, frame_clock)
            elif key == "GROUP":
                cur = {}
            elif not self.frames and frame_clock is None and not cur:
                self.header[key.rstrip(":")] = value
            else:
                cur[key] = value
                cur_line[key] = i

    def check_complete(self) -> None:
        """Every FRAME holds the same sensors; a short last frame means a truncated file."""
        if not self.frame_sensors:
            return
        full = set(self.sensors_seen)
        for k, got in enumerate(self.frame_sensors):
            if got != full:
                lost = ", ".join(sorted(full - got))
                raise self.src.error(
                    self.frame_lines[k], f"FRAME has no grid for sensor {lost} (truncated?)"
                )

    def _clock(self, lineno: int, value: str) -> float:
        try:
            t = datetime.strptime(value.strip(), "%H:%M:%S.%f")
        except ValueError:
            raise self.src.error(lineno, f"Time {value!r} is not HH:MM:SS.fff") from None
        return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6

    def _chosen(self, name: str) -> bool:
        if self.want_side is None:
            return name == self.sensors_seen[0]
        return _sensor_side(name) == self.want_side

    def _sensels(
        self, i: int, cur: dict[str, str], cur_line: dict[str, int], clock: float | None
    ) -> int:
        if "SENSOR" not in cur:  # a GROUP's cell list
            return i
        name = cur["SENSOR"]
        rows = self._int(cur, cur_line, "Rows", i)
        cols = self._int(cur, cur_line, "Columns", i)
        check_grid_size(f"{self.src.name}: line {cur_line['Rows']}", rows, cols)
        block: list[np.ndarray] = []
        lines = self.src.lines
        while len(block) < rows:
            if i >= len(lines):
                raise self.src.error(i, f"sensor {name}: {len(block)} of {rows} rows (truncated?)")
            f = _fields(lines[i])
            i += 1
            if not f:
                continue
            if len(f) != cols:
                raise self.src.error(i, f"expected {cols} values, got {len(f)}")
            block.append(self.src.floats(i, f, "sensel value"))
        if self.frame_sensors:
            self.frame_sensors[-1].add(name)
        if self._chosen(name):
            if clock is None:
                raise self.src.error(i, "frame has no Time line")
            self._add(i, name, cur, cur_line, np.stack(block), clock)
        return i

    def _int(self, cur: dict[str, str], cur_line: dict[str, int], key: str, i: int) -> int:
        if key not in cur:
            raise self.src.error(i, f"sensor block has no {key} line")
        try:
            v = int(cur[key])
        except ValueError:
            raise self.src.error(cur_line[key], f"{key} {cur[key]!r} is not an integer") from None
        if v < 1:
            raise self.src.error(cur_line[key], f"{key} must be >= 1")
        return v

    def _add(
        self,
        i: int,
        name: str,
        cur: dict[str, str],
        cur_line: dict[str, int],
        grid: np.ndarray,
        clock: float,
    ) -> None:
        if self.sensor is None:
            self.sensor = {"name": name, "shape": grid.shape}
            for key in ("Sensel Width (cm)", "Sensel Height (cm)"):
                if key not in cur:
                    raise self.src.error(i, f"sensor block has no {key!r} line")
                try:
                    v = float(cur[key]) * 10.0
                except ValueError:
                    v = -1.0
                if not v > 0:
                    raise self.src.error(cur_line[key], f"{key} must be a number > 0")
                self.sensor[key] = v
        elif grid.shape != self.sensor["shape"]:
            raise self.src.error(i, f"sensor grid {grid.shape} differs from {self.sensor['shape']}")
        if self.times:
            t0 = self.times[0]
            t = clock - t0
            while t <= self.times[-1] - t0 - 43200:  # clock passed midnight
                t += 86400
            if t <= self.times[-1] - t0:
                raise self.src.error(i, f"frame time {t:.3f} s not after the previous frame")
            clock = t + t0
        self.times.append(clock)
        self.frames.append(grid)


def read_xsensor(src: SourceText, side: str | None = None) -> ImportedRecording:
    """Read an XSENSOR CSV export (one sensor of it, see module docstring)."""
    if not src.lines:
        raise src.error(None, "file is empty")
    p = _Parser(src, side)
    p.run()
    p.check_complete()
    if "Units" not in p.header:
        raise src.error(None, "no 'Units:' line in the file header")
    unit_line = next(k + 1 for k, line in enumerate(src.lines) if line.startswith("Units:"))
    scale = kpa_scale(p.header["Units"], f"{src.name}: line {unit_line}")
    if not p.frames or p.sensor is None:
        want = f" for side {side}" if side else ""
        raise src.error(len(src.lines), f"no sensor frames found{want}")
    if len(p.times) != len(p.frames):  # pragma: no cover - kept in step by _add
        raise InputError(f"{src.name}: frames and times out of step")
    pressure = to_float32(np.stack(p.frames), scale, lambda ix: f"{src.name}: frame {ix[0] + 1}")
    t = np.asarray(p.times, dtype=np.float64)
    width, height = p.sensor["Sensel Width (cm)"], p.sensor["Sensel Height (cm)"]
    sensor_side = _sensor_side(p.sensor["name"])
    header: dict[str, Any] = dict(p.header)
    header.update(sensor=p.sensor["name"], sensors=p.sensors_seen, first_frame_clock_s=t[0])
    return ImportedRecording(
        source_format="xsensor",
        source_path=src.path,
        pressure=pressure,
        time=np.round(t - t[0], 3),
        pitch_mm=width,
        row_pitch_mm=height if abs(height - width) > 1e-9 else None,
        placement="foot" if sensor_side else "other",
        side=sensor_side,
        units="kPa" if scale is not None else "raw",
        source_units=p.header["Units"],
        scale_to_kpa=scale,
        header=header,
        started_at=_started(header.get("Date", ""), float(t[0])),
    )


def _started(date: str, clock_s: float) -> str | None:
    try:
        day = datetime.strptime(date.strip(), "%Y %b %d")
    except ValueError:
        return None
    return (day + timedelta(seconds=clock_s)).isoformat(timespec="milliseconds")


FORMAT = Format(
    name="xsensor",
    description="XSENSOR CSV export (per-frame header blocks, one grid per sensor)",
    detect=_detect,
    read=read_xsensor,
)
