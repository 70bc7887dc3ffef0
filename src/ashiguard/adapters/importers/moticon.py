"""Moticon OpenGo insole text export (Apache-2.0 sample files from moticon-opengo).

``# key: value`` header lines (``Start time: 27.09.2023 10:21:14.922``), a ``# time`` line
naming the tab-separated columns, then one line per sample (100 Hz): time (s), then per foot
16 pressures (N/cm2), acceleration (g), angular rate (dps), total force (N) and centre of
pressure in the insole's own normalised coordinates (-0.5..+0.5). A foot with no data in a
line has empty cells there; its samples are left out of that foot's series.
Pressures are converted to kPa (x 10); the IMU columns are not imported.
"""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np

from ashiguard.adapters.importers._base import (
    Format,
    ImportedRecording,
    InsoleSeries,
    SourceText,
    check_grid_size,
    kpa_scale,
    to_float32,
)

__all__ = ["FORMAT", "read_moticon"]

_PRESSURE = re.compile(r"(left|right) pressure ([0-9]{1,6})\[(.+)\]")


def _detect(head: str) -> bool:
    return head.lstrip("\ufeff").startswith("# ") and "left pressure 1[" in head


def read_moticon(src: SourceText, side: str | None = None) -> ImportedRecording:
    """Read a Moticon text export into ``/insoles`` (both feet)."""
    if side is not None:
        raise src.error(None, "--side does not apply to Moticon (both insoles are imported)")
    header: dict[str, str] = {}
    names: list[str] | None = None
    start = 0
    for i, line in enumerate(src.lines):
        if not line.startswith("#"):
            start = i
            break
        body = line[1:].strip()
        if body.startswith("time\t"):
            names = [c.strip() for c in body.split("\t")]
            start = i + 1
        else:
            key, _, value = body.partition(":")
            header[key.strip()] = value.strip()
    else:
        start = len(src.lines)
    if not src.lines:
        raise src.error(None, "file is empty")
    if names is None:
        raise src.error(start, "no '# time' column header line")
    cols = {n: k for k, n in enumerate(names)}
    scale = _scale(src, names, start)
    data = _rows(src, start, len(names))
    _check_duration(src, header.get("Duration", ""), data)
    feet = {s: _foot(src, s, data, cols, scale, start) for s in ("left", "right")}
    insoles = {s: v for s, v in feet.items() if v is not None}
    if not insoles:
        raise src.error(start + 1, "no samples for either foot")
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
        insoles=insoles,
        header=header,
        started_at=_started(header.get("Start time", "")),
        notes=("IMU columns not imported; centre of pressure kept normalised (cop_norm)",),
    )


def _check_duration(src: SourceText, text: str, data: np.ndarray) -> None:
    """A file cut short ends well before the header's ``Duration`` ([HH:]MM:SS.fff)."""
    parts = text.split(":")
    try:
        seconds = sum(float(x) * 60**k for k, x in enumerate(reversed(parts)))
    except ValueError:
        return
    last = float(data[-1, 0]) if data.size else 0.0
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


def _rows(src: SourceText, start: int, ncols: int) -> np.ndarray:
    samples = sum(1 for line in src.lines[start:] if line.strip())
    check_grid_size(f"{src.name}: line {start}", 1, ncols, samples)
    out = np.full((samples, ncols), np.nan)
    n = 0
    for i in range(start, len(src.lines)):
        line = src.lines[i]
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != ncols:
            raise src.error(i + 1, f"expected {ncols} tab-separated fields, got {len(parts)}")
        filled = [k for k, p in enumerate(parts) if p.strip()]
        out[n, filled] = src.floats(i + 1, [parts[k] for k in filled], "value")
        if n and not out[n, 0] > out[n - 1, 0]:
            raise src.error(i + 1, f"time {out[n, 0]} s not after {out[n - 1, 0]} s")
        n += 1
    return out[:n]


def _foot(
    src: SourceText,
    side: str,
    data: np.ndarray,
    cols: dict[str, int],
    scale: float,
    start: int,
) -> InsoleSeries | None:
    pcols = sorted(
        (int(m.group(2)), k)
        for n, k in cols.items()
        if (m := _PRESSURE.fullmatch(n)) and m.group(1) == side
    )
    force_col = cols.get(f"{side} total force[N]")
    cop = [c for n, c in cols.items() if n.startswith(f"{side} center of pressure")]
    if force_col is None or len(cop) != 2 or not pcols:
        raise src.error(start, f"{side} foot: total force / centre of pressure columns missing")
    have = np.isfinite(data[:, force_col])
    if not have.any():
        return None
    rows = data[have]
    lines = np.flatnonzero(have)

    def where(ix: tuple[int, ...]) -> str:
        return f"{src.name}: {side} foot, sample {int(lines[ix[0]]) + 1}"

    return InsoleSeries(
        side=side,
        time=rows[:, 0].copy(),
        force=to_float32(rows[:, force_col], None, where),
        pressure=to_float32(rows[:, [k for _, k in pcols]], scale, where),
        cop_norm=to_float32(rows[:, cop], None, where),
        sensor_ids=tuple(n for n, _ in pcols),
    )


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
