"""Alarm limits and behaviour, each with its source; a clinic's limits file (TOML).

Notes
-----
Every limit remembers where it came from (``default``, ``config`` or ``screening``), and a
screening only ever tightens a limit (:meth:`AlarmConfig.tightened`). Sources of the default
limits are in docs/monitor.md.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ashiguard.domain.errors import InputError
from ashiguard.domain.zone_names import ZONE_SLUGS

__all__ = ["DEFAULT_ZONE_LIMITS_KPA", "AlarmConfig", "parse_alarm_config"]

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
