"""Zeroing (tare) and calibration of pressure grids (issue 14).

Tare: each sensel's offset is its mean over a window of frames in which nothing loads the
sensor; the offset is subtracted from every frame. Offline the window is given in seconds
(``ashiguard import --tare-window START:END``); live it is the first N seconds of the stream
(:class:`LiveTare`). A window in which any sensel changes by more than ``max_change``, or
(in kPa) reads more than ``max_offset`` on average, is refused: something was loading the
sensor (a foot standing still changes little but reads far more than any offset).

Calibration (``ashiguard.calibration/1``): raw counts -> kPa, ``kPa = kpa_per_count x counts``
(after the tare), one global factor or one per sensel. Two file forms:

- JSON ``{"schema": "ashiguard.calibration/1", "kpa_per_count": 0.05}`` or
  ``"kpa_per_count": [[...], ...]`` (rows x cols), optional ``"source"`` (text: who calibrated,
  how, when).
- CSV with the header ``row,col,kpa_per_count``: one line per sensel (0-based row and column),
  ``*,*,0.05`` sets every sensel not listed; a sensel with no factor is refused.

Notes
-----
After the tare a sensel's noise around zero would read slightly negative; values are clipped
at 0 (a pressure sensor cannot read less than no load), and the alarm engine would otherwise
take negative values for a sensor fault. NaN (not reporting) stays NaN.
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ashiguard.domain.errors import InputError

__all__ = [
    "CALIBRATION_SCHEMA",
    "Calibration",
    "LiveTare",
    "Tare",
    "apply_tare",
    "parse_calibration",
    "parse_tare_window",
    "tare_from_frames",
]

CALIBRATION_SCHEMA = "ashiguard.calibration/1"

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Tare:
    """Offsets ``[rows, cols]`` (source units) measured over ``window_s`` = (start, end) s."""

    offsets: F32
    window_s: tuple[float, float]
    frames: int


def parse_tare_window(text: str) -> tuple[float, float]:
    """``'0.5:2'`` -> (0.5, 2.0) s; InputError naming ``--tare-window`` otherwise."""
    start, sep, end = text.partition(":")
    try:
        a, b = float(start), float(end)
    except ValueError:
        a = b = math.nan
    if not sep or not (math.isfinite(a) and math.isfinite(b)) or not 0 <= a < b:
        raise InputError(f"--tare-window: {text!r} is not START:END in seconds (0 <= START < END)")
    return a, b


def tare_from_frames(
    times: npt.NDArray[np.float64],
    pressure: F32,
    window_s: tuple[float, float],
    *,
    max_change: float = 20.0,
    max_offset: float | None = 20.0,
) -> Tare:
    """Per-sensel mean of the frames with ``start <= t <= end``.

    Parameters
    ----------
    times : [N] s; pressure : [N, rows, cols] in the source's units (NaN = no sensel).
    max_change : float, source units
        Largest change a sensel may show in the window (max - min) for it to count as unloaded.
    max_offset : float or None, kPa
        Largest mean a sensel may read in the window: more is load, not offset (a foot
        standing still on the sensor changes little but reads far more). None for raw counts,
        whose offsets have no known scale.

    Raises
    ------
    InputError
        No frame in the window, or a sensel that changes by more than ``max_change`` or reads
        more than ``max_offset`` there.
    """
    t = np.asarray(times, dtype=np.float64)
    sel = (t >= window_s[0]) & (t <= window_s[1])
    if not sel.any():
        raise InputError(
            f"--tare-window: no frame between {window_s[0]:g} and {window_s[1]:g} s "
            f"(frames from {t[0]:g} to {t[-1]:g} s)"
            if t.size
            else "--tare-window: the recording has no frames"
        )
    w = np.asarray(pressure, dtype=np.float64)[sel]
    window = (float(t[sel][0]), float(t[sel][-1]))
    return _tare(w, window, max_change, max_offset, "--tare-window")


def _tare(
    w: npt.NDArray[np.float64],
    window: tuple[float, float],
    max_change: float,
    max_offset: float | None,
    what: str,
) -> Tare:
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN sensels (no sensel there)
        span = np.nanmax(w, axis=0) - np.nanmin(w, axis=0)
        offsets = np.nanmean(w, axis=0)
    if np.nanmax(span, initial=0.0) > max_change:
        r, c = np.unravel_index(int(np.nanargmax(span)), span.shape)
        raise InputError(
            f"{what}: sensel [{r}, {c}] changes by {float(span[r, c]):.4g} in the window "
            f"(more than {max_change:g}): the sensor is loaded there, pick an unloaded window"
        )
    if max_offset is not None and np.nanmax(offsets, initial=0.0) > max_offset:
        r, c = np.unravel_index(int(np.nanargmax(offsets)), offsets.shape)
        raise InputError(
            f"{what}: sensel [{r}, {c}] reads {float(offsets[r, c]):.4g} kPa in the window "
            f"(more than {max_offset:g} kPa is load, not an offset): pick a window with "
            "nothing on the sensor"
        )
    return Tare(np.nan_to_num(offsets, nan=0.0).astype(np.float32), window, int(w.shape[0]))


def apply_tare(pressure: F32, offsets: F32) -> F32:
    """``pressure - offsets`` clipped at 0 (NaN kept); a new array."""
    out = np.asarray(pressure, dtype=np.float32) - offsets
    np.maximum(out, 0.0, out=out, where=~np.isnan(out))
    return out


class LiveTare:
    """Zeroing from the first ``duration_s`` seconds of a live stream (no load on the sensor).

    Feed frames with :meth:`add` until it returns a :class:`Tare`; then subtract it from every
    later frame with :func:`apply_tare`.
    """

    def __init__(
        self, duration_s: float, *, max_change: float = 20.0, max_offset: float | None = 20.0
    ) -> None:
        if not (math.isfinite(duration_s) and duration_s > 0):
            raise InputError(
                f"--tare-first: must be a positive number of seconds, got {duration_s}"
            )
        self.duration_s = float(duration_s)
        self.max_change = float(max_change)
        self.max_offset = max_offset
        self._t0: float | None = None
        self._frames: list[F32] = []
        self._times: list[float] = []

    def add(self, t: float, pressure: F32) -> Tare | None:
        """Add one frame; the tare once ``duration_s`` has passed since the first frame."""
        if self._t0 is None:
            self._t0 = t
        if t - self._t0 < self.duration_s:
            self._frames.append(np.array(pressure, dtype=np.float32))
            self._times.append(t)
            return None
        if not self._frames:  # pragma: no cover - the first frame always enters the window
            raise InputError("--tare-first: no frame in the window")
        w = np.stack(self._frames).astype(np.float64)
        window = (self._times[0], self._times[-1])
        return _tare(w, window, self.max_change, self.max_offset, "--tare-first")


@dataclass(frozen=True)
class Calibration:
    """Counts -> kPa: ``kpa_per_count`` [rows, cols] (a global factor is spread over the grid);
    ``is_global`` when one factor was given; ``source`` the file's description."""

    kpa_per_count: F32
    is_global: bool
    source: str

    def apply(self, counts: F32) -> F32:
        """kPa from (tared) counts."""
        out: F32 = (np.asarray(counts, dtype=np.float32) * self.kpa_per_count).astype(np.float32)
        return out

    def to_json(self) -> dict[str, Any]:
        """What the recording keeps: schema, global factor (or ``per-sensel``), source."""
        factor: Any = float(self.kpa_per_count.flat[0]) if self.is_global else "per-sensel"
        return {"schema": CALIBRATION_SCHEMA, "kpa_per_count": factor, "source": self.source}


