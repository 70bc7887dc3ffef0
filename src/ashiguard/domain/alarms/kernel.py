"""One compiled pass over a chunk of frames: the per-frame reductions the engine needs.

The alarm engine measures each frame several ways (frame sum, per (zone, side) group sums,
maxima and contact counts, stress at depth). As separate numpy calls these read the chunk
several times and gather the body sensels into a copy first; :func:`chunk_pass` does them in
one pass per frame, with the frame in the processor's cache, and reads again only the grid
rows that carry load (most carry none: the feet cover a few percent of a sheet).

Notes
-----
- Each frame is reduced on its own, in a fixed order, so the results do not depend on how the
  frames are chunked (the alarms' chunk invariance rests on this).
- A block of grid rows whose readings are all exactly 0 adds nothing to a sum or a count and 0
  to a maximum: its runs are not read again. This is exact, not an approximation.
- Sums accumulate in float32 over several partial sums (as numpy's pairwise sums do); the
  stress products in float64.
- A NaN sensel (not reporting) counts as 0 everywhere and is flagged per frame; a sensel at or
  above the saturation level reads full scale, not force, and is left out of the sums (it still
  counts for the maxima and the stress at depth).
- Stress at depth comes from the compressive readings: a negative reading (sensor noise after
  zeroing) pulls nothing and adds nothing.
- Comparisons with the contact and saturation levels are made in float32, as numpy makes them
  between a float32 array and a Python float.
- :func:`chunk_pass` is :func:`chunk_pass_py` compiled by numba (``cache=True``: compiled once
  per machine and kept beside the module); the tests compare the two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numba
import numpy as np

from ashiguard.domain.alarms.arrays import F32, F64, I64, BoolA

__all__ = [
    "ROWS_PER_BLOCK",
    "Runs",
    "box_peaks_pass",
    "box_peaks_pass_py",
    "chunk_pass",
    "chunk_pass_py",
    "tissue_pass",
    "tissue_pass_py",
    "zone_summary_pass",
    "zone_summary_pass_py",
]


@dataclass(frozen=True)
class Runs:
    """The body sensels as runs of neighbours along a grid row, group after group.

    Attributes
    ----------
    pos : ndarray [r]
        Flat position of each run's first sensel.
    length : ndarray [r]
        Sensels in each run.
    row : ndarray [r]
        Grid row of each run.
    k : ndarray [r]
        Index of each run's first sensel in the body order (a row of the stress weights).
    bounds : ndarray [g + 1]
        Group ``j`` is runs ``bounds[j]:bounds[j + 1]``.
    """

    pos: I64
    length: I64
    row: I64
    k: I64
    bounds: I64

    @classmethod
    def of(cls, order: I64, starts: I64, cols: int) -> Runs:
        """Split the body order (its groups beginning at ``starts``) into row runs."""
        k = order.size
        if k == 0:
            z = np.zeros(0, dtype=np.int64)
            return cls(z, z, z, z, np.zeros(1, dtype=np.int64))
        brk = np.zeros(k, dtype=bool)
        brk[0] = True
        brk[1:] = (np.diff(order) != 1) | (order[1:] % cols == 0)
        brk[starts] = True
        first = np.flatnonzero(brk).astype(np.int64)
        length = np.diff(np.append(first, k)).astype(np.int64)
        pos = order[first].astype(np.int64)
        bounds = np.searchsorted(first, np.append(starts, k)).astype(np.int64)
        return cls(pos, length, pos // cols, first, bounds)


ROWS_PER_BLOCK = 4
"""Grid rows swept together when looking for rows of zeros (fewer, longer vectorized sweeps:
measured fastest on a 128 x 48 sheet)."""


def _row_sum_py(x: F32, sat_on: np.float32) -> tuple[np.float32, bool]:
    """Sum of the readings below ``sat_on`` (NaN if one is NaN), and whether any reading is
    not exactly 0 (one vectorized sweep)."""
    zero = np.float32(0.0)
    acc = zero
    bits = x.view(np.uint32)
    any_bits = np.uint32(0)
    for i in range(x.shape[0]):
        v = x[i]
        acc += zero if v >= sat_on else v
        any_bits |= bits[i]
    return acc, (any_bits & np.uint32(0x7FFFFFFF)) != 0


_row_sum = numba.njit(cache=True, nogil=True, inline="always", fastmath={"reassoc"})(_row_sum_py)


def chunk_pass_py(
    p: F32,
    cols: int,
    runs_pos: I64,
    runs_len: I64,
    runs_row: I64,
    runs_k: I64,
    bounds: I64,
    group_zone: I64,
    group_side: I64,
    contact_kpa: np.float32,
    sat_on: np.float32,
    weights: F64,
    pick: BoolA,
    sums: F64,
    nan_frame: BoolA,
    lo: F64,
    hi: F64,
    body_max: F32,
    gsum: F64,
    zone_max: F32,
    zone_sum: F32,
    zone_count: F32,
    side_sum: F64,
    depth: F64,
) -> None:
    """Reduce every frame of a chunk (outputs filled in place).

    Parameters
    ----------
    p : ndarray of float32 [n, s], kPa
        The frames, flattened (``s`` a multiple of ``cols``).
    cols : int
        Grid columns.
    runs_pos, runs_len, runs_row, runs_k, bounds : ndarray of int64
        The fields of :class:`Runs` (the body sensels, group after group).
    group_zone, group_side : ndarray of int64 [g]
        Each group's zone (a column of the zone outputs) and side (0 the client's left,
        1 right, 2 the midline).
    contact_kpa, sat_on : float32, kPa
        Contact threshold (counted above it) and saturation level (left out of sums from it).
    weights : ndarray of float64 [k, m]
        Depth-stress weights of the body sensels (``m`` may be 0).
    pick : ndarray of bool [n]
        Frames whose smallest and largest sensel over the whole grid are wanted.
    sums, nan_frame, body_max : ndarray [n]
        Out: frame sum (kPa, saturated sensels left out), whether a sensel was NaN, and the
        largest body sensel (kPa; -inf without any).
    lo, hi : ndarray of float64 [n]
        Out: on the picked frames, the smallest and largest sensel (kPa; NaN read as 0);
        elsewhere untouched.
    gsum : ndarray [n, g]
        Out: per group the sum (kPa, saturated left out).
    zone_max, zone_sum, zone_count : ndarray of float32 [n, nz]
        In and out: per zone the largest sensel (kPa; filled in, give NaN: zones without a
        group keep it), the sum (kPa; added to, give 0) and the sensels over the contact
        threshold (added to, give 0).
    side_sum : ndarray of float64 [n, 3]
        Out: the group sums of each side added up (kPa).
    depth : ndarray of float64 [n, m]
        Out: ``max(g, 0) @ weights`` (kPa), ``g`` the body sensels in order.
    """
    n, s = p.shape
    nrows = s // cols
    ng = bounds.shape[0] - 1
    m = weights.shape[1]
    zero = np.float32(0.0)
    scratch = np.empty(s, dtype=np.float32)
    loaded = np.empty(nrows, dtype=np.bool_)
    for f in range(n):
        row = p[f]
        # the frame sum by blocks of rows (a NaN sensel makes it NaN), and which blocks hold
        # anything but exact zeros: a block of zeros adds nothing and is not read again
        acc = zero
        for r in range(0, nrows, ROWS_PER_BLOCK):
            r1 = min(r + ROWS_PER_BLOCK, nrows)
            part, any_load = _row_sum(row[r * cols : r1 * cols], sat_on)
            acc += part
            for rr in range(r, r1):
                loaded[rr] = any_load
        bad = acc != acc
        nan_frame[f] = bad
        if bad:  # rare: a sensel not reporting reads 0
            acc = zero
            for i in range(s):
                v = row[i]
                v = zero if v != v else v
                scratch[i] = v
                acc += zero if v >= sat_on else v
            row = scratch
        sums[f] = acc
        if pick[f]:  # the extremes: a block of zeros holds 0 and is not read again
            mn = np.float32(np.inf)
            mx = np.float32(-np.inf)
            for r in range(0, nrows, ROWS_PER_BLOCK):
                if not loaded[r]:
                    mn = min(mn, zero)
                    mx = max(mx, zero)
                    continue
                for i in range(r * cols, min(r + ROWS_PER_BLOCK, nrows) * cols):
                    v = row[i]
                    mn = min(mn, v)
                    mx = max(mx, v)
            lo[f] = mn
            hi[f] = mx
        for d in range(m):
            depth[f, d] = 0.0
        for d in range(3):
            side_sum[f, d] = 0.0
        bmax = np.float32(-np.inf)
        for j in range(ng):
            gs = zero
            gm = np.float32(-np.inf)
            cnt = 0
            for q in range(bounds[j], bounds[j + 1]):
                if not loaded[runs_row[q]]:
                    gm = max(gm, zero)
                    continue
                a = runs_pos[q]
                k0 = runs_k[q] - a
                for i in range(a, a + runs_len[q]):
                    v = row[i]
                    gm = max(gm, v)
                    gs += zero if v >= sat_on else v
                    cnt += v > contact_kpa
                    if v > zero:
                        for d in range(m):
                            depth[f, d] += v * weights[k0 + i, d]
            gsum[f, j] = gs
            side_sum[f, group_side[j]] += np.float64(gs)
            bmax = max(bmax, gm)
            z = group_zone[j]
            cur = zone_max[f, z]
            zone_max[f, z] = gm if cur != cur else max(cur, gm)
            zone_sum[f, z] += gs
            zone_count[f, z] += np.float32(cnt)
        body_max[f] = bmax


chunk_pass = cast(
    Callable[..., None],
    numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})(chunk_pass_py),
)
""":func:`chunk_pass_py` compiled (same arguments)."""


def tissue_pass_py(
    times: F64,
    area_n: float,
    dwell_load_n: float,
    dwell_gap_s: float,
    contact_kpa: np.float32,
    zone_sum_kpa: F32,
    zone_raw_max_kpa: F32,
    dt: F64,
    decay: F64,
    last_held: F64,
    hold_start: F64,
    dose: F64,
    dwell_out: F64,
    dose_out: F64,
) -> None:
    """Held time and pressure-time dose per frame and zone, frame after frame.

    The recurrences of :class:`~ashiguard.domain.alarms.tissue.TissueLoad` (see there), with
    the same floating-point operations in the same order as its one-frame path, so every
    chunking gives the same values. ``last_held``, ``hold_start`` and ``dose`` ``[nz]`` are
    carried (updated in place); ``dt`` and ``decay`` ``[n]`` are each frame's time step and
    recovery factor; ``dwell_out`` and ``dose_out`` ``[n, nz]`` are filled.
    """
    n, nz = zone_sum_kpa.shape
    for f in range(n):
        t = times[f]
        for z in range(nz):
            held = np.float64(zone_sum_kpa[f, z]) * area_n > dwell_load_n
            before = last_held[z]
            incl = max(t if held else -np.inf, before)
            if held and t - before > dwell_gap_s:
                hold_start[z] = max(t, hold_start[z])
            last_held[z] = incl
            start = hold_start[z]
            on = held or t - incl <= dwell_gap_s
            dwell_out[f, z] = t - start if on and np.isfinite(start) else 0.0
            peak = zone_raw_max_kpa[f, z]
            if peak > contact_kpa:
                dose[z] = dose[z] + np.float64(peak) * dt[f]
            else:
                dose[z] = dose[z] * decay[f]
            dose_out[f, z] = dose[z]


tissue_pass = cast(
    Callable[..., None],
    numba.njit(cache=True, nogil=True)(tissue_pass_py),
)
""":func:`tissue_pass_py` compiled (same arguments; no fast-math: every operation as written)."""


def zone_summary_pass_py(
    times: F64,
    dt: F64,
    raw: F32,
    peak: F32,
    exact: BoolA,
    zone_sum: F32,
    contact: F32,
    limits: F64,
    sensel_area_mm2: float,
    stroke_gap_s: float,
    acc: F64,
) -> None:
    """Fold a chunk's per-zone features into a session's per-zone totals, frame after frame.

    ``acc`` ``[10, nz]`` holds, by row: largest sensel, largest exact neighbourhood peak,
    largest bound where the peak was not computed exactly (kPa, -inf before any), seconds
    over the limit, seconds in contact, pressure-time integral of the mean contact pressure
    (kPa*s), contact area-time (mm²*s), largest contact area (mm²), strokes, and the last
    contact time (s, -inf before any). NaN features (a zone off the grid) are skipped.
    """
    n, nz = raw.shape
    for f in range(n):
        t = times[f]
        d = dt[f]
        for z in range(nz):
            r = raw[f, z]
            if r == r:
                acc[0, z] = max(acc[0, z], np.float64(r))
            pk = peak[f, z]
            if pk == pk:
                if exact[f, z]:
                    acc[1, z] = max(acc[1, z], np.float64(pk))
                    if pk > limits[z]:
                        acc[3, z] += d
                else:
                    acc[2, z] = max(acc[2, z], np.float64(pk))
            cnt = np.float64(contact[f, z])
            acc[7, z] = max(acc[7, z], cnt * sensel_area_mm2)
            if cnt > 0.0:
                acc[4, z] += d
                acc[5, z] += np.float64(zone_sum[f, z]) / cnt * d
                acc[6, z] += cnt * sensel_area_mm2 * d
                if t - acc[9, z] >= stroke_gap_s:
                    acc[8, z] += 1.0
                acc[9, z] = max(acc[9, z], t)


zone_summary_pass = cast(
    Callable[..., None],
    numba.njit(cache=True, nogil=True)(zone_summary_pass_py),
)
""":func:`zone_summary_pass_py` compiled (same arguments)."""


def box_peaks_pass_py(
    p: F32,
    cols: int,
    box_order: I64,
    box_starts: I64,
    box_zones: I64,
    raw_order: I64,
    raw_starts: I64,
    raw_zones: I64,
    out: F32,
) -> None:
    """Four times the 2 x 2 neighbourhood peak per zone of each frame (kPa).

    ``box_*``: the positions (in the ``[rows - 1, cols - 1]`` grid of boxes, top-left
    corners) of the boxes lying wholly in one zone, zone after zone (``box_starts``: first of
    each, ``box_zones``: its column of ``out``); ``raw_*``: single sensels (flat positions) of
    zones too narrow for a box, counted as four times their value. ``out`` ``[n, nz]`` (give
    -inf) takes the largest of what it holds and these. A box adds its two columns' pairs, as
    ``(p[r, c] + p[r + 1, c]) + (p[r, c + 1] + p[r + 1, c + 1])`` in float32.
    """
    n = p.shape[0]
    bw = cols - 1
    four = np.float32(4.0)
    for f in range(n):
        row = p[f]
        for g in range(box_starts.shape[0]):
            end = box_starts[g + 1] if g + 1 < box_starts.shape[0] else box_order.shape[0]
            best = np.float32(-np.inf)
            for q in range(box_starts[g], end):
                b = box_order[q]
                i = (b // bw) * cols + b % bw
                v = (row[i] + row[i + cols]) + (row[i + 1] + row[i + cols + 1])
                best = max(best, v)
            z = box_zones[g]
            out[f, z] = max(out[f, z], best)
        for g in range(raw_starts.shape[0]):
            end = raw_starts[g + 1] if g + 1 < raw_starts.shape[0] else raw_order.shape[0]
            best = np.float32(-np.inf)
            for q in range(raw_starts[g], end):
                best = max(best, row[raw_order[q]])
            z = raw_zones[g]
            out[f, z] = max(out[f, z], best * four)


box_peaks_pass = cast(
    Callable[..., None],
    numba.njit(cache=True, nogil=True)(box_peaks_pass_py),
)
""":func:`box_peaks_pass_py` compiled (same arguments; float32 as numpy computes it)."""
