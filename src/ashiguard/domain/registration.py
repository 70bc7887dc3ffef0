"""Registration: where is the prone client on a mat under the body (placement ``under_client``)?

From pressure frames of a mat between the prone client and the table, find the body's midline
column, which end of the mat the head is at, the row of C7 and the scale, and place the zone
map (contract section 1) on the mat as a :class:`~ashiguard.domain.zones.Grid`.

Method (see docs/registration.md):

1. Mean frame over time; NaN sensels count as 0. A baseline (the 20th percentile of the map,
   which is 0 on a pressure mat and the idle count on a raw mat) is subtracted.
2. Body mask: the mean frame smoothed over 3 x 3 sensels, above a threshold of 10 % of its
   98th percentile (and above 4 times the noise of the lowest half); the largest 8-connected
   component plus every component holding at least 5 % of the load (legs may part from the
   trunk). No component, too few sensels or too little load: :class:`RegistrationError`.
3. Body axis along the rows (the mat's long side); body extent = first and last row whose
   load exceeds 2 % of the heaviest row.
4. Head end: the trunk carries most of the weight, so the end third of the body holding the
   chest is heavier than the third holding the shins and feet, and the legs part at the
   midline while the chest does not. A score from both picks ``first_row`` or ``last_row``.
5. Midline: centre of pressure (load-weighted mean column) of the upper trunk rows (C7 to
   L5/S1), so a bent leg drawn up beside the body does not pull it.
6. C7: the top of the shoulder band, i.e. the first row from the head end (past the head and
   neck) where the width of the body mask within a shoulder's reach of the midline reaches
   60 % of the widest trunk row, interpolated to a fraction of a row. Arms overhead (load
   beyond the head end parted from the trunk by an empty band of more than 0.06 H): the
   raised shoulders do not press, so C7 is put 0.04 H above the top of the chest contact
   (the central strip's load, walking up from its peak to 10 % of it).
7. Scale: the mat pitch when given, else estimated: C7 to the kneecaps (the heaviest row of
   each leg between 0.45 H and 0.70 H below C7, standing out from the leg) is the contract's
   popliteal distance 0.565 H; without clear knees, C7 to the toes is taken as 0.91 H.

Landmarks then come from the height (contract defaults), measured from C7 along the body.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ashiguard.domain.errors import InputError
from ashiguard.domain.zones import DEFAULT_FRACTIONS, Grid, Landmarks, ZoneMap

__all__ = [
    "C7_TO_TOE_FRACTION",
    "LANDMARK_NAMES",
    "MIN_BODY_ROWS",
    "MIN_COLS",
    "PRONE_LENGTH_FRACTION",
    "HeadEnd",
    "Registration",
    "RegistrationError",
    "register",
]

HeadEnd = Literal["first_row", "last_row"]

LANDMARK_NAMES: tuple[str, ...] = (
    "occiput",
    "t12",
    "l5s1",
    "coccyx",
    "gluteal_fold",
    "popliteal",
    "ankle",
)
"""Landmarks along the body (y from C7) reported as rows, besides ``c7`` itself."""

F64 = npt.NDArray[np.float64]

MIN_BODY_ROWS = 24
"""Fewest mat rows the body must span: C7 to gluteal fold is then about 9 rows."""
MIN_COLS = 8
"""Fewest mat columns: the midline must be found within a fraction of the trunk width."""
PRONE_LENGTH_FRACTION = 1.0
"""Vertex-to-toe length of a prone body (feet plantar-flexed) as a fraction of height."""
C7_TO_TOE_FRACTION = 0.91
"""C7 to the tips of the plantar-flexed toes, fraction of height: ankle 0.81 H (contract
section 1) plus about 0.10 H of foot beyond the ankle."""
_SHOULDER_WIDTH_FRACTION = 0.6
_STERNUM_HALF_WIDTH = 0.05
"""Half width of the central chest strip, fraction of height."""
_NECK_GAP = 0.06
"""Empty band between the trunk and load beyond the head end that marks arms overhead, H."""
_C7_TO_CHEST_CONTACT = 0.04
"""C7 to the top of the chest contact when the arms are overhead (manubrium, T2-T3), H."""


class RegistrationError(InputError):
    """No body could be registered on the mat (the message says why, with the value seen)."""


@dataclass(frozen=True)
class Registration:
    """Where the prone body lies on the mat.

    Attributes
    ----------
    rows, cols : int
        Mat shape.
    head_end : {"first_row", "last_row"}
        Which end of the rows the head is at.
    midline_col : float
        Column of the body midline (0 = centre of the first column).
    c7_row : float
        Row of the spinous process of C7 (0 = centre of the first row).
    pitch_mm : float
        Sensel spacing used for the scale, mm.
    pitch_source : str
        ``given`` (from the file or the caller) or ``body_length`` (estimated).
    body_length_pitch_mm : float
        Pitch implied by the body's length on the mat and the height, mm (a cross-check).
    height_mm : float
        Standing height, mm.
    body_rows : tuple of float
        First and last row of the body (load above 2 % of the heaviest row).
    head_score : float
        Evidence for the head end: > 0 means the first row, < 0 the last row.
    quality : float
        0..1; how well the data supports the placement (see :func:`register`).
    reasons : tuple of str
        What lowered the quality, one sentence each.
    """

    rows: int
    cols: int
    head_end: HeadEnd
    midline_col: float
    c7_row: float
    pitch_mm: float
    pitch_source: str
    body_length_pitch_mm: float
    height_mm: float
    body_rows: tuple[float, float]
    head_score: float
    quality: float
    reasons: tuple[str, ...] = field(default=())

    @property
    def direction(self) -> float:
        """+1 when the rows grow toward the feet (head at the first row), else -1."""
        return 1.0 if self.head_end == "first_row" else -1.0

    def landmarks(self) -> Landmarks:
        """Landmarks from the height (contract defaults), y in mm from C7."""
        return Landmarks.from_height(self.height_mm)

    def zone_map(self) -> ZoneMap:
        """The client's zone map (body frame)."""
        return ZoneMap(self.landmarks())

    def grid(self) -> Grid:
        """The mat placed in the body frame: ``ZoneMap.rasterize(grid)`` puts zones on the mat.

        Notes
        -----
        Head at the first row: rotation 0, origin = body (x, y) of sensel [0, 0] =
        (-midline_col, -c7_row) x pitch. Head at the last row: the client lies turned by a half
        turn on the mat, so rows grow toward -y and columns toward -x (the client's right):
        rotation 180 deg, origin = (+midline_col, +c7_row) x pitch.
        """
        p = self.pitch_mm
        if self.head_end == "first_row":
            return Grid(self.rows, self.cols, p, (-self.midline_col * p, -self.c7_row * p), 0.0)
        return Grid(self.rows, self.cols, p, (self.midline_col * p, self.c7_row * p), 180.0)

    def landmarks_row(self) -> dict[str, float]:
        """Row (grid coordinates) of C7 and of every contract landmark."""
        lm = self.landmarks().to_dict()
        out = {"c7": self.c7_row}
        for name in LANDMARK_NAMES:
            out[name] = self.c7_row + self.direction * lm[name] / self.pitch_mm
        return out

    def to_json(self) -> dict[str, object]:
        """The ``register --json`` object (rows/columns in the grid's own coordinates)."""
        grid = self.grid()
        return {
            "head_end": self.head_end,
            "midline_col": round(self.midline_col, 3),
            "landmarks_row": {k: round(v, 3) for k, v in self.landmarks_row().items()},
            "pitch_mm": round(self.pitch_mm, 3),
            "pitch_source": self.pitch_source,
            "body_length_pitch_mm": round(self.body_length_pitch_mm, 3),
            "quality": round(self.quality, 3),
            "reasons": list(self.reasons),
            "height_mm": self.height_mm,
            "grid": {
                "rows": self.rows,
                "cols": self.cols,
                "origin_mm": [round(v, 2) for v in grid.origin_mm],
                "rotation_deg": grid.rotation_deg,
            },
        }


