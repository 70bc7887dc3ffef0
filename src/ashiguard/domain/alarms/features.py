"""Per-frame measurements of a chunk: zone peaks, sums and contact, loads, sensor-fault values.

Notes
-----
- The zone peak is the 2 x 2 neighbourhood mean (see :mod:`ashiguard.domain.alarms.layout`),
  computed exactly wherever it can matter for an alarm.
- Sensor-fault values are computed the same way however the frames are chunked: the extremes
  of every sensel on every 4th frame and dead sensels on every 32nd frame, both by global frame
  index, held in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ashiguard.domain.alarms.arrays import F32, F64, I64, BoolA
from ashiguard.domain.alarms.config import AlarmConfig
from ashiguard.domain.alarms.kernel import Runs, box_peaks_pass, chunk_pass
from ashiguard.domain.alarms.layout import SensorLayout, ZoneGrid
from ashiguard.domain.alarms.tissue import DepthTargets

__all__ = ["ChunkFeatures", "FeatureExtractor"]


@dataclass
class ChunkFeatures:
    """What the engine measured on a chunk of ``n`` frames, for the analyzer and live views.

    Attributes
    ----------
    times : ndarray [n], s
    zone_peak_kpa : ndarray [n, nz], kPa
        2x2 neighbourhood peak per zone (exact wherever it can matter, see
        :meth:`AlarmEngine.features`), NaN for zones absent from the grid.
    zone_peak_exact : ndarray of bool [n, nz]
        Where ``zone_peak_kpa`` is the exact neighbourhood peak (elsewhere an upper bound).
    zone_raw_max_kpa : ndarray [n, nz], kPa
        Largest single sensel per zone.
    zone_sum_kpa : ndarray [n, nz], kPa
        Sum of the sensel pressures per zone.
    zone_contact : ndarray [n, nz]
        Sensels over the contact threshold per zone (zeros unless asked for).
    load_n, left_n, right_n, mat_total_n : ndarray [n], N
        Load on the client, its left and right parts, and the mat's total force.
    frame_max_kpa : ndarray [n], kPa
    depth_kpa : ndarray [n, nd], kPa
        Boussinesq stress at depth averaged over each depth zone's footprints (the largest
        footprint per zone; see :class:`~ashiguard.domain.alarms.tissue.DepthTargets`).
    """

    times: F64
    zone_peak_kpa: F32
    zone_raw_max_kpa: F32
    zone_sum_kpa: F32
    zone_contact: F32
    load_n: F64
    left_n: F64
    right_n: F64
    mat_total_n: F64
    frame_max_kpa: F32
    zone_peak_exact: BoolA = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    depth_kpa: F32 = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    @classmethod
    def empty(cls, times: F64, nz: int) -> ChunkFeatures:
        """All-NaN features for ``times`` (zone sums and counts zero)."""
        n = times.shape[0]
        nan32 = np.empty((n, nz), dtype=np.float32)
        nan32.fill(np.nan)
        nan = np.empty(n)
        nan.fill(np.nan)
        zeros32 = np.zeros((n, nz), dtype=np.float32)
        return cls(
            times,
            nan32,
            nan32.copy(),
            zeros32,
            zeros32.copy(),
            nan,
            nan.copy(),
            nan.copy(),
            nan.copy(),
            nan32[:, 0].copy() if nz else np.full(n, np.nan, dtype=np.float32),
        )


class FeatureExtractor:
    """Measure chunks of frames, carrying what the next chunk needs (stale streaks, held values).

    Parameters
    ----------
    layout : SensorLayout or None
        The grid; ``None`` when there is none (insoles or bars only).
    grid : ZoneGrid
        The sensel groups of ``layout``.
    config : AlarmConfig
        Contact threshold and dead-sensel neighbour threshold.
    weight_n : float, N
        The therapist's weight (a frame counts as loaded above 5 % of it).
    client_weight_n : float or None, N
        Subtracted from an ``under_client`` mat's total for ``mat_minus_client``.
    load_source, symmetry_source : str or None
        As for :class:`~ashiguard.domain.alarms.engine.AlarmEngine`.
    zone_threshold : ndarray [nz], kPa
        Per zone, the lowest clearing threshold of its conditions: above it the exact
        neighbourhood peak is computed.
    saturation_on : float, kPa
        A sensel at or above this reads saturated and is left out of the load.
    depth : DepthTargets or None
        The depth-stress footprints (none when None).
    """

    def __init__(
        self,
        layout: SensorLayout | None,
        grid: ZoneGrid,
        config: AlarmConfig,
        weight_n: float,
        *,
        client_weight_n: float | None,
        load_source: str | None,
        symmetry_source: str | None,
        zone_threshold: F64,
        saturation_on: float,
        depth: DepthTargets | None = None,
    ) -> None:
        self.layout = layout
        self.config = config
        self.weight_n = weight_n
        self.client_weight_n = client_weight_n
        self.load_source = load_source
        self.symmetry_source = symmetry_source
        self._nz = grid.nz
        self._order = grid.order
        self._g_starts = grid.starts
        self._runs = Runs.of(grid.order, grid.starts, layout.cols if layout else 1)
        # each group's zone column and side (0 left, 1 right, 2 midline)
        group_of_zone = np.searchsorted(grid.zone_starts, np.arange(grid.starts.size), "right")
        self._group_zone = (
            grid.zones_present[group_of_zone - 1].astype(np.int64)
            if grid.zones_present.size
            else np.zeros(grid.starts.size, dtype=np.int64)
        )
        self._group_side = np.full(grid.starts.size, 2, dtype=np.int64)
        self._group_side[grid.left] = 0
        self._group_side[grid.right] = 1
        self._contact32 = np.float32(config.contact_kpa)
        empty = np.zeros(0, dtype=np.int64)
        box, raw = grid.box_groups, grid.raw_groups
        self._peak_groups = (
            *((box.order, box.starts, box.zones) if box is not None else (empty,) * 3),
            *((raw.order, raw.starts, raw.zones) if raw is not None else (empty,) * 3),
        )
        self._zone_threshold = zone_threshold
        self._saturation_on = saturation_on
        self._depth = depth if depth is not None and depth.n else None
        k = grid.order.size
        self._depth_weights = (
            self._depth.weights_or_none(k) if self._depth is not None else np.zeros((k, 0))
        )
        self._stale_since: float | None = None
        self._last_fp: F64 | None = None
        self._frame_index = 0
        self._dead_last = 0.0
        self._lo_last = 0.0
        self._hi_last = 0.0
        self._reported: BoolA = np.zeros(
            0 if layout is None else layout.rows * layout.cols, dtype=bool
        )

    def features(
        self,
        times: F64,
        pressure: F32 | None,
        *,
        bars_n: F64 | None = None,
        feet_n: F64 | None = None,
        exact_all: bool = False,
        contact_counts: bool = False,
    ) -> tuple[ChunkFeatures, F64]:
        """Compute the per-frame measurements and the fault values of a chunk.

        Parameters
        ----------
        exact_all : bool
            Compute the 2x2 neighbourhood peak of every zone in every frame. Otherwise it is
            computed only in frames where some zone's raw maximum (an upper bound of any
            neighbourhood mean) exceeds a threshold that matters (the lowest clearing threshold
            of that zone's conditions); elsewhere the bound is reported and
            ``zone_peak_exact`` is False.
        contact_counts : bool
            Also count sensels in contact per zone (for the analyzer).

        Returns
        -------
        features : ChunkFeatures
        faults : ndarray [n, 5]
            NaN sensel count, most negative value (kPa, as a positive number), frame maximum
            (kPa), seconds of identical frames while loaded, dead sensel count.
        """
        n = times.shape[0]
        nz = self._nz
        f = ChunkFeatures.empty(times, nz)
        faults = np.zeros((n, 5))
        lay = self.layout
        if pressure is not None and lay is not None and n:
            p = np.ascontiguousarray(pressure.reshape(n, -1))
            gidx = self._frame_index + np.arange(n)
            self._frame_index += n
            ng = self._g_starts.size
            pick = gidx % 4 == 0  # every sensel's extremes on every 4th frame (held between)
            lo_v, hi_v = np.zeros(n), np.zeros(n)
            sums = np.empty(n)
            nan_frame = np.empty(n, dtype=bool)
            body_max = np.empty(n, dtype=np.float32)
            gsum = np.empty((n, ng))
            side = np.empty((n, 3))
            depth = np.empty((n, self._depth_weights.shape[1]))
            runs = self._runs
            chunk_pass(
                p,
                lay.cols,
                runs.pos,
                runs.length,
                runs.row,
                runs.k,
                runs.bounds,
                self._group_zone,
                self._group_side,
                self._contact32,
                np.float32(self._saturation_on),
                self._depth_weights,
                pick,
                sums,
                nan_frame,
                lo_v,
                hi_v,
                body_max,
                gsum,
                f.zone_raw_max_kpa,
                f.zone_sum_kpa,
                f.zone_contact,
                side,
                depth,
            )
            if nan_frame.any():
                faults[:, 0] = self._lost_sensels(p)
                p = p.copy()
                p[nan_frame] = np.nan_to_num(p[nan_frame], nan=0.0)
            else:
                self._reported[:] = True
            lo, hi = self._extremes(lo_v, hi_v, pick)
            fmax = np.fmax(hi, body_max)
            faults[:, 1] = -lo
            faults[:, 2] = fmax
            f.frame_max_kpa = fmax.astype(np.float32)
            area = lay.sensel_area_mm2 * 1e-3  # kPa * mm^2 -> N
            total = sums * area
            f.mat_total_n = total
            if self.load_source == "mat":
                f.load_n = total
            elif self.load_source == "mat_minus_client":
                f.load_n = np.maximum(total - (self.client_weight_n or 0.0), 0.0)
            if ng:
                f.left_n = side[:, 0] * area
                f.right_n = side[:, 1] * area
                if nz:
                    self._exact_peaks(p, f, exact_all)
                if not contact_counts:
                    f.zone_contact[:] = 0.0
                if self._depth is not None:
                    f.depth_kpa = self._depth.zone_max(depth)
            fingerprint = np.concatenate([gsum, sums[:, None], fmax[:, None]], axis=1)
            faults[:, 3] = self._stale_seconds(times, fingerprint, total)
            faults[:, 4] = self._dead_sensels(p, gidx)
        if self.load_source == "feet" and feet_n is not None:
            f.load_n = feet_n[:, 0] + feet_n[:, 1]
        if self.load_source == "bars" and bars_n is not None:
            f.load_n = np.maximum(self.weight_n - (bars_n[:, 0] + bars_n[:, 1]), 0.0)
        if self.symmetry_source == "feet" and feet_n is not None:
            f.left_n, f.right_n = feet_n[:, 0], feet_n[:, 1]
        return f, faults

    def _lost_sensels(self, p: F32) -> F64:
        """NaN sensels per frame that had reported before (never-reporting ones are taken as
        outside the sensor's outline, e.g. the cells around an F-Scan insole)."""
        isn = np.isnan(p)
        seen = np.logical_or.accumulate(~isn, axis=0) | self._reported[None, :]
        before = np.vstack([self._reported[None, :], seen[:-1]])
        self._reported = seen[-1].copy()
        out: F64 = (isn & before).sum(axis=1).astype(np.float64)
        return out

    @property
    def never_reported(self) -> int:
        """Sensels that have not reported a value since the start (outside the outline)."""
        return int(self.layout is not None and (~self._reported).sum())

    def _exact_peaks(self, p: F32, f: ChunkFeatures, exact_all: bool) -> None:
        lay = self.layout
        assert lay is not None
        n = p.shape[0]
        raw = f.zone_raw_max_kpa
        if exact_all:  # every frame exact (the live path): no selection, no copies
            f.zone_peak_kpa = self._zone_peaks(p.reshape(n, lay.rows, lay.cols))
            f.zone_peak_exact = np.ones((n, self._nz), dtype=bool)
            return
        peak = raw.copy()
        with np.errstate(invalid="ignore"):
            need = raw > self._zone_threshold[None, :]
        rows = np.flatnonzero(need.any(axis=1))
        if rows.size:
            exact = self._zone_peaks(p[rows].reshape(rows.size, lay.rows, lay.cols))
            peak[rows] = exact
        f.zone_peak_kpa = peak
        f.zone_peak_exact = np.zeros((n, self._nz), dtype=bool)
        f.zone_peak_exact[rows] = True

    def exact_zone_peaks(self, frame: F32) -> F32:
        """The exact 2x2 neighbourhood peak per zone of one frame ``[rows, cols]`` (kPa), as
        :meth:`features` reports it with ``exact_all`` (a frame with a NaN sensel is read with
        NaN as 0). All NaN without zones."""
        lay = self.layout
        if lay is None or not self._nz:
            return np.full(self._nz, np.nan, dtype=np.float32)
        p = np.asarray(frame, dtype=np.float32).reshape(1, -1)
        if np.isnan(p.sum(axis=1)[0]):
            p = np.nan_to_num(p, nan=0.0)
        out: F32 = self._zone_peaks(p.reshape(1, lay.rows, lay.cols))[0]
        return out

    def _zone_peaks(self, p3: F32) -> F32:
        n, _, cols = p3.shape
        out = np.full((n, self._nz), -np.inf, dtype=np.float32)
        box_peaks_pass(np.ascontiguousarray(p3.reshape(n, -1)), cols, *self._peak_groups, out)
        out *= 0.25
        out[out == -np.inf] = np.nan
        return out

    def _stale_seconds(self, times: F64, fp: F64, total: F64) -> F64:
        """Seconds each frame has been identical to its predecessors while loaded.

        Frames are compared by an exact fingerprint (row maxima and frame minimum), so the
        result does not depend on how frames are chunked.
        """
        n = times.shape[0]
        if n == 1 and self._last_fp is not None and self._stale_since is not None:
            # the live path: one frame against the previous one
            same = bool(np.array_equal(fp[0], self._last_fp)) and bool(
                total[0] > 0.05 * self.weight_n
            )
            self._last_fp = fp[0].copy()
            if not same:
                self._stale_since = float(times[0])
                return np.zeros(1)
            return np.array([float(times[0]) - self._stale_since])
        prev = np.empty_like(fp)
        prev[1:] = fp[:-1]
        if self._last_fp is not None:
            prev[0] = self._last_fp
        else:
            prev[0] = np.nan
        same = np.all(fp == prev, axis=1) & (total > 0.05 * self.weight_n)
        # streak start time: time of the last frame that was not "same"
        idx = np.where(~same, np.arange(n), -1)
        last_change = np.maximum.accumulate(idx)
        start = np.where(
            last_change >= 0,
            times[np.maximum(last_change, 0)],
            self._stale_since if self._stale_since is not None else np.nan,
        )
        secs = np.where(same, times - start, 0.0)
        secs = np.where(np.isnan(secs), 0.0, secs)
        self._last_fp = fp[-1].copy()
        self._stale_since = float(start[-1]) if np.isfinite(start[-1]) else float(times[-1])
        return secs

    def _held(self, vals: F64, pick: I64, n: int, last: float) -> F64:
        """Values judged on the frames ``pick``, held until the next judged frame."""
        if n == 1:  # the live path: one frame
            return np.array([vals[0] if pick.size else last])
        marks = np.full(n, -1)
        marks[pick] = np.arange(pick.size)
        held = np.maximum.accumulate(marks)
        padded = np.concatenate([vals, [last]])
        out: F64 = np.where(held >= 0, padded[np.where(held >= 0, held, vals.size)], last)
        return out

    def _extremes(self, lo_v: F64, hi_v: F64, pick: BoolA) -> tuple[F64, F64]:
        """Smallest and largest value of every sensel (kPa), measured on every 4th frame by
        global index (``pick``) and held in between (negative and saturated sensels are
        persistent sensor faults; the body's own sensels are checked every frame by the
        caller)."""
        at = np.flatnonzero(pick)
        lo = self._held(lo_v[at], at, pick.shape[0], self._lo_last)
        hi = self._held(hi_v[at], at, pick.shape[0], self._hi_last)
        self._lo_last, self._hi_last = float(lo[-1]), float(hi[-1])
        return lo, hi

    def _dead_sensels(self, p: F32, gidx: I64) -> F64:
        """Dead sensels, judged on every 32nd frame (by global index) and held in between."""
        if p.shape[0] == 1 and gidx[0] % 32:  # the live path, a frame not judged
            return np.array([self._dead_last])
        lay = self.layout
        assert lay is not None
        off = int((-gidx[0]) % 32) if gidx.size else 0
        pick = np.arange(off, p.shape[0], 32, dtype=np.int64)
        vals = np.zeros(pick.size)
        if pick.size and lay.rows >= 3 and lay.cols >= 3:
            q = p[off::32].reshape(pick.size, lay.rows, lay.cols)
            hot = q > self.config.dead_neighbour_kpa
            # a dead sensel lies between two hot ones in its row or column, so inside the
            # bounding box of the hot sensels (and off the border): look only there
            hot_rows = np.flatnonzero(hot.any(axis=(0, 2)))
            hot_cols = np.flatnonzero(hot.any(axis=(0, 1))) if hot_rows.size else hot_rows
            if hot_rows.size:
                r0, r1 = max(int(hot_rows[0]), 1), min(int(hot_rows[-1]), lay.rows - 2) + 1
                c0, c1 = max(int(hot_cols[0]), 1), min(int(hot_cols[-1]), lay.cols - 2) + 1
                if r0 < r1 and c0 < c1:
                    up, down = hot[:, r0 - 1 : r1 - 1, c0:c1], hot[:, r0 + 1 : r1 + 1, c0:c1]
                    left, right = hot[:, r0:r1, c0 - 1 : c1 - 1], hot[:, r0:r1, c0 + 1 : c1 + 1]
                    dead = (q[:, r0:r1, c0:c1] <= 0) & ((up & down) | (left & right))
                    vals = dead.reshape(pick.size, -1).sum(axis=1).astype(np.float64)
        out = self._held(vals, pick, p.shape[0], self._dead_last)
        self._dead_last = float(out[-1])
        return out
