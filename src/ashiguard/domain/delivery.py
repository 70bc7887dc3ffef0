"""Planned vs delivered: how much of each zone's loaded time stayed in the plan's pressure band.

The session plan (:mod:`ashiguard.domain.plan`) gives each zone to be worked a band of mean
contact pressure (:func:`~ashiguard.domain.plan.target_band`). A recording's frames say what
was delivered. Per frame and zone the *zone pressure* is the mean of the zone's loaded sensels
(reading above :data:`~ashiguard.domain.live_view.CONTACT_KPA`), and the zone counts as loaded
when at least :data:`~ashiguard.domain.live_view.MIN_CONTACT_SENSELS` of its sensels are: the
same definition as the live view's under / on / over indicator
(:class:`~ashiguard.domain.live_view.DeliveryMeter`), so the review and the live page agree.

:class:`DeliveryAccumulator` takes the frames chunk by chunk (one pass, memory of one chunk,
any chunking gives the same result) and returns per zone the time loaded, in band, under and
over, the peak and the time-weighted mean of the zone pressure, and a delivery score
(:func:`delivery_score`).

Notes
-----
- Each frame is weighted by the time since the previous frame, capped at ``max_gap_s``
  (0.2 s, the alarm engine's ``max_frame_gap_s``), as the analysis weights its zone dose: a
  signal gap never counts as delivered time. The first frame weighs 0.
- Zones the plan says not to work (endangerment zones, avoided zones, level 0) have no band:
  their loaded time is reported (``planned=False``) but they have no score and do not enter
  the session score; contact there is the alarm engine's business (spine, kidney, restricted
  zone alarms), not a question of dose.
- A planned zone that was never loaded has no score: the plan says what a zone *may* receive,
  it does not prescribe that every zone be worked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ashiguard.domain.errors import InputError
from ashiguard.domain.live_messages import ZoneTarget
from ashiguard.domain.live_view import CONTACT_KPA, MIN_CONTACT_SENSELS
from ashiguard.domain.plan import SessionPlan, target_band

__all__ = [
    "MAX_GAP_S",
    "OVER_PENALTY",
    "UNDER_CREDIT",
    "DeliveredZone",
    "Delivery",
    "DeliveryAccumulator",
    "delivery_score",
    "measure_delivery",
    "plan_bands",
    "zone_pressures",
]

MAX_GAP_S = 0.2
"""Largest time weight of one frame, s (the alarm engine's default ``max_frame_gap_s``)."""

UNDER_CREDIT = 0.5
"""Credit of a second under the band in the delivery score (a second in band earns 1)."""

OVER_PENALTY = 1.0
"""What a second over the band takes away from the delivery score (a second in band earns 1)."""


def delivery_score(in_band_s: float, under_s: float, over_s: float) -> float | None:
    """Delivery score 0-100 of loaded time split into in band, under and over, s.

    ``100 x (in + 0.5 under - 1.0 over) / (in + under + over)``, clipped to 0-100; None when
    nothing was loaded. All in band scores 100, all under 50, all over 0; each second over
    cancels a second in band, so time over costs four times as much as time under (under the
    plan is safe but less than planned; over the plan is what the plan is there to prevent).
    """
    for name, v in (("in_band_s", in_band_s), ("under_s", under_s), ("over_s", over_s)):
        if not (math.isfinite(v) and v >= 0):
            raise InputError(f"{name}: must be a finite time >= 0 s, got {v!r}")
    loaded = in_band_s + under_s + over_s
    if loaded <= 0:
        return None
    raw = (in_band_s + UNDER_CREDIT * under_s - OVER_PENALTY * over_s) / loaded
    return 100.0 * min(1.0, max(0.0, raw))


def plan_bands(plan: SessionPlan) -> tuple[ZoneTarget, ...]:
    """The target band of each zone the plan allows to be worked (level > 0), plan order."""
    out = []
    for z in plan.zones:
        band = target_band(z)
        if band is not None:
            out.append(ZoneTarget(z.zone, z.level, z.technique, band[0], band[1]))
    return tuple(out)


@dataclass(frozen=True)
class DeliveredZone:
    """One zone, planned vs delivered.

    Attributes
    ----------
    zone : str
        Contract zone slug.
    planned : bool
        Whether the plan gives this zone a band (False: not to be worked).
    level : int
        Planned level 0-5.
    technique : str
        Planned technique (``none`` when not planned).
    low_kpa, high_kpa : float or None, kPa
        The band of mean contact pressure (None when not planned).
    loaded_s, in_band_s, under_s, over_s : float, s
        Time the zone was loaded, and its split in band, under and over the band (for a
        zone not planned, ``in_band_s = under_s = over_s = 0``).
    peak_kpa, mean_kpa : float or None, kPa
        Largest and time-weighted mean zone pressure while loaded (None: never loaded).
    score : float or None
        :func:`delivery_score` (None: not planned or never loaded).
    """

    zone: str
    planned: bool
    level: int
    technique: str
    low_kpa: float | None
    high_kpa: float | None
    loaded_s: float
    in_band_s: float
    under_s: float
    over_s: float
    peak_kpa: float | None
    mean_kpa: float | None
    score: float | None

    def to_json(self) -> dict[str, Any]:
        """The zone as JSON (times to 0.01 s, pressures and score to 0.1)."""

        def r(v: float | None, nd: int = 1) -> float | None:
            return None if v is None else round(v, nd)

        return {
            "zone": self.zone,
            "planned": self.planned,
            "level": self.level,
            "technique": self.technique,
            "low_kpa": r(self.low_kpa),
            "high_kpa": r(self.high_kpa),
            "loaded_s": round(self.loaded_s, 2),
            "in_band_s": round(self.in_band_s, 2),
            "under_s": round(self.under_s, 2),
            "over_s": round(self.over_s, 2),
            "peak_kpa": r(self.peak_kpa),
            "mean_kpa": r(self.mean_kpa),
            "score": r(self.score),
        }


@dataclass(frozen=True)
class Delivery:
    """Planned vs delivered for a whole recording.

    ``zones`` holds every planned zone (loaded or not) and every zone not planned that was
    loaded, in contract order. ``score`` is the session's delivery score over the planned zones'
    loaded time (None when no planned zone was loaded); ``unplanned_s`` the loaded time summed
    over zones not to be worked.
    """

    zones: tuple[DeliveredZone, ...]
    score: float | None
    loaded_s: float
    in_band_s: float
    under_s: float
    over_s: float
    unplanned_s: float
    frames: int
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "score": None if self.score is None else round(self.score, 1),
            "loaded_s": round(self.loaded_s, 2),
            "in_band_s": round(self.in_band_s, 2),
            "under_s": round(self.under_s, 2),
            "over_s": round(self.over_s, 2),
            "unplanned_s": round(self.unplanned_s, 2),
            "frames": self.frames,
            "duration_s": round(self.duration_s, 3),
            "zones": [z.to_json() for z in self.zones],
        }


