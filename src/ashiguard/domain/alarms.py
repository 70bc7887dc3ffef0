"""The alarm engine: conditions, priorities, delays, hysteresis, latching and monitor state.

One code path serves the live monitor (chunks of one frame) and the offline analyzer (chunks
of hundreds of frames): :meth:`AlarmEngine.process` takes a chunk ``[n, rows, cols]`` of
pressure frames (kPa) with their times (s), computes every condition for all frames at once
with array kernels, and runs a small per-channel state machine only at the edges. All state is
carried from chunk to chunk, so the alarms of a recording do not depend on how it is chunked.

Notes
-----
Safety assumptions (see docs/monitor.md for the sources of the limits):

- A zone's pressure is the peak of the 2 x 2 neighbourhood mean over the sensels of that zone
  (a "pure" box: all four sensels in the zone), never one noisy sensel. A zone too narrow for
  a pure box on a coarse grid falls back to its single sensels.
- A condition must hold for ``condition_delay_s`` (default 0.1 s) before an alarm is raised;
  the episode's ``t_start`` is the first frame over the limit (the onset), ``t_raised`` the
  time the alarm was actually raised. An alarm clears when the value falls below
  ``limit * (1 - hysteresis)``, so noise around the limit does not chatter.
- High-priority alarms latch: they stay in the active list after the condition ends until
  acknowledged. The monitor state is ``unknown`` while any sensor fault is active or before
  the first frame, never ``ok``.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ashiguard.domain.errors import InputError
from ashiguard.domain.zone_names import ENDANGERMENT_ZONE_SLUGS, ZONE_SLUGS

__all__ = [
    "DEFAULT_ZONE_LIMITS_KPA",
    "KINDS",
    "PRIORITIES",
    "ActiveAlarm",
    "AlarmConfig",
    "AlarmEngine",
    "AlarmEvent",
    "Alert",
    "ChunkFeatures",
    "MonitorState",
    "SensorLayout",
    "parse_alarm_config",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BoolA = npt.NDArray[np.bool_]

KINDS: tuple[str, ...] = (
    "spine_pressure",
    "kidney_pressure",
    "zone_pressure",
    "restricted_zone",
    "unsupported_weight",
    "sudden_shift",
    "uneven_load",
    "sensor_fault",
)
PRIORITIES: tuple[str, ...] = ("high", "medium", "low")
MonitorState = Literal["ok", "alarm", "unknown"]

G = 9.80665  # m/s^2, standard gravity

# Default per-zone limits on the 2x2 neighbourhood peak, kPa (sources in docs/monitor.md):
# bony midline and renal/popliteal/neck endangerment sites far below the paraspinal muscles.
DEFAULT_ZONE_LIMITS_KPA: Mapping[str, float] = {
    "spine_cervical": 30.0,
    "spine_thoracic": 60.0,
    "spine_lumbar": 60.0,
    "sacrum": 60.0,
    "erector_thoracic_left": 150.0,
    "erector_thoracic_right": 150.0,
    "erector_lumbar_left": 150.0,
    "erector_lumbar_right": 150.0,
    "kidney_left": 40.0,
    "kidney_right": 40.0,
    "scapular_left": 120.0,
    "scapular_right": 120.0,
    "upper_trapezius_left": 100.0,
    "upper_trapezius_right": 100.0,
    "neck": 30.0,
    "gluteal_left": 200.0,
    "gluteal_right": 200.0,
    "hamstring_left": 150.0,
    "hamstring_right": 150.0,
    "popliteal_left": 20.0,
    "popliteal_right": 20.0,
    "calf_left": 100.0,
    "calf_right": 100.0,
}


@dataclass(frozen=True)
class AlarmConfig:
    """Limits and alarm behaviour; defaults documented in docs/monitor.md.

    Parameters
    ----------
    zone_limits_kpa : mapping of zone slug to kPa
        Limit on each zone's 2x2 neighbourhood peak pressure.
    avoid_zones : frozenset of str
        Zones where any contact (peak over ``contact_kpa``) is a ``restricted_zone`` alarm.
    contact_kpa : float, kPa
        Pressure that counts as contact.
    max_load_fraction : float
        Allowed load on the client as a share of the therapist's body weight.
    max_rate_fraction_per_s : float, 1/s
        Allowed change of that load per second, as a share of the therapist's weight.
    shift_window_s : float, s
        Window of the load-rate estimate (load now minus load ``shift_window_s`` ago).
    max_asymmetry : float
        Allowed left/right asymmetry ``|L - R| / (L + R)``.
    min_symmetry_load_fraction : float
        Below this share of the therapist's weight the symmetry is not judged.
    condition_delay_s : float, s
        How long a condition must hold before its alarm is raised.
    uneven_delay_s : float, s
        Condition delay of ``uneven_load``: stepping and one-foot strokes shift the load to one
        side for a moment; only a sustained imbalance is a condition.
    hysteresis : float
        An alarm clears below ``limit * (1 - hysteresis)``.
    max_frame_gap_s : float, s
        No frame for longer than this is a ``sensor_fault`` (signal lost).
    stale_s : float, s
        Identical frames for longer than this while loaded are a ``sensor_fault``.
    saturation_kpa : float, kPa
        A sensel at or above this reads saturated.
    negative_tolerance_kpa : float, kPa
        Values below ``-negative_tolerance_kpa`` are a fault.
    dead_neighbour_kpa : float, kPa
        A sensel reading 0 (or NaN) between two neighbours that both read above this (above
        and below, or left and right) is dead: a hole in a loaded area, e.g. a dead row.
    """

    zone_limits_kpa: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_ZONE_LIMITS_KPA)
    )
    avoid_zones: frozenset[str] = frozenset()
    contact_kpa: float = 5.0
    max_load_fraction: float = 0.6
    max_rate_fraction_per_s: float = 1.5
    shift_window_s: float = 0.2
    max_asymmetry: float = 0.5
    min_symmetry_load_fraction: float = 0.15
    condition_delay_s: float = 0.1
    uneven_delay_s: float = 1.0
    hysteresis: float = 0.1
    max_frame_gap_s: float = 0.2
    stale_s: float = 2.0
    saturation_kpa: float = 1000.0
    negative_tolerance_kpa: float = 0.5
    dead_neighbour_kpa: float = 30.0
    sources: Mapping[str, str] = field(default_factory=dict)

    def zone_limit(self, zone: str) -> float:
        """The pressure limit of ``zone`` in kPa (inf when the zone has none)."""
        return float(self.zone_limits_kpa.get(zone, math.inf))

    def tightened(
        self,
        avoid_zones: Iterable[str] = (),
        max_load_fraction: float | None = None,
        max_pressure_kpa: float | None = None,
        source: str = "screening",
    ) -> AlarmConfig:
        """A copy tightened by a screening's restrictions (never loosened).

        Parameters
        ----------
        avoid_zones : iterable of str
            Zones to avoid entirely.
        max_load_fraction : float or None
            Cap on the load share; the smaller of this and the current cap wins.
        max_pressure_kpa : float or None, kPa
            Cap on every zone limit.
        source : str
            Named in each alarm's ``source`` field for the limits it changed.
        """
        limits = dict(self.zone_limits_kpa)
        sources = dict(self.sources)
        if max_pressure_kpa is not None:
            for z, lim in limits.items():
                if max_pressure_kpa < lim:
                    limits[z] = float(max_pressure_kpa)
                    sources[z] = source
        frac = self.max_load_fraction
        if max_load_fraction is not None and max_load_fraction < frac:
            frac = float(max_load_fraction)
            sources["max_load_fraction"] = source
        avoid = frozenset(self.avoid_zones | frozenset(avoid_zones))
        for z in avoid - self.avoid_zones:
            sources[f"avoid:{z}"] = source
        return replace(
            self,
            zone_limits_kpa=limits,
            avoid_zones=avoid,
            max_load_fraction=frac,
            sources=sources,
        )

    def source_of(self, key: str) -> str:
        """Where a limit came from: ``default``, ``config`` or ``screening``."""
        return self.sources.get(key, "default")


_SCALARS: tuple[str, ...] = (
    "contact_kpa",
    "max_load_fraction",
    "max_rate_fraction_per_s",
    "shift_window_s",
    "max_asymmetry",
    "min_symmetry_load_fraction",
    "condition_delay_s",
    "uneven_delay_s",
    "hysteresis",
    "max_frame_gap_s",
    "stale_s",
    "saturation_kpa",
    "negative_tolerance_kpa",
    "dead_neighbour_kpa",
)
_FRACTIONS = {"max_load_fraction", "max_asymmetry", "min_symmetry_load_fraction", "hysteresis"}


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out) or out <= 0:
        raise InputError(f"{where}: must be a positive finite number, got {value!r}")
    return out


def parse_alarm_config(text: str, base: AlarmConfig | None = None) -> AlarmConfig:
    """Parse a clinic's limits file (TOML) over ``base`` (the defaults when None).

    The file may hold a ``[zones]`` table (zone slug = limit in kPa), an ``avoid_zones`` list
    and any of the scalar settings of :class:`AlarmConfig` at top level.

    Raises
    ------
    InputError
        Naming the bad key or value (``zones.spine_lumbar: must be a positive ...``).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"limits file: not valid TOML: {exc}") from None
    cfg = base or AlarmConfig()
    limits = dict(cfg.zone_limits_kpa)
    sources = dict(cfg.sources)
    updates: dict[str, Any] = {}
    for key, value in data.items():
        if key == "zones":
            if not isinstance(value, dict):
                raise InputError("zones: must be a table of zone = kPa")
            for zone, lim in value.items():
                if zone not in ZONE_SLUGS:
                    raise InputError(f"zones.{zone}: unknown zone")
                limits[zone] = _number(lim, f"zones.{zone}")
                sources[zone] = "config"
        elif key == "avoid_zones":
            if not isinstance(value, list) or not all(isinstance(z, str) for z in value):
                raise InputError("avoid_zones: must be a list of zone slugs")
            for z in value:
                if z not in ZONE_SLUGS:
                    raise InputError(f"avoid_zones: unknown zone {z!r}")
            updates["avoid_zones"] = cfg.avoid_zones | frozenset(value)
        elif key in _SCALARS:
            num = _number(value, key)
            if key in _FRACTIONS and num >= 1.0 and key != "max_load_fraction":
                raise InputError(f"{key}: must be below 1, got {value!r}")
            if key == "max_load_fraction" and num > 1.0:
                raise InputError(f"{key}: must be at most 1, got {value!r}")
            updates[key] = num
            sources[key] = "config"
        else:
            raise InputError(f"{key}: unknown setting")
    return replace(cfg, zone_limits_kpa=limits, sources=sources, **updates)


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
class Alert:
    """One alarm episode (contract section 5, ``ashiguard.alerts/1``) with its explanation."""

    kind: str
    priority: str
    t_start: float
    t_end: float
    zone: str | None
    peak: float
    limit: float
    unit: str
    rule: str
    value_seen: float
    t_raised: float
    source: str
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines object: contract fields first, then the added ones."""
        return {
            "kind": self.kind,
            "priority": self.priority,
            "t_start": round(self.t_start, 4),
            "t_end": round(self.t_end, 4),
            "zone": self.zone,
            "peak": round(self.peak, 3),
            "limit": round(self.limit, 3),
            "unit": self.unit,
            "rule": self.rule,
            "value_seen": round(self.value_seen, 3),
            "t_raised": round(self.t_raised, 4),
            "source": self.source,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class AlarmEvent:
    """A change the live monitor reports: an alarm ``raised`` or ``cleared``."""

    action: Literal["raised", "cleared"]
    alarm_id: int
    kind: str
    priority: str
    zone: str | None
    t: float
    value: float
    limit: float
    unit: str
    rule: str
    source: str


@dataclass
class ActiveAlarm:
    """An alarm in the active list (condition present, or high priority and latched)."""

    alarm_id: int
    kind: str
    priority: str
    zone: str | None
    t_start: float
    t_raised: float
    value_seen: float
    peak: float
    limit: float
    unit: str
    rule: str
    source: str
    condition_present: bool = True
    acknowledged: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the live views."""
        return {
            "alarm_id": self.alarm_id,
            "kind": self.kind,
            "priority": self.priority,
            "zone": self.zone,
            "t_start": self.t_start,
            "t_raised": self.t_raised,
            "value_seen": self.value_seen,
            "peak": self.peak,
            "limit": self.limit,
            "unit": self.unit,
            "rule": self.rule,
            "source": self.source,
            "condition_present": self.condition_present,
            "latched": not self.condition_present,
            "acknowledged": self.acknowledged,
        }


