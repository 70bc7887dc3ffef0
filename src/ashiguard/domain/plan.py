"""Session planner: a screening and the therapist's weight -> what each zone may receive.

For every contract zone the plan says whether barefoot work is allowed, with which technique
(and so which contact model), the pressure level on Walton's 0-5 scale, the largest load and
share of the therapist's weight that may rest on the client through that contact (the bars
must carry the rest), and the reason naming what capped it.

Pressure levels: Walton's scale (T. Walton, *Medical Conditions and Massage Therapy: A
Decision Tree Approach*, Lippincott Williams & Wilkins 2011, Table 2-1; after G. MacDonald and
D. Nelson) is qualitative: 0 a stationary, weightless hold; 1 light lotioning; 2 heavy
lotioning; 3 the muscle is worked (Swedish); 4 deep pressure; 5 the deepest, for strong clients
only. The kPa band per level (:data:`LEVELS`) is this project's ASSUMPTION, anchored on
whole-foot contact (120 cm²): a 70 kg therapist with the default 60 % of the weight on one
foot gives 34 kPa, level 4 ("deep", as Ashiatsu is described); level 5 ends at 60 kPa, what
a 120 kg therapist reaches the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ashiguard.domain.errors import InputError
from ashiguard.domain.mechanics import CONTACTS, G
from ashiguard.domain.screening import Decision, Screening
from ashiguard.domain.zones import ENDANGERMENT_ZONES, ZONES, ZoneMap

__all__ = [
    "DEFAULT_MAX_LOAD_FRACTION",
    "LEVELS",
    "PLAN_SCHEMA",
    "TECHNIQUES",
    "ZONE_DEFAULTS",
    "ComfortCap",
    "PressureLevel",
    "SessionPlan",
    "ZonePlan",
    "level_for_pressure",
    "make_plan",
    "target_band",
]

PLAN_SCHEMA = "ashiguard.plan/1"


@dataclass(frozen=True)
class PressureLevel:
    """One level of the 0-5 scale with its upper bound of mean contact pressure, kPa."""

    level: int
    name: str
    max_kpa: float


LEVELS: tuple[PressureLevel, ...] = (
    PressureLevel(0, "none (stationary hold, no weight)", 0.0),
    PressureLevel(1, "light (light lotioning)", 8.0),
    PressureLevel(2, "light-moderate (heavy lotioning)", 15.0),
    PressureLevel(3, "moderate (working the muscle)", 25.0),
    PressureLevel(4, "deep", 40.0),
    PressureLevel(5, "very deep (strong clients only)", 60.0),
)
"""Walton's levels with the project's kPa bands (an assumption, see the module docstring)."""

DEFAULT_MAX_LOAD_FRACTION = 0.6
"""Share of the therapist's weight that may rest on the client when the screening sets no cap.

Professional barefoot work never puts the therapist's full, unsupported weight on the client
(shared/seed article: the overhead bars carry a portion of it). 0.6 is the project's
assumption, equal to the monitor's default ``unsupported_weight`` limit
(``AlarmConfig.max_load_fraction``) so that a session following the plan raises no alarm.
"""

TECHNIQUES: dict[str, str | None] = {
    "whole_foot_glide": "foot",
    "forefoot_glide": "forefoot",
    "heel_compression": "heel",
    "whole_foot_compression": "foot",
    "none": None,
}
"""Technique -> the contact model (:data:`ashiguard.domain.mechanics.CONTACTS`) it loads."""

ZONE_DEFAULTS: dict[str, tuple[int, str]] = {
    "erector_thoracic": (4, "whole_foot_glide"),
    "erector_lumbar": (5, "whole_foot_glide"),
    "scapular": (3, "forefoot_glide"),
    "upper_trapezius": (3, "heel_compression"),
    "gluteal": (5, "heel_compression"),
    "hamstring": (4, "whole_foot_glide"),
    "calf": (3, "forefoot_glide"),
}
"""Treatment targets: (highest level, technique) by zone stem. Endangerment zones: level 0.

