"""Where the sensels are: the grid, its zone labels and the sensel groups per zone and side.

Notes
-----
A zone's pressure is the peak of the 2 x 2 neighbourhood mean over the sensels of that zone
(a "pure" box: all four sensels in the zone), never one noisy sensel. A zone too narrow for a
pure box on a coarse grid falls back to its single sensels (:class:`ZoneGrid`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from ashiguard.domain.alarms.arrays import F32, F64, I64
from ashiguard.domain.zone_names import ZONE_SLUGS

__all__ = ["SensorLayout", "ZoneGrid", "ZoneGroups"]


@dataclass(frozen=True)
class SensorLayout:
    """Where the sensels are and which body zone each one lies on.

    Parameters
    ----------
    rows, cols : int
        Grid shape.
    pitch_mm : float, mm
        Sensel spacing.
    labels : ndarray of int16 [rows, cols] or None
        Index into ``zone_names`` per sensel, -1 outside every zone; None when the grid has no
        body frame (``foot``, ``other``, unregistered ``under_client``).
    zone_names : tuple of str
        The zone slugs ``labels`` index into.
    x_mm : ndarray [cols] or None, mm
        Body-frame x of each column (positive toward the client's left), for left/right load.
    placement : str
        ``on_client``, ``under_client``, ``foot`` or ``other`` (contract section 4).
    row_pitch_mm : float or None, mm
        Spacing between rows when it differs from ``pitch_mm``.
    """

    rows: int
    cols: int
    pitch_mm: float
    labels: npt.NDArray[np.int16] | None = None
    zone_names: tuple[str, ...] = ZONE_SLUGS
    x_mm: F64 | None = None
    placement: str = "on_client"
    row_pitch_mm: float | None = None

    @property
    def has_zones(self) -> bool:
        """Whether zone pressure can be judged (a contact sheet with a zone map)."""
        return self.labels is not None and self.placement == "on_client"

    @property
    def sensel_area_mm2(self) -> float:
        """Area of one sensel in mm^2."""
        return self.pitch_mm * (self.row_pitch_mm or self.pitch_mm)


@dataclass(frozen=True)
class ZoneGroups:
    """Labelled positions of a flat array sorted by zone, for per-zone maxima by one gather."""

    order: I64  # labelled positions, sorted by zone (stable)
    starts: I64  # first position of each zone within ``order``
    zones: I64  # zone index of each group

    @classmethod
    def of(cls, lab: I64) -> ZoneGroups:
        pos = np.flatnonzero(lab >= 0)
        if pos.size == 0:
            z = np.zeros(0, dtype=np.int64)
            return cls(z, z, z)
        order = pos[np.argsort(lab[pos], kind="stable")].astype(np.int64)
        sl = lab[order]
        starts = np.flatnonzero(np.concatenate([[True], np.diff(sl) != 0])).astype(np.int64)
        return cls(order, starts, sl[starts].astype(np.int64))

    def max_into(self, x: F32, out: F32, scale: float = 1.0) -> None:
        """``out[:, z] = max(out[:, z], scale * max of x over zone z)``."""
        if self.zones.size == 0:
            return
        zmax = np.maximum.reduceat(np.take(x, self.order, axis=1), self.starts, axis=1)
        if scale != 1.0:
            zmax *= scale
        out[:, self.zones] = np.maximum(out[:, self.zones], zmax)


def _no_positions() -> I64:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class ZoneGrid:
    """The sensel order that makes every (zone, side) group of a layout contiguous.

    Only sensels on a body zone are gathered (one ``take`` per chunk); ``reduceat`` over the
    ~30 groups then gives per-zone maxima and sums and the client's left/right loads.

    Attributes
    ----------
    zone_names : tuple of str
        The zones judged on this grid (empty when the layout has no zones).
    order : ndarray [k]
        Flat positions of the sensels on a body zone, sorted by (zone, side).
    starts : ndarray [g]
        First position of each (zone, side) group within ``order``.
    left, right : ndarray
        The groups on the client's left and right side.
    zone_starts : ndarray
        First group of each zone present.
    zones_present : ndarray
        Zone index of each zone present.
    box_groups, raw_groups : ZoneGroups or None
        The pure 2 x 2 boxes per zone, and the single sensels of zones too narrow for a box.
    """

    zone_names: tuple[str, ...] = ()
    order: I64 = field(default_factory=_no_positions)
    starts: I64 = field(default_factory=_no_positions)
    left: I64 = field(default_factory=_no_positions)
    right: I64 = field(default_factory=_no_positions)
    zone_starts: I64 = field(default_factory=_no_positions)
    zones_present: I64 = field(default_factory=_no_positions)
    box_groups: ZoneGroups | None = None
    raw_groups: ZoneGroups | None = None

    @property
    def nz(self) -> int:
        """Number of zones judged (the width of the per-zone feature arrays)."""
        return len(self.zone_names)

    @classmethod
    def of(cls, layout: SensorLayout | None) -> ZoneGrid:
        """Precompute the groups of ``layout`` (an empty grid when there is none)."""
        lay = layout
        if lay is None:
            return cls()
        s = lay.rows * lay.cols
        cols_x = (
            np.asarray(lay.x_mm, dtype=np.float64)
            if lay.x_mm is not None
            else (np.arange(lay.cols) - (lay.cols - 1) / 2.0) * lay.pitch_mm
        )
        side_of_col = np.where(cols_x > 0, 2, np.where(cols_x < 0, 0, 1))
        side = np.broadcast_to(side_of_col[None, :], (lay.rows, lay.cols)).reshape(s)
        labels = lay.labels if lay.has_zones else None
        flat = (
            labels.astype(np.int64).reshape(s)
            if labels is not None
            else np.full(s, -1, dtype=np.int64)
        )
        key = np.where(flat >= 0, (flat + 1) * 3 + side, -1)
        order = np.flatnonzero(key >= 0)
        order = order[np.argsort(key[order], kind="stable")].astype(np.int64)
        sk = key[order]
        starts = (
            np.flatnonzero(np.concatenate([[True], np.diff(sk) != 0])).astype(np.int64)
            if sk.size
            else np.zeros(0, dtype=np.int64)
        )
        gkey = sk[starts]
        gzone = gkey // 3 - 1
        zfirst = (
            np.flatnonzero(np.concatenate([[True], np.diff(gzone) != 0]))
            if gzone.size
            else np.zeros(0, dtype=np.int64)
        )
        groups = cls(
            order=order,
            starts=starts,
            left=np.flatnonzero(gkey % 3 == 2),
            right=np.flatnonzero(gkey % 3 == 0),
            zone_starts=zfirst.astype(np.int64),  # first group of each zone
            zones_present=gzone[zfirst].astype(np.int64),
        )
        if labels is None:
            return groups
        nz = len(lay.zone_names)
        lab = labels.astype(np.int64)
        if lay.rows >= 2 and lay.cols >= 2:
            tl, tr = lab[:-1, :-1], lab[:-1, 1:]
            bl, br = lab[1:, :-1], lab[1:, 1:]
            pure = (tl == tr) & (tl == bl) & (tl == br) & (tl >= 0)
            box_lab = np.where(pure, tl, -1).reshape(-1)
        else:
            box_lab = np.full(0, -1, dtype=np.int64)
        box_groups = ZoneGroups.of(box_lab)
        have_box = np.zeros(nz, dtype=bool)
        have_box[box_lab[box_lab >= 0]] = True
        narrow = np.flatnonzero(~have_box)
        raw = flat.copy()
        raw[~np.isin(raw, narrow)] = -1
        raw_groups = ZoneGroups.of(raw) if (raw >= 0).any() else None
        return replace(
            groups, zone_names=lay.zone_names, box_groups=box_groups, raw_groups=raw_groups
        )
