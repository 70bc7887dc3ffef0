"""What hurts slowly or deeply: held load (dwell), pressure-time dose, stress at depth.

- :class:`DepthTargets`: the Boussinesq stress σz at the spinal canal (45 mm) and kidney
  (80 mm) depth, averaged over each structure's footprint, as one matrix product per chunk
  (the weights come from :class:`~ashiguard.domain.mechanics.DepthStress`).
- :class:`TissueLoad`: per zone, how long load has been held (``dwell_time``) and the
  pressure-time dose with exponential recovery while unloaded (``zone_dose``), carried from
  chunk to chunk.

Notes
-----
Both recurrences are evaluated frame after frame with the same floating-point operations in
the same order however the frames are chunked (compiled:
:func:`~ashiguard.domain.alarms.kernel.tissue_pass`; decay factors from :func:`math.exp`), so
the alarms do not depend on chunking. Sources of the model and the
limits: docs/monitor.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ashiguard.domain.alarms.arrays import F32, F64, I64
from ashiguard.domain.alarms.config import DEPTH_OF_ZONE_MM, AlarmConfig
from ashiguard.domain.alarms.kernel import tissue_pass
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
        compressive = np.maximum(g, 0.0, dtype=np.float64)  # a negative reading pulls nothing
        return self.zone_max(compressive @ self.weights_or_none(g.shape[1]))

    def weights_or_none(self, k: int) -> F64:
        """The weights, or an empty ``[k, 0]`` matrix when there are none."""
        return self.weights if self.weights is not None else np.zeros((k, 0))

    def zone_max(self, seg: F64) -> F32:
        """σz per zone ``[n, zones]`` (kPa) from the footprint means ``seg`` ``[n, s]``
        (``g @ weights``): the largest footprint mean of each zone."""
        out = np.zeros((seg.shape[0], self.n), dtype=np.float32)
        if self.zone_first is None or seg.shape[1] == 0:
            return out
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
        n = times.shape[0]
        cfg = self.config
        prev_t = times[0] if self._last_t is None else self._last_t
        t_prev = np.concatenate([[prev_t], times[:-1]])
        dt = np.minimum(np.maximum(times - t_prev, 0.0), cfg.max_frame_gap_s)
        self._last_t = float(times[-1])
        tau = cfg.dose_recovery_s
        decay = np.array([math.exp(-d / tau) for d in dt.tolist()])
        dwell = np.empty((n, self.nz))
        dose = np.empty((n, self.nz))
        tissue_pass(
            times,
            self._area_n,
            cfg.dwell_load_n,
            cfg.dwell_gap_s,
            np.float32(cfg.contact_kpa),
            np.ascontiguousarray(zone_sum_kpa, dtype=np.float32),
            np.ascontiguousarray(zone_raw_max_kpa, dtype=np.float32),
            dt,
            decay,
            self._last_held,
            self._hold_start,
            self.dose,
            dwell,
            dose,
        )
        return dwell, dose