Project defaults (clinical judgement, documented in docs/zones-and-mechanics.md): the thick
lumbar erectors and the gluteals take the deepest work; the thoracic erectors (over the ribs)
and hamstrings one level less; the scapular region (thin muscle over bone), the upper
trapezius and the calf (close to the popliteal vessels, varicose veins) moderate at most.
"""


def level_for_pressure(kpa: float) -> int:
    """Lowest level whose band contains a mean contact pressure (kPa); 0 for 0, 5 above 40."""
    if not (math.isfinite(kpa) and kpa >= 0):
        raise InputError(f"pressure: must be a finite number >= 0 kPa, got {kpa!r}")
    for lv in LEVELS:
        if kpa <= lv.max_kpa:
            return lv.level
    return LEVELS[-1].level


def target_band(zone: ZonePlan) -> tuple[float, float] | None:
    """The band of mean contact pressure a zone's plan asks for, kPa: from the top of the
    level below to the zone's level (never above its largest allowed pressure).

    None for a zone not to be worked (avoided, an endangerment zone, level 0). A zone whose
    screening cap lies below its level's band gets the band's lower edge capped too, so the
    band never reaches above what the screening allows.
    """
    if not zone.allowed or zone.level <= 0:
        return None
    high = min(LEVELS[zone.level].max_kpa, zone.max_pressure_kpa)
    low = min(LEVELS[zone.level - 1].max_kpa, high)
    return (low, high)


@dataclass(frozen=True)
class ComfortCap:
    """A client's comfort ceiling as the planner takes it: mean contact pressure, kPa.

    ``kpa`` applies to every zone, ``zones`` to single zones (the lower of the two wins);
    ``source`` says where it came from ("3 'too much' markers in the last 5 visits, ...").
    It can only lower a zone's pressure, level and band, never raise them.
    """

    kpa: float | None = None
    zones: Mapping[str, float] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        from ashiguard.domain.zone_names import ZONE_SLUGS

        values = [("comfort_kpa", self.kpa)] + [
            (f"comfort_kpa.{z}", v) for z, v in self.zones.items()
        ]
        for name, v in values:
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError(f"{name}: must be a number of kPa, got {v!r}")
            if v <= 0:
                raise InputError(f"{name}: must be > 0 kPa, got {v:g}")
        for z in self.zones:
            if z not in ZONE_SLUGS:
                raise InputError(f"comfort_kpa: unknown zone {z!r}")

    def for_zone(self, zone: str) -> float | None:
        """The ceiling on one zone, kPa (None: no ceiling)."""
        values = [v for v in (self.kpa, self.zones.get(zone)) if v is not None]
        return float(min(values)) if values else None

    def to_json(self) -> dict[str, Any]:
        return {
            "kpa": None if self.kpa is None else round(float(self.kpa), 1),
            "zones": {z: round(float(v), 1) for z, v in self.zones.items()},
            "source": self.source,
        }


def _stem(zone: str) -> str:
    for suffix in ("_left", "_right"):
        if zone.endswith(suffix):
            return zone[: -len(suffix)]
    return zone


@dataclass(frozen=True)
class ZonePlan:
    """What one zone may receive.

    Attributes
    ----------
    zone : str
        Contract zone slug.
    allowed : bool
        Whether barefoot work may load this zone.
    technique : str
        Key of :data:`TECHNIQUES` (``none`` when not allowed).
    level : int
        Walton level 0-5 of the largest allowed mean pressure.
    max_pressure_kpa : float
        Largest mean contact pressure, kPa.
    max_load_n : float
        Largest load through the contact on this zone, N.
    max_load_fraction : float
        ``max_load_n`` as a share of the therapist's weight (0-1).
    bars_min_n : float
        What the bars must carry at least while this zone takes its largest load, N.
    reason : str
        The limit that capped the load (or why the zone is avoided).
    """

    zone: str
    allowed: bool
    technique: str
    level: int
    max_pressure_kpa: float
    max_load_n: float
    max_load_fraction: float
    bars_min_n: float
    reason: str
    centroid_mm: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        """The zone's entry in ``ashiguard.plan/1``."""
        out: dict[str, Any] = {
            "allowed": self.allowed,
            "technique": self.technique,
            "contact": TECHNIQUES[self.technique],
            "level": self.level,
            "max_pressure_kpa": round(self.max_pressure_kpa, 1),
            "max_load_n": round(self.max_load_n, 1),
            "max_load_fraction": round(self.max_load_fraction, 3),
            "bars_min_n": round(self.bars_min_n, 1),
            "endangerment": self.zone in ENDANGERMENT_ZONES,
            "reason": self.reason,
        }
        if self.centroid_mm is not None:
            out["centroid_mm"] = [round(c, 1) for c in self.centroid_mm]
        return out