def _factor(value: Any, where: str) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {value!r} is not a number") from None
    if not (math.isfinite(f) and f > 0):
        raise InputError(f"{where}: kpa_per_count must be a number > 0, got {value!r}")
    return f


def parse_calibration(text: str, name: str, rows: int, cols: int) -> Calibration:
    """Read a calibration file's text (JSON or CSV, see module) for a ``rows x cols`` grid.

    Raises
    ------
    InputError
        ``NAME: ...`` naming the field or line that is wrong.
    """
    body = text.lstrip("\ufeff").strip()
    if body.startswith("{"):
        return _parse_json(body, name, rows, cols)
    return _parse_csv(body, name, rows, cols)


def _parse_json(body: str, name: str, rows: int, cols: int) -> Calibration:
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: line {exc.lineno}: not JSON ({exc.msg})") from None
    if not isinstance(doc, dict) or doc.get("schema") != CALIBRATION_SCHEMA:
        raise InputError(f"{name}: schema: must be {CALIBRATION_SCHEMA!r}")
    unknown = set(doc) - {"schema", "kpa_per_count", "source"}
    if unknown:
        raise InputError(f"{name}: {sorted(unknown)[0]}: unknown field")
    if "kpa_per_count" not in doc:
        raise InputError(f"{name}: kpa_per_count: missing")
    source = str(doc.get("source", ""))
    value = doc["kpa_per_count"]
    if not isinstance(value, list):
        f = _factor(value, f"{name}: kpa_per_count")
        return Calibration(np.full((rows, cols), f, dtype=np.float32), True, source)
    if len(value) != rows or not all(isinstance(r, list) and len(r) == cols for r in value):
        raise InputError(f"{name}: kpa_per_count: must be {rows} rows of {cols} numbers")
    grid = np.array(
        [
            [_factor(v, f"{name}: kpa_per_count[{i}][{j}]") for j, v in enumerate(r)]
            for i, r in enumerate(value)
        ],
        dtype=np.float32,
    )
    return Calibration(grid, False, source)


def _parse_csv(body: str, name: str, rows: int, cols: int) -> Calibration:
    lines = list(csv.reader(io.StringIO(body)))
    if not lines or [c.strip().lower() for c in lines[0]] != ["row", "col", "kpa_per_count"]:
        raise InputError(f"{name}: line 1: header must be row,col,kpa_per_count (or JSON)")
    grid = np.full((rows, cols), np.nan, dtype=np.float32)
    default: float | None = None
    for n, cells in enumerate(lines[1:], start=2):
        if not cells or not "".join(cells).strip():
            continue
        if len(cells) != 3:
            raise InputError(f"{name}: line {n}: expected row,col,kpa_per_count")
        r, c, v = (x.strip() for x in cells)
        f = _factor(v, f"{name}: line {n}")
        if r == c == "*":
            default = f
            continue
        try:
            i, j = int(r), int(c)
        except ValueError:
            raise InputError(f"{name}: line {n}: row and col must be integers or *") from None
        if not (0 <= i < rows and 0 <= j < cols):
            raise InputError(
                f"{name}: line {n}: sensel [{i}, {j}] is outside the {rows} x {cols} grid"
            )
        grid[i, j] = f
    listed = int(np.isfinite(grid).sum())
    if default is not None:
        grid[np.isnan(grid)] = default
    if np.isnan(grid).any():
        i, j = (int(x) for x in np.argwhere(np.isnan(grid))[0])
        raise InputError(f"{name}: sensel [{i}, {j}] has no factor (add it or a *,* line)")
    return Calibration(grid, listed == 0, f"{name} (CSV)")