@dataclass(frozen=True)
class _Channel:
    kind: str
    priority: str
    zone: str | None
    unit: str
    rule: str
    on: float  # raise when value > on
    off: float  # clear when value < off
    source: str
    delay: float = math.nan  # condition delay, s (NaN: the config's condition_delay_s)


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


_FLOAT_EPS = 1e-9


class AlarmEngine:
    """Run every alarm condition on chunks of frames, carrying state between chunks.

    Parameters
    ----------
    layout : SensorLayout
        The grid and its zone labels; ``None`` when there is no grid (insoles or bars only).
    config : AlarmConfig
        Limits (already tightened by the screening) and alarm behaviour.
    therapist_mass_kg : float, kg
        The therapist's body mass; the load limits are shares of its weight.
    client_mass_kg : float or None, kg
        Subtracted from an ``under_client`` mat's total to get the therapist's load.
    load_source : str or None
        ``mat`` (sum kPa x sensel area), ``mat_minus_client``, ``feet`` (insole forces),
        ``bars`` (weight minus bar forces), or None when no load can be measured.
    symmetry_source : str or None
        ``mat`` (client's left/right halves by body-frame x), ``feet`` or None.
    """

    def __init__(
        self,
        layout: SensorLayout | None,
        config: AlarmConfig,
        therapist_mass_kg: float,
        *,
        client_mass_kg: float | None = None,
        load_source: str | None = "mat",
        symmetry_source: str | None = None,
    ) -> None:
        if not therapist_mass_kg > 0:
            raise InputError(f"therapist_mass_kg: must be positive, got {therapist_mass_kg!r}")
        self.layout = layout
        self.config = config
        self.weight_n = float(therapist_mass_kg) * G
        self.client_weight_n = None if client_mass_kg is None else float(client_mass_kg) * G
        self.load_source = load_source
        self.symmetry_source = symmetry_source
        self._prepare_grid()
        self._channels = self._make_channels()
        self._on = np.array([c.on for c in self._channels])
        self._off = np.array([c.off for c in self._channels])
        self._delays = [
            config.condition_delay_s if math.isnan(ch.delay) else ch.delay for ch in self._channels
        ]
        thr = np.full(self._nz, np.inf)
        for ch in self._channels:
            if ch.zone is not None and ch.zone in self._zone_names:
                zi = self._zone_names.index(ch.zone)
                thr[zi] = min(thr[zi], ch.off)
        self._zone_threshold: F64 = thr
        nch = len(self._channels)
        self._hyst = np.zeros(nch, dtype=bool)
        self._run_start = np.full(nch, np.nan)
        self._raised = np.zeros(nch, dtype=bool)
        self._peak = np.full(nch, -np.inf)
        self._value_seen = np.zeros(nch)
        self._t_raised = np.zeros(nch)
        self._alarm_id = np.zeros(nch, dtype=np.int64)
        self._next_id = 1
        self._last_t: float | None = None
        self._stale_since: float | None = None
        self._last_fp: F64 | None = None
        self._frame_index = 0
        self._dead_last = 0.0
        self._lo_last = 0.0
        self._hi_last = 0.0
        self._reported: BoolA = np.zeros(
            0 if layout is None else layout.rows * layout.cols, dtype=bool
        )
        self._load_hist_t: F64 = np.zeros(0)
        self._load_hist_v: F64 = np.zeros(0)
        self.alerts: list[Alert] = []
        self.events: list[AlarmEvent] = []
        self.active: dict[int, ActiveAlarm] = {}
        self._discrete_fault_until = -math.inf
        self._signal_lost = False

    # ----------------------------------------------------------------- setup
    def _prepare_grid(self) -> None:
        """Precompute the sensel order that makes every (zone, side) group contiguous.

        Only sensels on a body zone are gathered (one ``take`` per chunk); ``reduceat`` over
        the ~30 groups then gives per-zone maxima and sums and the client's left/right loads.
        """
        lay = self.layout
        self._nz = 0
        self._zone_names: tuple[str, ...] = ()
        self._box_groups: _Groups | None = None
        self._raw_groups: _Groups | None = None
        if lay is None:
            return
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
        self._order = order
        self._g_starts = starts
        self._g_left = np.flatnonzero(gkey % 3 == 2)
        self._g_right = np.flatnonzero(gkey % 3 == 0)
        gzone = gkey // 3 - 1
        zfirst = (
            np.flatnonzero(np.concatenate([[True], np.diff(gzone) != 0]))
            if gzone.size
            else np.zeros(0, dtype=np.int64)
        )
        self._gz_starts = zfirst.astype(np.int64)  # first group of each zone
        self._zone_present = gzone[zfirst].astype(np.int64)
        if labels is None:
            return
        self._zone_names = lay.zone_names
        self._nz = len(lay.zone_names)
        lab = labels.astype(np.int64)
        if lay.rows >= 2 and lay.cols >= 2:
            tl, tr = lab[:-1, :-1], lab[:-1, 1:]
            bl, br = lab[1:, :-1], lab[1:, 1:]
            pure = (tl == tr) & (tl == bl) & (tl == br) & (tl >= 0)
            box_lab = np.where(pure, tl, -1).reshape(-1)
        else:
            box_lab = np.full(0, -1, dtype=np.int64)
        self._box_groups = _Groups.of(box_lab)
        have_box = np.zeros(self._nz, dtype=bool)
        have_box[box_lab[box_lab >= 0]] = True
        narrow = np.flatnonzero(~have_box)
        raw = flat.copy()
        raw[~np.isin(raw, narrow)] = -1
        if (raw >= 0).any():
            self._raw_groups = _Groups.of(raw)

    def _make_channels(self) -> list[_Channel]:
        cfg = self.config
        hy = 1.0 - cfg.hysteresis
        chans: list[_Channel] = []
        for z in self._zone_names:
            lim = cfg.zone_limit(z)
            if z.startswith("spine_") or z == "sacrum":
                kind, prio = "spine_pressure", "high"
            elif z.startswith("kidney_"):
                kind, prio = "kidney_pressure", "high"
            else:
                kind = "zone_pressure"
                prio = "high" if z in ENDANGERMENT_ZONE_SLUGS else "medium"
            chans.append(
                _Channel(kind, prio, z, "kPa", f"{kind}:{z}", lim, lim * hy, cfg.source_of(z))
            )
        for z in self._zone_names:
            on = cfg.contact_kpa if z in cfg.avoid_zones else math.inf
            chans.append(
                _Channel(
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
        self._first_load = len(chans)
        w = self.weight_n
        if self.load_source is not None:
            lim = cfg.max_load_fraction * w
            chans.append(
                _Channel(
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
                _Channel(
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
                _Channel(
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
        self._first_fault = len(chans)
        if self.layout is not None:
            tol, sat = cfg.negative_tolerance_kpa, cfg.saturation_kpa
            for rule, on, off, unit in (
                ("sensor_fault:nan", 0.0, 0.5, "sensels"),
                ("sensor_fault:negative", tol, tol / 2, "kPa"),
                ("sensor_fault:saturated", sat * (1 - 1e-6), sat * hy, "kPa"),
                ("sensor_fault:stale", cfg.stale_s, cfg.stale_s / 2, "s"),
                ("sensor_fault:dead_sensel", 0.0, 0.5, "sensels"),
            ):
                chans.append(
                    _Channel("sensor_fault", "medium", None, unit, rule, on, off, "default")
                )
        return chans

    @property
    def channels(self) -> Sequence[_Channel]:
        """The conditions this engine watches (one per zone and kind, load, faults)."""
        return self._channels

    # -------------------------------------------------------------- features
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
            p = pressure.reshape(n, -1)
            gidx = self._frame_index + np.arange(n)
            self._frame_index += n
            sums = p.sum(axis=1)
            bad = np.isnan(sums)
            if bad.any():
                faults[:, 0] = self._lost_sensels(p)
                p = p.copy()
                p[bad] = np.nan_to_num(p[bad], nan=0.0)
                sums[bad] = p[bad].sum(axis=1)
            else:
                self._reported[:] = True
            gsum = np.zeros((n, 0), dtype=np.float32)
            gmax = np.zeros((n, 0), dtype=np.float32)
            g = gsum
            if self._order.size:
                g = np.take(p, self._order, axis=1)
                gsum = np.add.reduceat(g, self._g_starts, axis=1)
                gmax = np.maximum.reduceat(g, self._g_starts, axis=1)
            # every sensel's extremes on every 4th frame (held between); the body's each frame
            lo, hi = self._extremes(p, gidx)
            fmax = np.fmax(hi, gmax.max(axis=1)) if gmax.shape[1] else hi
            faults[:, 1] = -lo
            faults[:, 2] = fmax
            f.frame_max_kpa = fmax.astype(np.float32)
            sat_on = self._channels[self._first_fault + 2].on
            sat = fmax >= sat_on
            if sat.any():  # saturated sensels read full scale, not force: leave them out
                sums[sat] = np.where(p[sat] >= sat_on, np.float32(0.0), p[sat]).sum(axis=1)
                if self._order.size:
                    q = np.where(g[sat] >= sat_on, np.float32(0.0), g[sat])
                    gsum[sat] = np.add.reduceat(q, self._g_starts, axis=1)
            area = lay.sensel_area_mm2 * 1e-3  # kPa * mm^2 -> N
            total = sums.astype(np.float64) * area
            f.mat_total_n = total
            if self.load_source == "mat":
                f.load_n = total
            elif self.load_source == "mat_minus_client":
                f.load_n = np.maximum(total - (self.client_weight_n or 0.0), 0.0)
            if self._order.size:
                gs64 = gsum.astype(np.float64)
                f.left_n = gs64[:, self._g_left].sum(axis=1) * area
                f.right_n = gs64[:, self._g_right].sum(axis=1) * area
                if nz:
                    self._zone_features(p, g, gmax, gsum, f, exact_all, contact_counts)
            fingerprint = np.concatenate(
                [gsum.astype(np.float64), sums[:, None].astype(np.float64), fmax[:, None]], axis=1
            )
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

    def _zone_features(
        self,
        p: F32,
        g: F32,
        gmax: F32,
        gsum: F32,
        f: ChunkFeatures,
        exact_all: bool,
        contact_counts: bool,
    ) -> None:
        lay = self.layout
        assert lay is not None
        n = p.shape[0]
        zp, zs = self._zone_present, self._gz_starts
        raw = np.full((n, self._nz), np.nan, dtype=np.float32)
        raw[:, zp] = np.maximum.reduceat(gmax, zs, axis=1)
        f.zone_sum_kpa[:, zp] = np.add.reduceat(gsum, zs, axis=1)
        if contact_counts:
            hit = (g > self.config.contact_kpa).view(np.uint8)
            gcnt = np.add.reduceat(hit, self._g_starts, axis=1, dtype=np.int32)
            f.zone_contact[:, zp] = np.add.reduceat(gcnt, zs, axis=1).astype(np.float32)
        f.zone_raw_max_kpa = raw
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

    def _zone_peaks(self, p3: F32) -> F32:
        n = p3.shape[0]
        out = np.full((n, self._nz), -np.inf, dtype=np.float32)
        if self._box_groups is not None and self._box_groups.zones.size:
            rs = p3[:, :-1, :] + p3[:, 1:, :]
            box = (rs[:, :, :-1] + rs[:, :, 1:]).reshape(n, -1)
            self._box_groups.max_into(box, out)
        if self._raw_groups is not None:
            self._raw_groups.max_into(p3.reshape(n, -1), out, 4.0)
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

    def _extremes(self, p: F32, gidx: I64) -> tuple[F64, F64]:
        """Smallest and largest value of every sensel (kPa), judged on every 4th frame by
        global index and held in between (negative and saturated sensels are persistent
        sensor faults; the body's own sensels are checked every frame by the caller)."""
        n = p.shape[0]
        off = int((-gidx[0]) % 4) if gidx.size else 0
        pick = np.arange(off, n, 4, dtype=np.int64)
        dec = p[off::4]
        lo_v = dec.min(axis=1).astype(np.float64) if pick.size else np.zeros(0)
        hi_v = dec.max(axis=1).astype(np.float64) if pick.size else np.zeros(0)
        lo = self._held(lo_v, pick, n, self._lo_last)
        hi = self._held(hi_v, pick, n, self._hi_last)
        self._lo_last, self._hi_last = float(lo[-1]), float(hi[-1])
        return lo, hi

    def _dead_sensels(self, p: F32, gidx: I64) -> F64:
        """Dead sensels, judged on every 32nd frame (by global index) and held in between."""
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

    # ------------------------------------------------------------ processing
    def process(
        self,
        times: npt.ArrayLike,
        pressure: npt.ArrayLike | None = None,
        *,
        bars_n: npt.ArrayLike | None = None,
        feet_n: npt.ArrayLike | None = None,
        exact_all: bool = False,
        contact_counts: bool = False,
    ) -> ChunkFeatures:
        """Feed a chunk of frames; new episodes land in ``alerts``, changes in ``events``.

        Parameters
        ----------
        times : array [n], s
            Frame times; a frame not later than the previous one is a ``sensor_fault``
            (time going backwards) and is dropped.
        pressure : array [n, rows, cols] or None, kPa
            The frames (NaN = sensel not reporting).
        bars_n : array [n, 2] or None, N
            Left and right bar forces at the frame times.
        feet_n : array [n, 2] or None, N
            Left and right insole forces at the frame times.
        exact_all, contact_counts : bool
            See :meth:`features`.
        """
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        keep = self._time_order(t)
        sel = None if keep.all() else keep
        t = t[keep]
        p = _take(pressure, sel, np.float32)
        if p is not None and self.layout is not None:
            p = p.reshape(-1, self.layout.rows, self.layout.cols)
        feats, faults = self.features(
            t,
            p,
            bars_n=_take(bars_n, sel, np.float64),
            feet_n=_take(feet_n, sel, np.float64),
            exact_all=exact_all,
            contact_counts=contact_counts,
        )
        if t.size:
            self._run_channels(t, self._values(feats, faults))
            self._last_t = float(t[-1])
        return feats

    def _time_order(self, t: F64) -> BoolA:
        """Frames later than every earlier one; report gaps and backwards time as faults."""
        prev = -math.inf if self._last_t is None else self._last_t
        if t.size == 1 and t[0] > prev and t[0] - prev <= self.config.max_frame_gap_s:
            return np.ones(1, dtype=bool)  # the live path: one frame, in order, no gap
        running = np.maximum.accumulate(np.concatenate([[prev], t]))[:-1]
        keep: BoolA = t > running
        for i in np.flatnonzero(~keep):
            self._discrete_fault(
                float(running[i]),
                float(running[i]),
                "sensor_fault:time_backwards",
                float(running[i] - t[i]),
                0.0,
                "s",
                "frame time not after the previous frame",
            )
        tk = t[keep]
        prev_t = np.concatenate([[prev], tk[:-1]])
        gaps = tk - prev_t
        for i in np.flatnonzero(gaps > self.config.max_frame_gap_s):
            if math.isfinite(prev_t[i]):
                self._discrete_fault(
                    float(prev_t[i]),
                    float(tk[i]),
                    "sensor_fault:frame_gap",
                    float(gaps[i]),
                    self.config.max_frame_gap_s,
                    "s",
                    "no frame for longer than allowed",
                )
        return keep

    def _discrete_fault(
        self, t0: float, t1: float, rule: str, value: float, limit: float, unit: str, detail: str
    ) -> None:
        self.alerts.append(
            Alert(
                "sensor_fault",
                "medium",
                t0,
                t1,
                None,
                value,
                limit,
                unit,
                rule,
                value,
                t1,
                "default",
                detail,
            )
        )
        aid = self._new_id()
        ev = AlarmEvent(
            "raised", aid, "sensor_fault", "medium", None, t1, value, limit, unit, rule, "default"
        )
        self.events.append(ev)
        self.events.append(replace(ev, action="cleared"))
        self._discrete_fault_until = max(self._discrete_fault_until, t1)

    def _values(self, f: ChunkFeatures, faults: F64) -> F64:
        n = f.times.shape[0]
        out = np.empty((n, len(self._channels)))
        c = 0
        nz = self._nz
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
        if self.layout is not None:
            out[:, c : c + 5] = faults
            c += 5
        assert c == out.shape[1]
        return out

    def _run_channels(self, t: F64, v: F64) -> None:
        on, off = self._on, self._off
        n = t.shape[0]
        if n == 1:  # the live path: the same decisions without the accumulations
            v0 = v[0]
            with np.errstate(invalid="ignore"):
                up1 = v0 > on
                decisive1 = up1 | (v0 < off)  # == up | (~(v >= off) & ~isnan(v))
            state1 = np.where(decisive1, up1, self._hyst)
            edges1 = state1 != self._hyst
            busy1 = np.flatnonzero(edges1 | state1 | ~np.isnan(self._run_start))
            for ci in busy1.tolist():
                self._channel_step(ci, t, v[:, ci], state1[ci : ci + 1], edges1[ci : ci + 1])
            self._hyst = state1
            return
        with np.errstate(invalid="ignore"):
            up = v > on
            down = ~(v >= off) & ~np.isnan(v)
        decisive = up | down
        idx = np.where(decisive, np.arange(n)[:, None], -1)
        last = np.maximum.accumulate(idx, axis=0)
        cols = np.arange(v.shape[1])
        state = np.where(last >= 0, up[np.maximum(last, 0), cols], self._hyst[None, :])
        prev = np.vstack([self._hyst[None, :], state[:-1]])
        edges = state != prev
        open_run = ~np.isnan(self._run_start)
        busy = np.flatnonzero(edges.any(axis=0) | open_run | state[-1])
        for c in busy:
            self._channel_step(int(c), t, v[:, c], state[:, c], edges[:, c])
        self._hyst = state[-1].copy()

    def _channel_step(self, c: int, t: F64, v: F64, st: BoolA, edge: BoolA) -> None:
        n = t.shape[0]
        bounds = [0, *np.flatnonzero(edge).tolist(), n]
        for a, b in itertools.pairwise(bounds):
            if a == b:
                continue
            if not st[a]:
                if edge[a]:
                    self._end_run(c, float(t[a]))
                continue
            if edge[a] or np.isnan(self._run_start[c]):
                self._run_start[c] = t[a]
                self._peak[c] = -np.inf
            if not self._raised[c]:
                due = self._run_start[c] + self._delays[c] - _FLOAT_EPS
                k = a + int(np.searchsorted(t[a:b], due, side="left"))
                if k < b:
                    self._peak[c] = max(self._peak[c], _segmax(v[a : k + 1]))
                    self._raise(c, float(t[k]), float(self._peak[c]), float(self._run_start[c]))
                    a = k + 1
            self._peak[c] = max(self._peak[c], _segmax(v[a:b]))
            if self._raised[c]:
                alarm = self.active.get(int(self._alarm_id[c]))
                if alarm is not None:
                    alarm.peak = float(self._peak[c])

    def _new_id(self) -> int:
        aid = self._next_id
        self._next_id += 1
        return aid

    def _raise(self, c: int, t_raise: float, value: float, t_start: float) -> None:
        ch = self._channels[c]
        self._raised[c] = True
        self._t_raised[c] = t_raise
        self._value_seen[c] = value
        self._peak[c] = value
        aid = self._new_id()
        self._alarm_id[c] = aid
        self.active[aid] = ActiveAlarm(
            aid,
            ch.kind,
            ch.priority,
            ch.zone,
            t_start,
            t_raise,
            value,
            value,
            ch.on,
            ch.unit,
            ch.rule,
            ch.source,
        )
        self.events.append(
            AlarmEvent(
                "raised",
                aid,
                ch.kind,
                ch.priority,
                ch.zone,
                t_raise,
                value,
                ch.on,
                ch.unit,
                ch.rule,
                ch.source,
            )
        )

    def _end_run(self, c: int, t_end: float) -> None:
        ch = self._channels[c]
        if self._raised[c]:
            aid = int(self._alarm_id[c])
            self.alerts.append(
                Alert(
                    ch.kind,
                    ch.priority,
                    float(self._run_start[c]),
                    t_end,
                    ch.zone,
                    float(self._peak[c]),
                    ch.on,
                    ch.unit,
                    ch.rule,
                    float(self._value_seen[c]),
                    float(self._t_raised[c]),
                    ch.source,
                )
            )
            self.events.append(
                AlarmEvent(
                    "cleared",
                    aid,
                    ch.kind,
                    ch.priority,
                    ch.zone,
                    t_end,
                    float(self._peak[c]),
                    ch.on,
                    ch.unit,
                    ch.rule,
                    ch.source,
                )
            )
            alarm = self.active.get(aid)
            if alarm is not None:
                if ch.priority == "high" and not alarm.acknowledged:
                    alarm.condition_present = False  # latched until acknowledged
                else:
                    del self.active[aid]
        self._raised[c] = False
        self._run_start[c] = np.nan
        self._peak[c] = -np.inf

    # ------------------------------------------------------------ live API
    def finish(self, t_end: float | None = None) -> list[Alert]:
        """Close every open episode at ``t_end`` (default: the last frame time).

        Returns all episodes, ordered by ``t_start`` (ties by kind and zone).
        """
        te = self._last_t if t_end is None else t_end
        if te is not None:
            for c in np.flatnonzero(~np.isnan(self._run_start)):
                self._end_run(int(c), float(te))
        return self.sorted_alerts()

    def sorted_alerts(self) -> list[Alert]:
        """The closed episodes so far, ordered by ``t_start``."""
        return sorted(self.alerts, key=lambda a: (a.t_start, a.kind, a.zone or "", a.rule))

    def acknowledge(self, alarm_id: int) -> bool:
        """Acknowledge an alarm: a latched one leaves the list, an active one is marked.

        Returns False when no such alarm is in the active list.
        """
        alarm = self.active.get(alarm_id)
        if alarm is None:
            return False
        if alarm.condition_present:
            alarm.acknowledged = True
        else:
            del self.active[alarm_id]
        return True

    def note_silence(self, now_t: float) -> bool:
        """Live watchdog: True (signal lost) when no frame came for ``max_frame_gap_s``.

        ``now_t`` is on the frames' time axis. While the signal is lost the state is unknown.
        """
        self._signal_lost = self._last_t is None or now_t - self._last_t > (
            self.config.max_frame_gap_s
        )
        return self._signal_lost

    def faulty(self) -> bool:
        """Whether the data cannot be trusted right now (a fault active, or no data yet)."""
        if self._last_t is None or self._signal_lost:
            return True
        if self._discrete_fault_until >= self._last_t:
            return True
        return bool(self._raised[self._first_fault :].any())

    def state(self) -> MonitorState:
        """``alarm`` if a clinical alarm is active or latched, else ``unknown`` while the data
        cannot be trusted, else ``ok``."""
        if any(a.kind != "sensor_fault" for a in self.active.values()):
            return "alarm"
        if self.faulty():
            return "unknown"
        return "ok"


def _take(a: npt.ArrayLike | None, sel: BoolA | None, dtype: type[Any]) -> Any:
    if a is None:
        return None
    arr = np.asarray(a, dtype=dtype)
    return arr if sel is None else arr[sel]


def _segmax(x: F64) -> float:
    """Largest non-NaN value (-inf for an empty or all-NaN segment)."""
    return float(np.fmax.reduce(x, initial=-np.inf)) if x.size else -math.inf


@dataclass(frozen=True)
class _Groups:
    """Labelled positions of a flat array sorted by zone, for per-zone maxima by one gather."""

    order: I64  # labelled positions, sorted by zone (stable)
    starts: I64  # first position of each zone within ``order``
    zones: I64  # zone index of each group

    @classmethod
    def of(cls, lab: I64) -> _Groups:
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