@dataclass(frozen=True)
class SessionPlan:
    """A per-zone plan for one session (``ashiguard.plan/1``)."""

    client_id: str
    date: date
    decision: str
    barefoot_work: bool
    therapist_mass_kg: float
    weight_n: float
    max_load_fraction: float
    summary: str
    findings: tuple[dict[str, str], ...]
    zones: tuple[ZonePlan, ...] = field(repr=False)
    rules_version: str = ""
    comfort: ComfortCap | None = None

    def zone(self, slug: str) -> ZonePlan:
        """The plan of one zone."""
        for z in self.zones:
            if z.zone == slug:
                return z
        raise InputError(f"zone: unknown zone {slug!r}")

    def to_json(self) -> dict[str, Any]:
        """The ``ashiguard.plan/1`` object."""
        return {
            "schema": PLAN_SCHEMA,
            "client_id": self.client_id,
            "date": self.date.isoformat(),
            "decision": self.decision,
            "barefoot_work": self.barefoot_work,
            "summary": self.summary,
            "therapist_mass_kg": self.therapist_mass_kg,
            "therapist_weight_n": round(self.weight_n, 1),
            "max_load_fraction": self.max_load_fraction,
            "findings": list(self.findings),
            "levels": {str(lv.level): {"name": lv.name, "max_kpa": lv.max_kpa} for lv in LEVELS},
            "zones": {z.zone: z.to_json() for z in self.zones},
            **({"comfort_ceiling": self.comfort.to_json()} if self.comfort else {}),
        }


def _rules_imposing(screening: Screening, test: Any) -> str:
    rules = [f.rule for f in screening.findings if test(f.restrictions)]
    return f" (finding {', '.join(rules)})" if rules else ""


def _avoid_reason(screening: Screening, zone: str) -> str:
    src = _rules_imposing(screening, lambda r: zone in r.avoid_zones)
    return f"screening restrictions.avoid_zones lists {zone}{src}"


def _zone_plan(
    zone: str,
    screening: Screening,
    weight_n: float,
    zone_map: ZoneMap | None,
    comfort: ComfortCap | None = None,
) -> ZonePlan:
    centroid = zone_map.centroid(zone) if zone_map is not None else None
    restr = screening.restrictions

    def refuse(reason: str) -> ZonePlan:
        return ZonePlan(zone, False, "none", 0, 0.0, 0.0, 0.0, weight_n, reason, centroid)

    if zone in ENDANGERMENT_ZONES:
        return refuse("endangerment zone: never loaded by the feet")
    if zone in restr.avoid_zones:
        return refuse(_avoid_reason(screening, zone))
    top_level, technique = ZONE_DEFAULTS[_stem(zone)]
    contact = CONTACTS[str(TECHNIQUES[technique])]
    area_mm2 = contact.area_mm2
    # candidate caps on the load through this contact, N, with the limit they come from
    caps: list[tuple[float, str]] = [
        (
            LEVELS[top_level].max_kpa * area_mm2 / 1000.0,
            f"zone default level {top_level} ({LEVELS[top_level].max_kpa:g} kPa over the "
            f"{contact.name}, {contact.area_cm2:g} cm²)",
        )
    ]
    if restr.max_pressure_kpa is not None:
        src = _rules_imposing(screening, lambda r: r.max_pressure_kpa is not None)
        caps.append(
            (
                restr.max_pressure_kpa * area_mm2 / 1000.0,
                f"screening restrictions.max_pressure_kpa {restr.max_pressure_kpa:g} kPa{src}",
            )
        )
    if restr.max_load_fraction is not None:
        src = _rules_imposing(screening, lambda r: r.max_load_fraction is not None)
        caps.append(
            (
                restr.max_load_fraction * weight_n,
                f"screening restrictions.max_load_fraction {restr.max_load_fraction:g} "
                f"of the therapist's weight{src}",
            )
        )
    ceiling = comfort.for_zone(zone) if comfort is not None else None
    if ceiling is not None:
        caps.append(
            (
                ceiling * area_mm2 / 1000.0,
                f"client's comfort ceiling {ceiling:g} kPa"
                + (f" ({comfort.source})" if comfort is not None and comfort.source else ""),
            )
        )
    caps.append(
        (
            DEFAULT_MAX_LOAD_FRACTION * weight_n,
            f"default cap {DEFAULT_MAX_LOAD_FRACTION:g} of the therapist's weight "
            "(never full, unsupported weight: the bars carry the rest)",
        )
    )
    load, reason = min(caps, key=lambda c: c[0])
    if load <= 0.0:
        return refuse(reason)
    pressure = load / area_mm2 * 1000.0
    return ZonePlan(
        zone,
        True,
        technique,
        level_for_pressure(pressure),
        pressure,
        load,
        load / weight_n,
        weight_n - load,
        reason,
        centroid,
    )