class _Sums:
    """Per-zone sums over the frames, by zone index of the raster."""

    def __init__(self, n: int) -> None:
        self.loaded = np.zeros(n)
        self.in_band = np.zeros(n)
        self.under = np.zeros(n)
        self.over = np.zeros(n)
        self.p_dt = np.zeros(n)  # integral of the zone pressure over loaded time, kPa*s
        self.peak = np.full(n, -np.inf)


class DeliveryAccumulator:
    """Planned vs delivered, one chunk of frames at a time (see the module notes).

    Parameters
    ----------
    labels : int array [rows, cols]
        Zone index of each sensel (into ``zone_names``), -1 off the body; e.g.
        ``ZoneMap.rasterize(grid).labels``.
    zone_names : sequence of str
        The zone slug of each label (``ZONES``).
    bands : sequence of ZoneTarget
        The plan's bands (:func:`plan_bands`); zones without one are not planned.
    max_gap_s : float, s
        Largest time weight of one frame.
    """

    def __init__(
        self,
        labels: npt.ArrayLike,
        zone_names: Sequence[str],
        bands: Sequence[ZoneTarget],
        max_gap_s: float = MAX_GAP_S,
    ) -> None:
        lab = np.asarray(labels)
        if lab.ndim != 2:
            raise InputError(f"labels: must be [rows, cols], got shape {lab.shape}")
        if not (math.isfinite(max_gap_s) and max_gap_s > 0):
            raise InputError(f"max_gap_s: must be > 0 s, got {max_gap_s!r}")
        self.shape = (int(lab.shape[0]), int(lab.shape[1]))
        self.zone_names = tuple(zone_names)
        self.max_gap_s = float(max_gap_s)
        by_zone = {b.zone: b for b in bands}
        unknown = sorted(set(by_zone) - set(self.zone_names))
        if unknown:
            raise InputError(f"bands: unknown zone(s) {', '.join(unknown)}")
        flat = lab.ravel().astype(np.int64)
        present = sorted(int(i) for i in np.unique(flat) if i >= 0)
        if present and present[-1] >= len(self.zone_names):
            raise InputError(f"labels: index {present[-1]} beyond the {len(zone_names)} zones")
        # zones as contiguous runs of sensels: one gather, then one reduceat per chunk
        order = np.argsort(flat, kind="stable")
        sorted_labels = flat[order]
        keep = sorted_labels >= 0
        self._order = order[keep]
        starts = np.flatnonzero(np.r_[True, np.diff(sorted_labels[keep]) != 0])
        self._starts = starts
        self._zones = [int(sorted_labels[keep][s]) for s in starts] if self._order.size else []
        n = len(self._zones)
        self._low = np.full(n, np.nan)
        self._high = np.full(n, np.nan)
        self._bands: list[ZoneTarget | None] = []
        for j, zi in enumerate(self._zones):
            band = by_zone.get(self.zone_names[zi])
            self._bands.append(band)
            if band is not None:
                self._low[j], self._high[j] = band.low_kpa, band.high_kpa
        self._planned = ~np.isnan(self._low)
        self._missing = [b for b in bands if zone_names.index(b.zone) not in set(self._zones)]
        self._sums = _Sums(n)
        self._last_t: float | None = None
        self._first_t: float | None = None
        self.frames = 0

    def zone_means(
        self, pressure: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        """Zone pressure [k, zones] (mean of the loaded sensels, kPa; 0 where not loaded) and
        whether each zone is loaded [k, zones], for frames [k, rows, cols] (NaN: no reading).
        Columns follow :attr:`raster_zones`."""
        p = np.asarray(pressure, dtype=np.float64)
        if p.ndim == 2:
            p = p[None]
        if p.ndim != 3 or p.shape[1:] != self.shape:
            raise InputError(f"pressure: must be [k, {self.shape[0]}, {self.shape[1]}] frames")
        k = p.shape[0]
        if not self._zones:
            return np.zeros((k, 0)), np.zeros((k, 0), dtype=bool)
        cells = p.reshape(k, -1)[:, self._order]
        contact = cells > CONTACT_KPA  # NaN compares False: not in contact
        counts = np.add.reduceat(contact, self._starts, axis=1)
        sums = np.add.reduceat(np.where(contact, cells, 0.0), self._starts, axis=1)
        loaded = counts >= MIN_CONTACT_SENSELS
        means = np.divide(sums, counts, out=np.zeros_like(sums), where=loaded)
        return means, loaded

    @property
    def raster_zones(self) -> tuple[str, ...]:
        """The slugs of the zones present in the raster, in the column order of
        :meth:`zone_means`."""
        return tuple(self.zone_names[i] for i in self._zones)

    def add(self, times: npt.ArrayLike, pressure: npt.ArrayLike) -> None:
        """Take the next chunk: ``times`` [k] s (increasing), ``pressure`` [k, rows, cols] kPa."""
        t = np.asarray(times, dtype=np.float64).ravel()
        if t.size == 0:
            return
        if not np.isfinite(t).all():
            raise InputError("times: must be finite")
        prev = np.concatenate([[t[0] if self._last_t is None else self._last_t], t[:-1]])
        step = t - prev
        if (step < 0).any():
            raise InputError("times: must not decrease")
        means, loaded = self.zone_means(pressure)
        if means.shape[0] != t.size:
            raise InputError(f"pressure: {means.shape[0]} frames for {t.size} times")
        dt = np.minimum(step, self.max_gap_s)
        if self._first_t is None:
            self._first_t = float(t[0])
        self._last_t = float(t[-1])
        self.frames += int(t.size)
        if not self._zones:
            return
        s = self._sums
        w = loaded * dt[:, None]  # time weight of each (frame, zone), 0 where not loaded
        s.loaded += w.sum(axis=0)
        s.p_dt += (w * means).sum(axis=0)
        s.peak = np.maximum(s.peak, np.where(loaded, means, -np.inf).max(axis=0))
        with np.errstate(invalid="ignore"):
            under = means < self._low  # NaN band (not planned): False
            over = means > self._high
        s.under += (w * under).sum(axis=0)
        s.over += (w * over).sum(axis=0)
        s.in_band += (w * (self._planned & ~under & ~over)).sum(axis=0)

    def result(self) -> Delivery:
        """Planned vs delivered of the frames so far."""
        s = self._sums
        zones: list[DeliveredZone] = []
        for j, zi in enumerate(self._zones):
            band = self._bands[j]
            loaded = float(s.loaded[j])
            if band is None and loaded <= 0:
                continue
            seen = loaded > 0 and math.isfinite(s.peak[j])
            zones.append(
                DeliveredZone(
                    zone=self.zone_names[zi],
                    planned=band is not None,
                    level=0 if band is None else band.level,
                    technique="none" if band is None else band.technique,
                    low_kpa=None if band is None else band.low_kpa,
                    high_kpa=None if band is None else band.high_kpa,
                    loaded_s=loaded,
                    in_band_s=float(s.in_band[j]),
                    under_s=float(s.under[j]),
                    over_s=float(s.over[j]),
                    peak_kpa=float(s.peak[j]) if seen else None,
                    mean_kpa=float(s.p_dt[j] / loaded) if seen else None,
                    score=None
                    if band is None
                    else delivery_score(float(s.in_band[j]), float(s.under[j]), float(s.over[j])),
                )
            )
        for band in self._missing:  # planned zones that are off the sensor
            zones.append(
                DeliveredZone(
                    zone=band.zone,
                    planned=True,
                    level=band.level,
                    technique=band.technique,
                    low_kpa=band.low_kpa,
                    high_kpa=band.high_kpa,
                    loaded_s=0.0,
                    in_band_s=0.0,
                    under_s=0.0,
                    over_s=0.0,
                    peak_kpa=None,
                    mean_kpa=None,
                    score=None,
                )
            )
        order = {z: i for i, z in enumerate(self.zone_names)}
        zones.sort(key=lambda z: order[z.zone])
        planned = [z for z in zones if z.planned]
        in_b = sum(z.in_band_s for z in planned)
        under = sum(z.under_s for z in planned)
        over = sum(z.over_s for z in planned)
        duration = (
            0.0 if self._first_t is None or self._last_t is None else self._last_t - self._first_t
        )
        return Delivery(
            zones=tuple(zones),
            score=delivery_score(in_b, under, over),
            loaded_s=in_b + under + over,
            in_band_s=in_b,
            under_s=under,
            over_s=over,
            unplanned_s=sum(z.loaded_s for z in zones if not z.planned),
            frames=self.frames,
            duration_s=duration,
        )


def measure_delivery(
    chunks: Iterable[tuple[npt.ArrayLike, npt.ArrayLike]],
    labels: npt.ArrayLike,
    zone_names: Sequence[str],
    bands: Sequence[ZoneTarget],
    max_gap_s: float = MAX_GAP_S,
) -> Delivery:
    """Planned vs delivered of ``(times s, pressure kPa [k, rows, cols])`` chunks, in one pass
    (see :class:`DeliveryAccumulator`)."""
    acc = DeliveryAccumulator(labels, zone_names, bands, max_gap_s)
    for times, pressure in chunks:
        acc.add(times, pressure)
    return acc.result()


def zone_pressures(
    frame: npt.ArrayLike, labels: npt.ArrayLike, zone_names: Sequence[str]
) -> dict[str, float]:
    """Zone pressure (mean of the loaded sensels, kPa) of every loaded zone in one frame
    [rows, cols], by slug: what a marker's moment is described with."""
    acc = DeliveryAccumulator(labels, zone_names, ())
    means, loaded = acc.zone_means(frame)
    return {z: float(means[0, j]) for j, z in enumerate(acc.raster_zones) if loaded[0, j]}
