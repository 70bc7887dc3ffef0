"""What hurts slowly or deeply: held load (dwell), pressure-time dose, stress at depth.

- :class:`DepthTargets`: the Boussinesq stress σz at the spinal canal (45 mm) and kidney
  (80 mm) depth, averaged over each structure's footprint, as one matrix product per chunk
  (the weights come from :class:`~ashiguard.domain.mechanics.DepthStress`).
- :class:`TissueLoad`: per zone, how long load has been held (``dwell_time``) and the
  pressure-time dose with exponential recovery while unloaded (``zone_dose``), carried from
  chunk to chunk.

Notes
-----
Both recurrences are evaluated with the same floating-point operations in the same order
however the frames are chunked (sequential ``cumsum``/``cumprod`` runs, decay factors from
:func:`math.exp`), so the alarms do not depend on chunking. Sources of the model and the
limits: docs/monitor.md.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ashiguard.domain.alarms.arrays import F32, F64, I64
from ashiguard.domain.alarms.config import DEPTH_OF_ZONE_MM, AlarmConfig
from ashiguard.domain.alarms.layout import SensorLayout, ZoneGrid

__all__ = ["SPINE_SEGMENT_MM", "DepthTargets", "TissueLoad"]

SPINE_SEGMENT_MM = 60.0
"""Length of the spinal-canal segments over which σz is averaged (about one vertebral level
with its disc), mm."""


@dataclass(frozen=True)
class DepthTargets:
    """Linear weights giving σz averaged over each footprint from a frame's body sensels.

    Attributes
    ----------
    zones : tuple of str
        The zones judged (one ``depth_stress`` channel each), in channel order.
    depths_mm : tuple of float
        The depth of each zone, mm.
    weights : ndarray of float64 [k, s]
        ``g @ weights`` (``g``: the body sensels in :attr:`ZoneGrid.order`, kPa) is σz (kPa)
        averaged over each of the ``s`` footprints.
    seg_zone : ndarray [s]
        Index into :attr:`zones` of each footprint (the footprints are stored zone after zone).
    zone_first : ndarray [zones]
        First footprint of each zone.
    """

    zones: tuple[str, ...] = ()
    depths_mm: tuple[float, ...] = ()
    weights: F64 | None = None
    seg_zone: I64 | None = None
    zone_first: I64 | None = None

    @classmethod
    def of(cls, layout: SensorLayout | None, grid: ZoneGrid, config: AlarmConfig) -> DepthTargets:
        """The targets of a layout (none without zones, with non-square sensels, or when no
        depth zone lies on the grid)."""
        if (
            layout is None
            or not layout.has_zones
            or layout.labels is None
            or grid.order.size == 0
            or (layout.row_pitch_mm is not None and layout.row_pitch_mm != layout.pitch_mm)
        ):
            return cls()
        from ashiguard.domain.mechanics import DepthStress

        labels = layout.labels
        zones: list[str] = []
        depths: list[float] = []
        maps: list[F64] = []
        seg_zone: list[int] = []
        for zone, depth in DEPTH_OF_ZONE_MM.items():
            if zone not in layout.zone_names or not math.isfinite(config.depth_limit(zone)):
                continue
            mask = labels == layout.zone_names.index(zone)
            if not mask.any():
                continue
            rows = np.flatnonzero(mask.any(axis=1))
            if zone.startswith("spine_"):
                seg_of_row = ((rows - rows[0]) * layout.pitch_mm // SPINE_SEGMENT_MM).astype(int)
            else:  # the kidney: its whole zone (about the organ's outline)
                seg_of_row = np.zeros(rows.size, dtype=int)
            stress = DepthStress((layout.rows, layout.cols), layout.pitch_mm, (depth,))
            zi = len(zones)
            zones.append(zone)
            depths.append(depth)
            for seg in np.unique(seg_of_row):
                part = np.zeros(mask.shape)
                sel_rows = rows[seg_of_row == seg]
                part[sel_rows] = mask[sel_rows]
                part /= part.sum()
                # the kernel is symmetric: convolving the averaging window gives the weight
                # of every surface sensel in the window's mean stress
                maps.append(np.asarray(stress(part)[0], dtype=np.float64))
                seg_zone.append(zi)
        if not zones:
            return cls()
        flat = np.stack([m.reshape(-1) for m in maps], axis=1)
        weights = np.ascontiguousarray(flat[grid.order], dtype=np.float64)
        seg = np.asarray(seg_zone, dtype=np.int64)
        first = np.searchsorted(seg, np.arange(len(zones))).astype(np.int64)
        return cls(tuple(zones), tuple(depths), weights, seg, first)

    @property
    def n(self) -> int:
        """Number of zones judged."""
        return len(self.zones)

    def stress(self, g: F32) -> F32:
        """σz per zone ``[n, zones]`` (kPa): the largest footprint mean of each zone.

        Parameters
        ----------
        g : ndarray [n, k], kPa
            Body sensels of the frames in :attr:`ZoneGrid.order` (NaN already 0).
        """
        n = g.shape[0]
        out = np.zeros((n, self.n), dtype=np.float32)
        if self.weights is None or self.zone_first is None:
            return out
        # float64 and a 1e-6 kPa grid: BLAS sums a product of one frame (gemv) in another
        # order than of many (gemm); in float32 the two differed by up to 2e-6 relative and
        # the alarms depended on the chunking. In float64 they differ by ~1e-14 relative, far
        # below the grid, so every chunking gives the same values.
        seg = np.round(g.astype(np.float64) @ self.weights, 6)
        # the footprints of each zone are contiguous (zone order): one maximum per zone
        out[:] = np.maximum.reduceat(seg, self.zone_first, axis=1)
        return out


class TissueLoad:
    """Held time and pressure-time dose per zone, carried between chunks.

    Parameters
    ----------
    nz : int
        Number of zones (columns of the per-zone features).
    config : AlarmConfig
        ``dwell_load_n``, ``dwell_gap_s``, ``contact_kpa``, ``dose_recovery_s`` and
        ``max_frame_gap_s`` (the longest time step a dose integrates over).
    sensel_area_mm2 : float, mm²
        Turns a zone's summed pressure into its force.

    Notes
    -----
    Held: the force on the zone exceeds ``dwell_load_n``; a hold survives unloadings shorter
    than ``dwell_gap_s``. Its value is the time since the hold began (0 when not held).

    Dose: while the zone's highest sensel is over ``contact_kpa`` the dose grows by that
    pressure times the time step (the pressure-time integral); otherwise it decays as
    ``exp(-dt / dose_recovery_s)``.
    """

    def __init__(self, nz: int, config: AlarmConfig, sensel_area_mm2: float) -> None:
        self.nz = nz
        self.config = config
        self._area_n = sensel_area_mm2 * 1e-3  # kPa * mm^2 -> N
        self._last_t: float | None = None
        self._hold_start = np.full(nz, -np.inf)
        self._last_held = np.full(nz, -np.inf)
        self.dose: F64 = np.zeros(nz)

    def values(self, times: F64, zone_sum_kpa: F32, zone_raw_max_kpa: F32) -> tuple[F64, F64]:
        """Held seconds and dose (kPa*s) per frame and zone, ``[n, nz]`` each."""
        if times.shape[0] == 1:
            return self._values1(float(times[0]), zone_sum_kpa[0], zone_raw_max_kpa[0])
        n = times.shape[0]
        cfg = self.config
        prev_t = times[0] if self._last_t is None else self._last_t
        t_prev = np.concatenate([[prev_t], times[:-1]])
        dt = np.minimum(np.maximum(times - t_prev, 0.0), cfg.max_frame_gap_s)
        self._last_t = float(times[-1])
        # --- dwell
        with np.errstate(invalid="ignore"):
            held = zone_sum_kpa.astype(np.float64) * self._area_n > cfg.dwell_load_n
        tcol = times[:, None]
        last_incl = np.maximum.accumulate(np.where(held, tcol, -np.inf), axis=0)
        last_incl = np.maximum(last_incl, self._last_held[None, :])
        last_before = np.vstack([self._last_held[None, :], last_incl[:-1]])
        new = held & (tcol - last_before > cfg.dwell_gap_s)
        start = np.maximum.accumulate(np.where(new, tcol, -np.inf), axis=0)
        start = np.maximum(start, self._hold_start[None, :])
        on = held | (tcol - last_incl <= cfg.dwell_gap_s)
        dwell = np.where(on & np.isfinite(start), tcol - start, 0.0)
        self._last_held = last_incl[-1].copy()
        self._hold_start = start[-1].copy()
        # --- dose: the same operations in the same order whatever the chunking
        with np.errstate(invalid="ignore"):
            loaded = zone_raw_max_kpa > cfg.contact_kpa
        inc = zone_raw_max_kpa.astype(np.float64) * dt[:, None]
        tau = cfg.dose_recovery_s
        decay = np.array([math.exp(-d / tau) for d in dt.tolist()])
        # Between two frames where any zone changes between loaded and unloaded, each zone
        # is either loaded (D += p dt) or not (D *= decay) throughout: one sequential
        # accumulate down each zone's column, starting from the carried dose (the same
        # additions and multiplications, in the same order, as one zone at a time).
        dose = np.empty((n, self.nz))
        edges = np.flatnonzero((loaded[1:] != loaded[:-1]).any(axis=1)) + 1
        d = self.dose
        for a, b in itertools.pairwise([0, *edges.tolist(), n]):
            for cols, grow in (
                (np.flatnonzero(loaded[a]), True),
                (np.flatnonzero(~loaded[a]), False),
            ):
                if not cols.size:
                    continue
                run = np.empty((b - a + 1, cols.size))
                run[0] = d[cols]
                if grow:
                    run[1:] = inc[a:b, cols]
                    np.add.accumulate(run, axis=0, out=run)
                else:
                    run[1:] = decay[a:b, None]
                    np.multiply.accumulate(run, axis=0, out=run)
                dose[a:b, cols] = run[1:]
            d = dose[b - 1]
        self.dose = d.copy()
        return dwell, dose

    def _values1(self, t: float, zone_sum_kpa: F32, zone_raw_max_kpa: F32) -> tuple[F64, F64]:
        """:meth:`values` for one frame (the live path): the same operations on one row."""
        cfg = self.config
        prev_t = t if self._last_t is None else self._last_t
        dt = min(max(t - prev_t, 0.0), cfg.max_frame_gap_s)
        self._last_t = t
        with np.errstate(invalid="ignore"):
            held = zone_sum_kpa.astype(np.float64) * self._area_n > cfg.dwell_load_n
            loaded = zone_raw_max_kpa > cfg.contact_kpa
        last_before = self._last_held
        last_incl = np.maximum(np.where(held, t, -np.inf), last_before)
        new = held & (t - last_before > cfg.dwell_gap_s)
        start = np.maximum(np.where(new, t, -np.inf), self._hold_start)
        on = held | (t - last_incl <= cfg.dwell_gap_s)
        dwell = np.where(on & np.isfinite(start), t - start, 0.0)
        self._last_held = last_incl
        self._hold_start = start
        decay = math.exp(-dt / cfg.dose_recovery_s)
        d = np.where(
            loaded, self.dose + zone_raw_max_kpa.astype(np.float64) * dt, self.dose * decay
        )
        self.dose = d
        return dwell[None, :], d[None, :].copy()