def make_plan(
    screening: Screening,
    therapist_mass_kg: float,
    zone_map: ZoneMap | None = None,
    comfort: ComfortCap | float | None = None,
) -> SessionPlan:
    """Turn a screening into a per-zone session plan.

    Parameters
    ----------
    screening : Screening
        The client's screening (contract section 3).
    therapist_mass_kg : float
        Therapist's body mass, kg (30-250).
    zone_map : ZoneMap, optional
        The client's zone map; when given, each zone's plan carries its centroid (mm).
    comfort : ComfortCap or float, optional
        The client's comfort ceiling (a float: kPa on every zone), e.g. proposed from the
        client's "too much" markers (:mod:`ashiguard.domain.comfort`). It is one more cap on
        each zone's mean contact pressure: it lowers levels and bands, never raises them.

    Returns
    -------
    SessionPlan

    Notes
    -----
    Safety: a ``defer``, ``clearance_required`` or ``decline`` screening gives a plan with no
    barefoot work at all (every zone level 0), listing the findings. Endangerment zones are
    never loaded by the feet. Per-zone loads are for the contact on that zone; the total on the
    client (both feet) must also stay under ``max_load_fraction`` of the therapist's weight:
    the screening's cap, and never more than :data:`DEFAULT_MAX_LOAD_FRACTION`.
    """
    m = therapist_mass_kg
    if isinstance(m, bool) or not isinstance(m, int | float) or not math.isfinite(m):
        raise InputError(f"therapist_mass_kg: must be a number of kg, got {m!r}")
    if not 30.0 <= m <= 250.0:
        raise InputError(f"therapist_mass_kg: {m:g} kg is outside 30-250 kg")
    weight = float(m) * G
    if comfort is not None and not isinstance(comfort, ComfortCap):
        comfort = ComfortCap(kpa=comfort)
    if comfort is not None and comfort.kpa is None and not comfort.zones:
        comfort = None  # an empty ceiling caps nothing
    findings = tuple(
        {"rule": f.rule, "decision": f.decision.value, "reason": f.reason}
        for f in screening.findings
    )
    decision = Decision(screening.decision)
    if decision not in (Decision.CLEARED, Decision.MODIFY):
        why = "; ".join(f"{f.rule}: {f.reason}" for f in screening.findings) or "no findings"
        reason = f"screening decision {decision.value}: no barefoot work ({why})"
        zones = tuple(
            ZonePlan(
                z,
                False,
                "none",
                0,
                0.0,
                0.0,
                0.0,
                weight,
                reason,
                zone_map.centroid(z) if zone_map else None,
            )
            for z in ZONES
        )
        return SessionPlan(
            screening.client_id,
            screening.date,
            decision.value,
            False,
            float(m),
            weight,
            0.0,
            f"No barefoot work: screening decision {decision.value} ({len(findings)} finding(s)).",
            findings,
            zones,
            screening.rules_version,
            comfort,
        )
    plans = tuple(_zone_plan(z, screening, weight, zone_map, comfort) for z in ZONES)
    fraction = screening.restrictions.max_load_fraction
    total = (
        DEFAULT_MAX_LOAD_FRACTION if fraction is None else min(fraction, DEFAULT_MAX_LOAD_FRACTION)
    )
    allowed = sum(p.allowed for p in plans)
    summary = (
        f"Barefoot work on {allowed} of {len(plans)} zones; at most {total:.0%} of the "
        f"therapist's weight ({total * weight:.0f} N) on the client in total, the bars carry "
        f"the rest."
    )
    if comfort is not None:
        limit = comfort.kpa if comfort.kpa is not None else min(comfort.zones.values(), default=0)
        summary += f" Client's comfort ceiling {limit:g} kPa applied" + (
            f" ({comfort.source})." if comfort.source else "."
        )
    return SessionPlan(
        screening.client_id,
        screening.date,
        decision.value,
        True,
        float(m),
        weight,
        total,
        summary,
        findings,
        plans,
        screening.rules_version,
        comfort,
    )
