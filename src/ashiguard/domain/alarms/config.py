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
from ashiguard.domain.zone_names import ENDANGERMENT_ZONE_SLUGS, ZONE_SLUGS

__all__ = [
    "DEFAULT_DEPTH_LIMITS_KPA",
    "DEFAULT_DOSE_REFERENCE_S",
    "DEFAULT_DWELL_LIMITS_S",
    "DEFAULT_ZONE_LIMITS_KPA",
    "DEPTH_OF_ZONE_MM",
    "AlarmConfig",
    "default_dose_limits",
    "parse_alarm_config",
]

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

# Held load (dwell_time), s: treatment zones 60 s (the long end of static ischaemic
# compression in manual therapy, 30-90 s), endangerment zones 10 s (sources in docs/monitor.md).
DEFAULT_DWELL_LIMITS_S: Mapping[str, float] = {
    z: (10.0 if z in ENDANGERMENT_ZONE_SLUGS else 60.0) for z in ZONE_SLUGS
}

DEFAULT_DOSE_REFERENCE_S = 60.0
"""The default zone_dose limit is the zone's pressure limit held for this long (kPa*s)."""


def default_dose_limits(zone_limits_kpa: Mapping[str, float]) -> dict[str, float]:
    """Default zone_dose limits, kPa*s: each zone's pressure limit x 60 s."""
    return {z: float(v) * DEFAULT_DOSE_REFERENCE_S for z, v in zone_limits_kpa.items()}


# The depth at which depth_stress is judged under each zone, mm: the spinal canal (45 mm)
# under the midline zones over the canal, the kidney (80 mm) under the flank zones.
DEPTH_OF_ZONE_MM: Mapping[str, float] = {
    "spine_cervical": 45.0,
    "spine_thoracic": 45.0,
    "spine_lumbar": 45.0,
    "kidney_left": 80.0,
    "kidney_right": 80.0,
}

# Limits on the Boussinesq stress sigma_z averaged over the structure's footprint at that
# depth, kPa (sources and reasoning in docs/monitor.md).
DEFAULT_DEPTH_LIMITS_KPA: Mapping[str, float] = {
    "spine_cervical": 15.0,
    "spine_thoracic": 15.0,
    "spine_lumbar": 15.0,
    "kidney_left": 7.5,
    "kidney_right": 7.5,
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
    dwell_limits_s : mapping of zone slug to s
        ``dwell_time``: longest time a load may be held on one zone.
    dwell_load_n : float, N
        A zone is "loaded" (for ``dwell_time``) while the force on its sensels exceeds this.
    dwell_gap_s : float, s
        A hold survives an unloading shorter than this (a foot rocked off and back).
    dose_limits_kpa_s : mapping of zone slug to kPa*s, or None
        ``zone_dose`` limits; None: each zone's pressure limit x 60 s
        (:func:`default_dose_limits`, computed from the untightened defaults).
    dose_recovery_s : float, s
        Time constant of the dose's exponential recovery while the zone is unloaded.
    depth_limits_kpa : mapping of zone slug to kPa
        ``depth_stress`` limits on the zones of :data:`DEPTH_OF_ZONE_MM`.
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
    dwell_limits_s: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_DWELL_LIMITS_S)
    )
    dwell_load_n: float = 20.0
    dwell_gap_s: float = 0.3
    dose_limits_kpa_s: Mapping[str, float] = field(
        default_factory=lambda: default_dose_limits(DEFAULT_ZONE_LIMITS_KPA)
    )
    dose_recovery_s: float = 120.0
    depth_limits_kpa: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_DEPTH_LIMITS_KPA)
    )

    def zone_limit(self, zone: str) -> float:
        """The pressure limit of ``zone`` in kPa (inf when the zone has none)."""
        return float(self.zone_limits_kpa.get(zone, math.inf))

    def dwell_limit(self, zone: str) -> float:
        """The ``dwell_time`` limit of ``zone`` in s (inf when none)."""
        return float(self.dwell_limits_s.get(zone, math.inf))

    def dose_limit(self, zone: str) -> float:
        """The ``zone_dose`` limit of ``zone`` in kPa*s (inf when none)."""
        return float(self.dose_limits_kpa_s.get(zone, math.inf))

    def depth_limit(self, zone: str) -> float:
        """The ``depth_stress`` limit of ``zone`` in kPa (inf when none)."""
        return float(self.depth_limits_kpa.get(zone, math.inf))

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
            Cap on every zone limit. A zone whose pressure limit it lowers has its
            ``zone_dose`` and ``depth_stress`` limits lowered in the same proportion
            (never raised).
        source : str
            Named in each alarm's ``source`` field for the limits it changed.
        """
        limits = dict(self.zone_limits_kpa)
        sources = dict(self.sources)
        dose = dict(self.dose_limits_kpa_s)
        depth = dict(self.depth_limits_kpa)
        if max_pressure_kpa is not None:
            for z, lim in limits.items():
                if max_pressure_kpa < lim:
                    limits[z] = float(max_pressure_kpa)
                    sources[z] = source
                    ratio = float(max_pressure_kpa) / lim
                    for table, key in ((dose, f"dose:{z}"), (depth, f"depth:{z}")):
                        if z in table:
                            table[z] = table[z] * ratio
                            sources[key] = source
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
            dose_limits_kpa_s=dose,
            depth_limits_kpa=depth,
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
    "dwell_load_n",
    "dwell_gap_s",
    "dose_recovery_s",
)
# per-zone tables of the limits file: table name -> (AlarmConfig field, source key prefix)
_TABLES: dict[str, tuple[str, str]] = {
    "dwell_s": ("dwell_limits_s", "dwell:"),
    "dose_kpa_s": ("dose_limits_kpa_s", "dose:"),
    "depth_kpa": ("depth_limits_kpa", "depth:"),
}
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

    The file may hold a ``[zones]`` table (zone slug = limit in kPa), ``[dwell_s]``,
    ``[dose_kpa_s]`` and ``[depth_kpa]`` tables (zone slug = limit; ``depth_kpa`` only for
    the zones of :data:`DEPTH_OF_ZONE_MM`), an ``avoid_zones`` list and any of the scalar
    settings of :class:`AlarmConfig` at top level.

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
        if key in _TABLES:
            name, prefix = _TABLES[key]
            if not isinstance(value, dict):
                raise InputError(f"{key}: must be a table of zone = limit")
            table = dict(updates.get(name, getattr(cfg, name)))
            for zone, lim in value.items():
                if zone not in ZONE_SLUGS:
                    raise InputError(f"{key}.{zone}: unknown zone")
                if key == "depth_kpa" and zone not in DEPTH_OF_ZONE_MM:
                    raise InputError(
                        f"{key}.{zone}: no depth is judged under this zone "
                        f"(only {', '.join(DEPTH_OF_ZONE_MM)})"
                    )
                table[zone] = _number(lim, f"{key}.{zone}")
                sources[prefix + zone] = "config"
            updates[name] = table
        elif key == "zones":
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