def _mean_frame(frames: npt.ArrayLike) -> F64:
    try:
        arr = np.asarray(frames, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("frames: must be numbers [N, rows, cols] or [rows, cols]") from None
    if np.isinf(arr).any():
        raise InputError("frames: infinite values (NaN marks a sensel that is not reporting)")
    if arr.ndim == 3:
        if arr.shape[0] == 0:
            raise InputError("frames: no frames")
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(arr)
            arr = np.where(finite, arr, 0.0).sum(axis=0) / np.maximum(finite.sum(axis=0), 1)
    elif arr.ndim != 2:
        raise InputError(f"frames: must be [N, rows, cols] or [rows, cols], got shape {arr.shape}")
    return np.where(np.isfinite(arr), arr, 0.0)


def _check_args(shape: tuple[int, ...], pitch_mm: float | None, height_mm: float) -> None:
    rows, cols = shape
    if isinstance(height_mm, bool) or not isinstance(height_mm, int | float):
        raise InputError(f"height_mm: must be a number of mm, got {height_mm!r}")
    if not 1000.0 <= float(height_mm) <= 2500.0:
        raise InputError(f"height_mm: {height_mm:g} mm is not a plausible adult height")
    if pitch_mm is not None and not (math.isfinite(pitch_mm) and pitch_mm > 0):
        raise InputError(f"pitch_mm: must be a positive number of mm, got {pitch_mm!r}")
    if rows < MIN_BODY_ROWS or cols < MIN_COLS:
        raise RegistrationError(
            f"frames: a {rows} x {cols} mat is too coarse to register a body (need at least "
            f"{MIN_BODY_ROWS} rows along the body and {MIN_COLS} columns)"
        )


def _body_mask(m: F64) -> tuple[npt.NDArray[np.bool_], F64, npt.NDArray[np.bool_]]:
    """Mask of the body, the baseline-free mean frame and every loaded sensel (any component)."""
    base = float(np.percentile(m, 20))
    p = np.clip(m - base, 0.0, None)
    smooth = ndimage.uniform_filter(p, size=3, mode="constant")
    low = np.sort(smooth, axis=None)[: smooth.size // 2]
    noise = float(np.std(low)) if low.size else 0.0
    top = float(np.percentile(smooth, 98))
    thr = max(0.10 * top, 4.0 * noise, 1e-9)
    mask = smooth > thr
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        raise RegistrationError("frames: no body found (no sensel above the noise)")
    idx = np.arange(1, n + 1)
    load = np.asarray(ndimage.sum(p, labels, idx), dtype=np.float64)
    size = np.asarray(ndimage.sum(mask, labels, idx), dtype=np.float64)
    keep = idx[(load >= 0.05 * load.sum()) | (size == size.max())]
    return np.isin(labels, keep), p, mask


def _refuse_if_empty(mask: npt.NDArray[np.bool_], p: F64) -> None:
    inside = float(p[mask].sum())
    outside = float(p[~mask].sum())
    area = int(mask.sum())
    if area < 0.08 * mask.size:
        raise RegistrationError(
            f"frames: no body found: the loaded area covers {area} of {mask.size} sensels "
            f"(a body covers at least {math.ceil(0.08 * mask.size)})"
        )
    contrast = inside / max(area, 1) / max(outside / max(mask.size - area, 1), 1e-9)
    if contrast < 8.0:
        raise RegistrationError(
            f"frames: no body found: load inside the outline is only {contrast:.1f} times the "
            "load outside it (a body gives at least 8)"
        )


def _extent(rowload: F64) -> tuple[float, float]:
    rows = np.nonzero(rowload > 0.02 * rowload.max())[0]
    return float(rows[0]), float(rows[-1])


def _head_score(p: F64, r0: float, r1: float) -> float:
    """> 0: head at the first row. Log load ratio of the end thirds plus a leg-split term."""
    span = r1 - r0 + 1
    third = max(round(span / 3), 1)
    a, b = int(r0), int(r1)
    top, bot = p[a : a + third], p[b - third + 1 : b + 1]
    ratio = math.log(max(float(top.sum()), 1e-9) / max(float(bot.sum()), 1e-9))
    return ratio + 0.5 * (_split(bot) - _split(top))


def _split(block: F64) -> float:
    """How much the load parts at its own centre column (legs): 0 none, up to 1."""
    prof = block.sum(axis=0)
    if prof.sum() <= 0:
        return 0.0
    cols = np.arange(prof.size, dtype=np.float64)
    c = float((prof * cols).sum() / prof.sum())
    centre = float(np.interp(c, cols, prof))
    return max(0.0, 1.0 - centre / max(float(prof.max()), 1e-9))


def _oriented(
    p: F64, mask: npt.NDArray[np.bool_], first: bool
) -> tuple[F64, npt.NDArray[np.bool_]]:
    return (p, mask) if first else (p[::-1], mask[::-1])


def _walk_up(values: F64, start: int, a: int, level: float) -> float:
    """First row, walking from ``start`` toward row ``a``, where ``values`` drops below
    ``level``; interpolated to a fraction of a row."""
    r = start
    while r > a and values[r - 1] >= level:
        r -= 1
    if r == a or values[r - 1] == values[r]:
        return float(r)
    return float(r - (values[r] - level) / (values[r] - values[r - 1]))


def _arms_overhead(loaded: npt.NDArray[np.bool_], top: float, h_rows: float) -> bool:
    """Load beyond the head end, parted from the trunk by more than a neck: hands overhead.

    A resting head touches the mat within a neck's length of the shoulders; load that lies
    beyond an empty band of more than ``_NECK_GAP`` H above the trunk contact is the hands
    and forearms of arms stretched overhead (the head then does not press).
    """
    r = math.floor(top) - 1
    gap = 0
    while r >= 0 and not loaded[r].any():
        gap += 1
        r -= 1
    return r >= 0 and gap >= _NECK_GAP * h_rows


def _c7_and_midline(
    p: F64,
    mask: npt.NDArray[np.bool_],
    loaded: npt.NDArray[np.bool_],
    r0: float,
    h_rows: float,
) -> tuple[float, float, bool]:
    """C7 row, midline column and arms-overhead flag on a map oriented head-first.

    ``h_rows`` is the standing height in rows (H / pitch).
    """
    rows = p.shape[0]
    trunk_rows = DEFAULT_FRACTIONS["gluteal_fold"] * h_rows
    a = int(r0)
    b = min(rows, math.ceil(r0 + trunk_rows) + 1)
    w = p[a:b] ** 2  # first guess of the midline, dominated by the heavy chest
    cols = np.arange(p.shape[1], dtype=np.float64)
    midline = float((w * cols).sum() / max(float(w.sum()), 1e-12))
    near = np.abs(cols - midline) <= 0.2 * h_rows
    width = (mask[:, near]).sum(axis=1).astype(np.float64)
    peak = a + int(np.argmax(p[a:b].sum(axis=1)))
    # top of the shoulder band: walking from the heaviest trunk row toward the head, the row
    # where the width within a shoulder's reach falls below 60 % of the widest trunk row
    c7 = _walk_up(width, peak, a, _SHOULDER_WIDTH_FRACTION * float(width[a:b].max()))
    # top of the chest contact: the central (sternal) strip's load walking up from its peak
    strip = p[:, np.abs(cols - midline) <= _STERNUM_HALF_WIDTH * h_rows].sum(axis=1)
    speak = a + int(np.argmax(strip[a:b]))
    chest = _walk_up(strip, speak, a, 0.1 * float(strip[speak]))
    arms_up = _arms_overhead(loaded, min(c7, chest), h_rows)
    if arms_up:
        # raised arms lift the shoulder girdle off the mat: the first contact is the upper
        # chest (manubrium, T2-T3 level), about _C7_TO_CHEST_CONTACT H below C7
        c7 = chest - _C7_TO_CHEST_CONTACT * h_rows
    # re-centre the midline on the upper trunk (C7 to L5/S1: chest and loin, no legs)
    span = DEFAULT_FRACTIONS["l5s1"] * h_rows
    t0, t1 = max(math.floor(c7), 0), min(rows, math.ceil(c7 + span) + 1)
    wt = p[t0:t1]
    if wt.sum() > 0:
        midline = float((wt * cols).sum() / wt.sum())
    return c7, midline, arms_up


def _knee_row(
    p: F64, c7: float, midline: float, end: float, pitch: float, h: float
) -> float | None:
    """Row of a kneecap on a head-first map, or None when no knee stands out.

    For each leg (each side of the midline), the row of its hardest-pressed sensel from 0.40 H
    below C7 to the end of the body; a leg counts when that peak is at least 1.8 times the
    median of its rows' peaks. The leg whose knee stands out most wins.
    """
    rows, _ = p.shape
    a = max(math.ceil(c7 + 0.40 * h / pitch), 0)
    b = min(int(end), rows - 1)
    if b - a < 4:
        return None
    split = round(midline)
    best: tuple[float, float] | None = None
    for side in (p[a : b + 1, :split], p[a : b + 1, split:]):
        if side.size == 0:
            continue
        peaks = side.max(axis=1)
        positive = peaks[peaks > 0]
        if positive.size == 0:
            continue
        ratio = float(peaks.max()) / float(np.median(positive))
        if ratio >= 1.8 and (best is None or ratio > best[0]):
            best = (ratio, float(a + int(np.argmax(peaks))))
    return None if best is None else best[1]


def register(frames: npt.ArrayLike, pitch_mm: float | None, height_mm: float) -> Registration:
    """Register a prone body on a mat under the client.

    Parameters
    ----------
    frames : array_like, kPa or raw counts
        ``[N, rows, cols]`` frames or one ``[rows, cols]`` frame; rows along the table.
    pitch_mm : float or None
        Sensel spacing, mm; None estimates it from the body length and ``height_mm``.
    height_mm : float
        The client's standing height, mm.

    Returns
    -------
    Registration

    Raises
    ------
    RegistrationError
        No body on the mat, or a mat too coarse to place the zones.
    InputError
        Frames of the wrong shape, a bad pitch or height.

    Notes
    -----
    Safety: ``quality`` drops (with a reason) when the head end is ambiguous, when the given
    pitch disagrees with the body length by more than 20 %, or when the body touches the mat
    edge; a monitor should not map zones at a quality below 0.5 without a check by eye. The
    client's left/right cannot be told from a mat under a symmetric body: columns are taken to
    grow toward the client's left with the head at the first row (contract section 4).
    """
    m = _mean_frame(frames)
    _check_args(m.shape, pitch_mm, height_mm)
    h = float(height_mm)
    mask, p, loaded = _body_mask(m)
    _refuse_if_empty(mask, p)
    rowload = (p * mask).sum(axis=1)
    r0, r1 = _extent(rowload)
    rows, cols = m.shape
    if r1 - r0 + 1 < 0.5 * rows:
        raise RegistrationError(
            f"frames: no body found: the load spans only {r1 - r0 + 1:.0f} of {rows} rows"
        )
    score = _head_score(p * mask, r0, r1)
    first = score >= 0
    po, mo = _oriented(p * mask, mask, first)
    lo = loaded if first else loaded[::-1]
    s0 = r0 if first else rows - 1 - r1
    s1 = r1 if first else rows - 1 - r0
    # Scale: first from the whole length, then from C7 to the knees (the kneecaps press hard
    # and sit at the popliteal level), else from C7 to the toes.
    pitch = float(pitch_mm) if pitch_mm is not None else PRONE_LENGTH_FRACTION * h / (s1 - s0 + 1)
    knee_row: float | None = None
    for _ in range(3):
        c7o, midline, arms_up = _c7_and_midline(po, mo, lo, s0, h / pitch)
        knee_row = _knee_row(po, c7o, midline, s1, pitch, h)
        if knee_row is not None:
            body_pitch = DEFAULT_FRACTIONS["popliteal"] * h / (knee_row - c7o)
        else:
            body_pitch = C7_TO_TOE_FRACTION * h / max(s1 + 0.5 - c7o, 1.0)
        if pitch_mm is None:
            pitch = body_pitch
    c7 = c7o if first else rows - 1 - c7o
    length_rows = (knee_row if knee_row is not None else s1 + 0.5) - c7o
    expected = DEFAULT_FRACTIONS["popliteal"] if knee_row is not None else C7_TO_TOE_FRACTION
    span_name = "knees" if knee_row is not None else "toes"
    reasons: list[str] = []
    quality = 1.0
    if abs(score) < 0.5:
        quality *= 0.5
        reasons.append(f"head end uncertain (score {score:.2f}, |score| >= 0.5 is clear)")
    if pitch_mm is not None and abs(body_pitch / pitch - 1.0) > 0.2:
        quality *= 0.6
        reasons.append(
            f"C7 to {span_name} {length_rows * pitch:.0f} mm at pitch {pitch:g} mm disagrees "
            f"with height {h:.0f} mm (expected {expected * h:.0f} mm: pitch {body_pitch:.1f} mm)"
        )
    if arms_up:
        quality *= 0.9
        reasons.append(
            "arms overhead (load beyond the head end, parted from the trunk): C7 placed "
            f"{_C7_TO_CHEST_CONTACT:.2f} H above the top of the chest contact"
        )
    if r0 <= 0 or r1 >= rows - 1:
        quality *= 0.8
        reasons.append("body reaches the end of the mat (head or feet may be off it)")
    if pitch_mm is None:
        quality *= 0.9 if knee_row is not None else 0.7
        reasons.append(f"pitch estimated from C7 to the {span_name} and height: {pitch:.1f} mm")
    resolution = min(1.0, (h / pitch) / 60.0)
    if resolution < 1.0:
        quality *= resolution
        reasons.append(f"coarse mat: {h / pitch:.0f} sensels along the body (60 for full quality)")
    return Registration(
        rows=rows,
        cols=cols,
        head_end="first_row" if first else "last_row",
        midline_col=midline,
        c7_row=c7,
        pitch_mm=pitch,
        pitch_source="given" if pitch_mm is not None else "body_length",
        body_length_pitch_mm=body_pitch,
        height_mm=h,
        body_rows=(r0, r1),
        head_score=score,
        quality=quality,
        reasons=tuple(reasons),
    )
