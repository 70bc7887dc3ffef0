"""The alarm conditions: one channel per zone and kind, load, symmetry and sensor faults.

:class:`Conditions` builds the channels from the limits and turns a chunk's features into one
value per frame and channel (compared with the channel's ``on`` and ``off`` thresholds by the
state machine); :func:`check_frame_times` finds frames out of time order and signal gaps.

Notes
-----
An alarm clears when its value falls below ``limit * (1 - hysteresis)``, so noise around the
limit does not chatter. The load rate is measured over ``shift_window_s`` from a carried
history, so it does not depend on how frames are chunked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ashiguard.domain.alarms.arrays import F64, BoolA
from ashiguard.domain.alarms.config import AlarmConfig
from ashiguard.domain.alarms.features import ChunkFeatures
from ashiguard.domain.alarms.tissue import TissueLoad
from ashiguard.domain.zone_names import ENDANGERMENT_ZONE_SLUGS

__all__ = ["Channel", "Conditions", "DiscreteFault", "check_frame_times"]


@dataclass(frozen=True)
class Channel:
    """One condition: raised while its value is over ``on``, cleared below ``off``."""

    kind: str
    priority: str
    zone: str | None
    unit: str
    rule: str
    on: float  # raise when value > on
    off: float  # clear when value < off
    source: str
    delay: float = math.nan  # condition delay, s (NaN: the config's condition_delay_s)
    depth_mm: float | None = None  # depth_stress: the depth judged, mm


@dataclass(frozen=True)
class DiscreteFault:
    """A sensor fault of one moment (time going backwards, a gap between frames)."""

    t0: float
    t1: float
    rule: str
    value: float
    limit: float
    unit: str
    detail: str


def check_frame_times(
    t: F64, last_t: float | None, max_frame_gap_s: float
) -> tuple[BoolA, list[DiscreteFault]]:
    """Frames later than every earlier one; gaps and backwards time as faults.

    Parameters
    ----------
    t : ndarray [n], s
        The chunk's frame times.
    last_t : float or None, s
        Time of the last frame kept before this chunk.
    max_frame_gap_s : float, s
        No frame for longer than this is a fault.

    Returns
    -------
    keep : ndarray of bool [n]
        The frames to keep.
    faults : list of DiscreteFault
        Backwards times first, then gaps, each in frame order.
    """
    faults: list[DiscreteFault] = []
    prev = -math.inf if last_t is None else last_t
    if t.size == 1 and t[0] > prev and t[0] - prev <= max_frame_gap_s:
        return np.ones(1, dtype=bool), faults  # the live path: one frame, in order, no gap
    running = np.maximum.accumulate(np.concatenate([[prev], t]))[:-1]
    keep: BoolA = t > running
    for i in np.flatnonzero(~keep):
        faults.append(
            DiscreteFault(
                float(running[i]),
                float(running[i]),
                "sensor_fault:time_backwards",
                float(running[i] - t[i]),
                0.0,
                "s",
                "frame time not after the previous frame",
            )
        )
    tk = t[keep]
    prev_t = np.concatenate([[prev], tk[:-1]])
    gaps = tk - prev_t
    for i in np.flatnonzero(gaps > max_frame_gap_s):
        if math.isfinite(prev_t[i]):
            faults.append(
                DiscreteFault(
                    float(prev_t[i]),
                    float(tk[i]),
                    "sensor_fault:frame_gap",
                    float(gaps[i]),
                    max_frame_gap_s,
                    "s",
                    "no frame for longer than allowed",
                )
            )
    return keep, faults


class Conditions:
    """The channels an engine watches and their values per frame.

    Parameters
    ----------
    zone_names : tuple of str
        The zones judged (one pressure and one restricted-zone channel each).
    config : AlarmConfig
        Limits and their sources.
    weight_n : float, N
        The therapist's weight; the load limits are shares of it.
    load_source, symmetry_source : str or None
        Whether (and from what) load and symmetry are judged; named in the channel's rule.
    has_grid : bool
        Whether there is a pressure grid (then the five sensor-fault channels exist).
    depth_zones, depths_mm : tuple
        The zones whose ``depth_stress`` is judged and the depth of each, mm.
    sensel_area_mm2 : float, mm²
        Area of one sensel (the force on a zone for ``dwell_time``).

    Attributes
    ----------
    channels : list of Channel
        Zone pressure, restricted zones, load and load rate, symmetry, dwell time, zone dose,
        depth stress, sensor faults.
    first_load, first_fault : int
        Index of the first load channel and of the first sensor-fault channel.
    on, off : ndarray [channels]
        Raise and clear thresholds.
    delays : list of float, s
        Condition delay of each channel.
    zone_threshold : ndarray [nz], kPa
        Per zone, the lowest clearing threshold of its channels.
    """

    def __init__(
        self,
        zone_names: tuple[str, ...],
        config: AlarmConfig,
        weight_n: float,
        *,
        load_source: str | None,
        symmetry_source: str | None,
        has_grid: bool,
        depth_zones: tuple[str, ...] = (),
        depths_mm: tuple[float, ...] = (),
        sensel_area_mm2: float = 0.0,
    ) -> None:
        self.zone_names = zone_names
        self.depth_zones = depth_zones
        self.depths_mm = depths_mm
        self._tissue = TissueLoad(len(zone_names), config, sensel_area_mm2)
        self.config = config
        self.weight_n = weight_n
        self.load_source = load_source
        self.symmetry_source = symmetry_source
        self.has_grid = has_grid
        self.channels = self._make_channels()
        self.on = np.array([c.on for c in self.channels])
        self.off = np.array([c.off for c in self.channels])
        self.delays = [
            config.condition_delay_s if math.isnan(ch.delay) else ch.delay for ch in self.channels
        ]
        thr = np.full(len(zone_names), np.inf)
        for ch in self.channels:
            if ch.unit == "kPa" and ch.depth_mm is None and ch.zone in zone_names:
                assert ch.zone is not None
                zi = zone_names.index(ch.zone)
                thr[zi] = min(thr[zi], ch.off)
        self.zone_threshold: F64 = thr
        self._load_hist_t: F64 = np.zeros(0)
        self._load_hist_v: F64 = np.zeros(0)

    def _make_channels(self) -> list[Channel]:
        cfg = self.config
        hy = 1.0 - cfg.hysteresis
        chans: list[Channel] = []
        for z in self.zone_names:
            lim = cfg.zone_limit(z)
            if z.startswith("spine_") or z == "sacrum":
                kind, prio = "spine_pressure", "high"
            elif z.startswith("kidney_"):
                kind, prio = "kidney_pressure", "high"
            else:
                kind = "zone_pressure"
                prio = "high" if z in ENDANGERMENT_ZONE_SLUGS else "medium"
            chans.append(
                Channel(kind, prio, z, "kPa", f"{kind}:{z}", lim, lim * hy, cfg.source_of(z))
            )
        for z in self.zone_names:
            on = cfg.contact_kpa if z in cfg.avoid_zones else math.inf
            chans.append(
                Channel(
                    "restricted_zone",
                    "high",
                    z,
                    "kPa",
                    f"restricted_zone:{z}",
                    on,
                    on * hy,
                    cfg.source_of(f"avoid:{z}"),
                )
            )
        self.first_load = len(chans)
        w = self.weight_n
        if self.load_source is not None:
            lim = cfg.max_load_fraction * w
            chans.append(
                Channel(
                    "unsupported_weight",
                    "high",
                    None,
                    "N",
                    f"unsupported_weight:{self.load_source}",
                    lim,
                    lim * hy,
                    cfg.source_of("max_load_fraction"),
                )
            )
            rate = cfg.max_rate_fraction_per_s * w
            chans.append(
                Channel(
                    "sudden_shift",
                    "medium",
                    None,
                    "N/s",
                    f"sudden_shift:{self.load_source}",
                    rate,
                    rate * hy,
                    cfg.source_of("max_rate_fraction_per_s"),
                )
            )
        if self.symmetry_source is not None:
            a = cfg.max_asymmetry
            chans.append(
                Channel(
                    "uneven_load",
                    "low",
                    None,
                    "ratio",
                    f"uneven_load:{self.symmetry_source}",
                    a,
                    a * hy,
                    cfg.source_of("max_asymmetry"),
                    cfg.uneven_delay_s,
                )
            )
        self.first_tissue = len(chans)
        chans.extend(self._tissue_channels())
        self.first_fault = len(chans)
        if self.has_grid:
            tol, sat = cfg.negative_tolerance_kpa, cfg.saturation_kpa
            for rule, on, off, unit in (
                ("sensor_fault:nan", 0.0, 0.5, "sensels"),
                ("sensor_fault:negative", tol, tol / 2, "kPa"),
                ("sensor_fault:saturated", sat * (1 - 1e-6), sat * hy, "kPa"),
                ("sensor_fault:stale", cfg.stale_s, cfg.stale_s / 2, "s"),
                ("sensor_fault:dead_sensel", 0.0, 0.5, "sensels"),
            ):
                chans.append(
                    Channel("sensor_fault", "medium", None, unit, rule, on, off, "default")
                )
        return chans

    def _tissue_channels(self) -> list[Channel]:
        """``dwell_time`` and ``zone_dose`` per zone, ``depth_stress`` per depth zone."""
        cfg = self.config
        hy = 1.0 - cfg.hysteresis
        chans: list[Channel] = []
        for kind, unit, limit, key in (
            ("dwell_time", "s", cfg.dwell_limit, "dwell"),
            ("zone_dose", "kPa*s", cfg.dose_limit, "dose"),
        ):
            for z in self.zone_names:
                lim = limit(z)
                prio = "high" if z in ENDANGERMENT_ZONE_SLUGS else "medium"
                src = cfg.source_of(f"{key}:{z}")
                chans.append(Channel(kind, prio, z, unit, f"{kind}:{z}", lim, lim * hy, src))
        for z, depth in zip(self.depth_zones, self.depths_mm, strict=True):
            lim = cfg.depth_limit(z)
            chans.append(
                Channel(
                    "depth_stress",
                    "high",
                    z,
                    "kPa",
                    f"depth_stress:{z}@{depth:g}mm",
                    lim,
                    lim * hy,
                    cfg.source_of(f"depth:{z}"),
                    depth_mm=depth,
                )
            )
        return chans

    @property
    def zone_dose(self) -> F64:
        """The current pressure-time dose per zone, kPa*s (a copy)."""
        return self._tissue.dose.copy()

    @property
    def saturation_on(self) -> float:
        """Pressure (kPa) at which a sensel reads saturated (inf when there is no grid)."""
        return self.channels[self.first_fault + 2].on if self.has_grid else math.inf

    def values(self, f: ChunkFeatures, faults: F64) -> F64:
        """Each channel's value in each frame ``[n, channels]`` (NaN: not judged).

        Updates the load-rate history, so call it once per chunk, in time order.
        """
        n = f.times.shape[0]
        out = np.empty((n, len(self.channels)))
        c = 0
        nz = len(self.zone_names)
        if nz:
            out[:, :nz] = f.zone_peak_kpa
            out[:, nz : 2 * nz] = out[:, :nz]
            c = 2 * nz
        if self.load_source is not None:
            out[:, c] = f.load_n
            out[:, c + 1] = self._rate(f.times, f.load_n)
            c += 2
        if self.symmetry_source is not None:
            judge_n = self.config.min_symmetry_load_fraction * self.weight_n
            if n == 1:  # the live path: the same IEEE arithmetic on Python floats
                left, right = float(f.left_n[0]), float(f.right_n[0])
                tot1 = left + right
                if tot1 > judge_n:
                    out[0, c] = abs(left - right) / tot1
                else:
                    out[0, c] = 0.0 if math.isfinite(tot1) else math.nan
            else:
                tot = f.left_n + f.right_n
                with np.errstate(invalid="ignore", divide="ignore"):
                    asym = np.abs(f.left_n - f.right_n) / tot
                judged = tot > judge_n
                out[:, c] = np.where(judged, asym, np.where(np.isfinite(tot), 0.0, np.nan))
            c += 1
        if nz:
            dwell, dose = self._tissue.values(f.times, f.zone_sum_kpa, f.zone_raw_max_kpa)
            out[:, c : c + nz] = dwell
            out[:, c + nz : c + 2 * nz] = dose
            c += 2 * nz
        nd = len(self.depth_zones)
        if nd:
            if f.depth_kpa.shape == (n, nd):
                out[:, c : c + nd] = f.depth_kpa
            else:
                out[:, c : c + nd] = np.nan
            c += nd
        if self.has_grid:
            out[:, c : c + 5] = faults
            c += 5
        assert c == out.shape[1]
        return out

    def _rate(self, times: F64, load: F64) -> F64:
        """|d load / dt| in N/s over ``shift_window_s``, from a carried history.

        The history keeps every finite sample of the last two windows plus the one before,
        so interpolation at ``t - window`` sees the same neighbours however frames are chunked.
        """
        win = self.config.shift_window_s
        if times.shape[0] == 1:  # the live path: the same arithmetic on one frame
            return self._rate1(float(times[0]), float(load[0]), win)
        ok = np.isfinite(load)
        t_ok = np.concatenate([self._load_hist_t, times[ok]])
        v_ok = np.concatenate([self._load_hist_v, load[ok]])
        rate = np.zeros(times.shape[0])
        if t_ok.size >= 2:
            back = np.interp(times - win, t_ok, v_ok)
            have = (times - win) >= t_ok[0]
            rate = np.where(have & ok, np.abs(load - back) / win, 0.0)
        if t_ok.size:
            first = max(int(np.searchsorted(t_ok, t_ok[-1] - 2 * win, side="right")) - 1, 0)
            self._load_hist_t = t_ok[first:]
            self._load_hist_v = v_ok[first:]
        return rate

    def _rate1(self, t: float, load: float, win: float) -> F64:
        """:meth:`_rate` for a single frame (same interpolation, same history)."""
        ok = math.isfinite(load)
        t_ok, v_ok = self._load_hist_t, self._load_hist_v
        if ok:
            t_ok = np.append(t_ok, t)
            v_ok = np.append(v_ok, load)
        rate = 0.0
        if t_ok.size >= 2 and ok and t - win >= t_ok[0]:
            back = float(np.interp(t - win, t_ok, v_ok))
            rate = abs(load - back) / win
        if t_ok.size:
            first = max(int(t_ok.searchsorted(t_ok[-1] - 2 * win, side="right")) - 1, 0)
            self._load_hist_t = t_ok[first:]
            self._load_hist_v = v_ok[first:]
        return np.array([rate])
