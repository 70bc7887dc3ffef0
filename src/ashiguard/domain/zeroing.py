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
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ashiguard.domain.errors import InputError

__all__ = [
    "CALIBRATION_SCHEMA",
    "TARE_CONTACT_KPA",
    "TARE_MAX_CHANGE",
    "TARE_MAX_LOAD_N",
    "TARE_MAX_OFFSET_KPA",
    "Calibration",
    "LiveTare",
    "LiveZeroing",
    "Tare",
    "TareEvent",
    "apply_tare",
    "parse_calibration",
    "parse_tare_window",
    "tare_from_frames",
]

CALIBRATION_SCHEMA = "ashiguard.calibration/1"

F32 = npt.NDArray[np.float32]

TARE_MAX_OFFSET_KPA = 20.0
"""Most a sensel may read on average in a tare window, kPa: more is load, not an offset."""

TARE_MAX_LOAD_N = 50.0
"""Most force the sensels at or above :data:`TARE_CONTACT_KPA` may carry in a live tare, N
(about 5 kg): more is a body or a foot resting on the sheet. A client lying on an
under-client mat reads hundreds of newtons with no sensel above 20 kPa, so the per-sensel
rule alone would let it be zeroed away; an offset spread thinly over the whole sheet (drift)
stays below the contact level and is not counted."""

TARE_CONTACT_KPA = 2.0
"""A sensel at or above this reads contact (as the live view's contact level), kPa."""

TARE_MAX_CHANGE = 10.0
"""Most a sensel may change within a live tare window (kPa, or counts): a foot that comes down
slowly changes more than that within a second or two; noise does not."""


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
    hint: str = "",
) -> Tare:
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN sensels (no sensel there)
        span = np.nanmax(w, axis=0) - np.nanmin(w, axis=0)
        offsets = np.nanmean(w, axis=0)
    if np.nanmax(span, initial=0.0) > max_change:
        r, c = np.unravel_index(int(np.nanargmax(span)), span.shape)
        raise InputError(
            f"{what}: sensel [{r}, {c}] changes by {float(span[r, c]):.4g} in the window "
            f"(more than {max_change:g}): the sensor is loaded there, "
            + (hint or "pick an unloaded window")
        )
    if max_offset is not None and np.nanmax(offsets, initial=0.0) > max_offset:
        r, c = np.unravel_index(int(np.nanargmax(offsets)), offsets.shape)
        raise InputError(
            f"{what}: sensel [{r}, {c}] reads {float(offsets[r, c]):.4g} kPa in the window "
            f"(more than {max_offset:g} kPa is load, not an offset): "
            + (hint or "pick a window with nothing on the sensor")
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
        self,
        duration_s: float,
        *,
        max_change: float = 20.0,
        max_offset: float | None = 20.0,
        what: str = "--tare-first",
        hint: str = "",
    ) -> None:
        if not (math.isfinite(duration_s) and duration_s > 0):
            raise InputError(f"{what}: must be a positive number of seconds, got {duration_s}")
        self.what = what
        self.hint = hint
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
            raise InputError(f"{self.what}: no frame in the window")
        return self.tare()

    @property
    def start_t(self) -> float | None:
        """Time of the window's first frame, s (None before it)."""
        return self._t0

    @property
    def frames(self) -> int:
        """Frames taken so far."""
        return len(self._frames)

    def tare(self) -> Tare:
        """The tare of the frames taken so far (a stream that ended early: all it gave)."""
        if not self._frames:
            raise InputError(f"{self.what}: no frame in the window")
        w = np.stack(self._frames).astype(np.float64)
        window = (self._times[0], self._times[-1])
        return _tare(w, window, self.max_change, self.max_offset, self.what, self.hint)


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


@dataclass(frozen=True)
class TareEvent:
    """One zeroing of a live stream, done (``zeroed``) or ``refused`` (``reason``).

    ``t_request`` is the stream time it was asked for (s); ``window_s`` the first and last
    frame time of the window it measured (None when refused before it began); ``offset_max``,
    ``offset_mean`` (``units``) and ``offset_load_n`` (N, kPa only) describe the offsets it
    found; ``who`` asked for it (``start`` for the first seconds of the stream).
    """

    status: Literal["zeroed", "refused"]
    t_request: float
    who: str
    window_s: tuple[float, float] | None = None
    frames: int = 0
    reason: str = ""
    offset_max: float | None = None
    offset_mean: float | None = None
    offset_load_n: float | None = None
    units: str = "kPa"

    def to_json(self) -> dict[str, Any]:
        """The event as the recording's ``tare_events`` and the live view keep it."""
        return {
            "status": self.status,
            "t_request": round(self.t_request, 3),
            "who": self.who,
            "window_s": None if self.window_s is None else [round(x, 4) for x in self.window_s],
            "frames": self.frames,
            "reason": self.reason,
            "offset_max": self.offset_max,
            "offset_mean": self.offset_mean,
            "offset_load_n": self.offset_load_n,
            "units": self.units,
        }


@dataclass
class _Window:
    tare: LiveTare
    t_request: float
    who: str
    hold: bool  # the first window: its frames wait for the tare


class LiveZeroing:
    """Calibration and zeroing of a live stream: at its start and again on request.

    Every frame goes through :meth:`take`: counts -> kPa with the calibration (when given),
    then minus the offsets of the latest tare (clipped at 0). With ``first_s`` the first
    ``first_s`` seconds are the tare window: their frames are held back and handed on once the
    window is judged (tared, or as they came when it is refused). :meth:`request` ("zero now")
    measures a new tare on the next ``duration_s`` seconds while the frames go on with the old
    offsets; it is refused at once when the sheet is loaded now.

    Parameters
    ----------
    rows, cols : int
        The grid.
    units : str
        The source's units (``kPa`` or ``raw``); ``raw`` with a calibration gives kPa.
    sensel_area_m2 : float or None, m^2
        One sensel's area, for the force the offsets add up to (None: not checked).
    calibration : Calibration or None
        Counts -> kPa (raw sources only).
    first_s : float or None, s
        Zero on the first seconds of the stream.
    what : str
        How refusals name the step (``--tare-first`` on the command line, ``zeroing``).

    Notes
    -----
    Safety: a tare subtracts whatever the sheet carried in its window from every later frame,
    so a load zeroed away would be hidden from the alarm engine. A window is therefore refused
    when a sensel changed by more than ``max_change`` (:data:`TARE_MAX_CHANGE`) in it, read
    more than :data:`TARE_MAX_OFFSET_KPA` on average, or the sensels at contact level carry
    more than :data:`TARE_MAX_LOAD_N` between them; a request is refused at once when the
    latest frame shows load by the last two rules. Raw counts without a calibration have no
    scale: only the change is checked. A refused zeroing changes nothing (the previous
    offsets, or none, stay).
    """

    def __init__(
        self,
        rows: int,
        cols: int,
        *,
        units: str = "kPa",
        sensel_area_m2: float | None = None,
        calibration: Calibration | None = None,
        first_s: float | None = None,
        what: str = "zeroing",
        max_change: float = TARE_MAX_CHANGE,
        max_offset_kpa: float = TARE_MAX_OFFSET_KPA,
        max_load_n: float = TARE_MAX_LOAD_N,
    ) -> None:
        if calibration is not None and calibration.kpa_per_count.shape != (rows, cols):
            raise InputError(
                f"calibration: made for a {calibration.kpa_per_count.shape[0]} x "
                f"{calibration.kpa_per_count.shape[1]} grid, the sensor is {rows} x {cols}"
            )
        if calibration is not None and units != "raw":
            raise InputError(
                f"calibration: the sensor already gives {units}; a calibration turns raw "
                "counts into kPa"
            )
        self.rows, self.cols = int(rows), int(cols)
        self.calibration = calibration
        self.units = "kPa" if calibration is not None else units
        self.in_kpa = self.units == "kPa"
        self.sensel_area_m2 = sensel_area_m2
        self.what = what
        self.max_change = float(max_change)
        self.max_offset_kpa = float(max_offset_kpa)
        self.max_load_n = float(max_load_n)
        self.first_s = first_s
        self.offsets: F32 | None = None
        self.latest: TareEvent | None = None  # the tare in use
        self.events: list[TareEvent] = []
        self._window: _Window | None = None
        self._held: list[tuple[float, F32]] = []
        self._last: F32 | None = None
        self._last_t: float | None = None
        if first_s is not None:
            self._window = _Window(self._live_tare(first_s), 0.0, "start", hold=True)

    # ------------------------------------------------------------------ state
    @property
    def zeroing(self) -> bool:
        """A tare window is being measured."""
        return self._window is not None

    @property
    def holding(self) -> bool:
        """The first window's frames are being held back."""
        return self._window is not None and self._window.hold

    def state(self) -> dict[str, Any]:
        """What a viewer shows: ``state`` (``zeroing``, ``zeroed``, ``not_zeroed``), the
        window's end (``until_t``, stream s), the tare in use, the latest refusal when it came
        after it, the calibration."""
        w = self._window
        refused = self.events[-1] if self.events and self.events[-1].status == "refused" else None
        state = "zeroing" if w is not None else ("zeroed" if self.latest else "not_zeroed")
        until = None
        if w is not None:
            start = w.tare.start_t if w.tare.start_t is not None else w.t_request
            until = round(start + w.tare.duration_s, 3)
        return {
            "state": state,
            "until_t": until,
            "window_s": None if w is None else w.tare.duration_s,
            "zeroed": None if self.latest is None else self.latest.to_json(),
            "refused": None if refused is None else refused.to_json(),
            "units": self.units,
            "calibration": None if self.calibration is None else self.calibration.to_json(),
        }

    # ------------------------------------------------------------------ control
    def _live_tare(self, duration_s: float) -> LiveTare:
        return LiveTare(
            duration_s,
            max_change=self.max_change,
            max_offset=self.max_offset_kpa if self.in_kpa else None,
            what=self.what,
            hint="take all load off the sheet and zero again",
        )

    def loaded(self, pressure: F32 | None) -> str:
        """Why ``pressure`` (one corrected frame) shows load ("" when it does not, or when
        raw counts give no scale to judge by)."""
        if pressure is None or not self.in_kpa:
            return ""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            peak = float(np.nanmax(pressure)) if np.isfinite(pressure).any() else 0.0
        if peak > self.max_offset_kpa:
            return f"the sheet is loaded now (a sensel reads {peak:.0f} kPa)"
        force = self._force_n(pressure)
        if force is not None and force > self.max_load_n:
            return f"the sheet is loaded now (it carries {force:.0f} N)"
        return ""

    def _force_n(self, pressure: F32) -> float | None:
        """Force of the sensels at or above the contact level, N (None: no scale)."""
        if self.sensel_area_m2 is None or not self.in_kpa:
            return None
        p = np.asarray(pressure, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            touching = p >= TARE_CONTACT_KPA
        return float(p[touching].sum()) * 1000.0 * self.sensel_area_m2

    def note(self, t: float, pressure: F32) -> None:
        """The latest frame as the engine got it, when it did not come through :meth:`take`
        (a session that starts zeroing only now): what "zero now" judges the load by."""
        self._last, self._last_t = pressure, t

    def request(self, duration_s: float, who: str) -> TareEvent | None:
        """Zero again on the next ``duration_s`` seconds ("zero now"); returns the refusal
        (also kept in :attr:`events`) when it cannot start, None when it has started."""
        t = self._last_t if self._last_t is not None else 0.0
        reason = ""
        if self._window is not None:
            reason = "a zeroing is already running: wait for its result"
        else:
            loaded = self.loaded(self._last)
            if loaded:
                reason = (
                    f"{loaded}: zeroing now would hide that pressure from the alarms; take "
                    "every load off the sheet, then zero again"
                )
        if reason:
            ev = TareEvent("refused", t, who, reason=reason, units=self.units)
            self.events.append(ev)
            return ev
        self._window = _Window(self._live_tare(duration_s), t, who, hold=False)
        return None

    # ------------------------------------------------------------------ frames
    def correct(self, pressure: F32) -> F32:
        """One frame as the engine gets it: calibrated, minus the offsets in use."""
        p = pressure
        if self.calibration is not None:
            p = self.calibration.apply(p)
        if self.offsets is not None:
            p = apply_tare(p, self.offsets)
        return p

    def take(self, t: float, pressure: F32) -> tuple[list[tuple[float, F32]], TareEvent | None]:
        """One frame in; the frames to hand on (none while the first window holds them; all
        it held once it is judged) and the tare event that ended with this frame, if any."""
        w = self._window
        done: TareEvent | None = None
        if w is not None:
            cal = self.calibration.apply(pressure) if self.calibration is not None else pressure
            try:
                tare = w.tare.add(t, cal)
            except InputError as exc:
                done = self._refused(w, str(exc))
            else:
                if tare is not None:
                    done = self._judge(w, tare)
                elif w.hold:
                    self._held.append((t, pressure))
                    self._last_t = t
                    return [], None
        out: list[tuple[float, F32]] = []
        if done is not None and w is not None and w.hold:
            out = [(ht, self.correct(hp)) for ht, hp in self._held]
            self._held = []
        p = self.correct(pressure)
        out.append((t, p))
        self._last, self._last_t = p, t
        return out, done

    def release(self) -> list[tuple[float, F32]]:
        """The stream ended inside the first window: its frames as they came (not zeroed),
        and a refusal in :attr:`events`."""
        w = self._window
        if w is None or not w.hold:
            return []
        self._refused(w, f"{self.what}: the stream ended before {w.tare.duration_s:g} s")
        out = [(ht, self.correct(hp)) for ht, hp in self._held]
        self._held = []
        return out

    def _refused(self, w: _Window, reason: str) -> TareEvent:
        self._window = None
        ev = TareEvent(
            "refused", w.t_request, w.who, frames=w.tare.frames, reason=reason, units=self.units
        )
        self.events.append(ev)
        return ev

    def _judge(self, w: _Window, tare: Tare) -> TareEvent:
        force = self._force_n(tare.offsets)
        if force is not None and force > self.max_load_n:
            return self._refused(
                w,
                f"{self.what}: the sheet carried {force:.0f} N in the window (more than "
                f"{self.max_load_n:g} N is load, not an offset): take all load off the sheet "
                "and zero again",
            )
        self._window = None
        off = tare.offsets
        ev = TareEvent(
            "zeroed",
            w.t_request,
            w.who,
            window_s=tare.window_s,
            frames=tare.frames,
            offset_max=round(float(off.max()), 3) if off.size else 0.0,
            offset_mean=round(float(off.mean()), 3) if off.size else 0.0,
            offset_load_n=None if force is None else round(force, 1),
            units=self.units,
        )
        self.offsets = off
        self.latest = ev
        self.events.append(ev)
        return ev
