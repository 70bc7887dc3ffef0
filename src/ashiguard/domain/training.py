"""Training mode: exercises an instructor sets, and a student's attempt scored against one.

An *exercise* (``ashiguard.exercise/1``, TOML; docs/training.md) names the zone(s) to work,
the contact (heel, forefoot, whole foot), a target band of mean contact pressure (a level 0-5
of the planner's own table :data:`~ashiguard.domain.plan.LEVELS`, or an explicit band in kPa),
hold or stroke, the duration, the tolerances that make a pass, and the forbidden zones whose
loading fails the attempt outright.

:class:`AttemptScorer` takes a recording's (or a live source's) frames chunk by chunk and
scores them: time in band, overshoot integral above the band (kPa·s), steadiness (coefficient
of variation of the zone pressure while in contact), onset (first entry into the band),
forbidden-zone loads, and pass/fail with the reasons.

Notes
-----
- The *zone pressure* is the delivery's and the live view's: the mean of a zone's loaded
  sensels (above :data:`~ashiguard.domain.live_view.CONTACT_KPA`), the zone loaded when at
  least :data:`~ashiguard.domain.live_view.MIN_CONTACT_SENSELS` sensels are
  (:meth:`~ashiguard.domain.delivery.DeliveryAccumulator.zone_means`): a trainee is scored on
  exactly what the clinic's planned-vs-delivered and live indicator show.
- With several target zones the attempt's value in a frame is the highest zone pressure among
  the loaded target zones (the zone the student is pressing hardest).
- Frames are weighted by the time since the previous frame, capped at
  :data:`~ashiguard.domain.delivery.MAX_GAP_S`: a signal gap never counts as time in band.
- Only the first ``duration_s`` of stream time (from the first frame) is scored.
- The band of a level is the planner's (:func:`level_band`, the same table as
  :func:`~ashiguard.domain.plan.target_band`); level 0 (a weightless hold) has no band and is
  refused in an exercise.
"""

from __future__ import annotations

import calendar
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from ashiguard.domain.delivery import MAX_GAP_S, DeliveryAccumulator
from ashiguard.domain.errors import InputError
from ashiguard.domain.plan import LEVELS
from ashiguard.domain.practice import Check, Readiness
from ashiguard.domain.zones import ENDANGERMENT_ZONES, ZONES

__all__ = [
    "ATTEMPT_CSV_COLUMNS",
    "CONTACT_KINDS",
    "EXERCISE_SCHEMA",
    "EXPIRING_DAYS",
    "FORBIDDEN_DEFAULT",
    "SHIPPED_EXERCISES",
    "SKILLS",
    "SKILL_WORDS",
    "STANDINGS",
    "TECHNIQUE_KINDS",
    "AttemptScore",
    "AttemptScorer",
    "Criterion",
    "Exercise",
    "ForbiddenLoad",
    "PassedAssessment",
    "SkillStanding",
    "Tolerance",
    "TrainingPolicy",
    "assessment_checks",
    "attempt_row",
    "level_band",
    "months_after",
    "months_before",
    "parse_exercise",
    "parse_training_policy",
    "plain_words",
    "score_attempt",
    "score_criteria",
    "shipped_exercise",
    "skill_standing",
    "skill_words",
    "with_assessments",
]

EXERCISE_SCHEMA = "ashiguard.exercise/1"

CONTACT_KINDS: dict[str, str] = {"heel": "heel", "forefoot": "forefoot", "whole_foot": "foot"}
"""Exercise contact -> contact model of :data:`ashiguard.domain.mechanics.CONTACTS`."""

TECHNIQUE_KINDS = ("hold", "stroke")

SKILLS: tuple[str, ...] = tuple(f"{c}_{t}" for c in CONTACT_KINDS for t in TECHNIQUE_KINDS)
"""What an exercise assesses: its contact and technique (``heel_hold``, ``whole_foot_stroke``)."""

FORBIDDEN_DEFAULT: tuple[str, ...] = (
    "spine_lumbar",
    "spine_thoracic",
    "kidney_left",
    "kidney_right",
)
"""Forbidden zones of an exercise that names none."""

SHIPPED_EXERCISES: tuple[str, ...] = (
    "lumbar-heel-hold",
    "thoracic-glide",
    "hamstring-forefoot-stroke",
    "gluteal-deep-hold",
)
"""The exercises shipped in the package (``domain/exercises/NAME.toml``)."""


def level_band(level: int) -> tuple[float, float]:
    """Band of mean contact pressure of a level 1-5, kPa: from the top of the level below to
    the level's top (the planner's :data:`~ashiguard.domain.plan.LEVELS`, as
    :func:`~ashiguard.domain.plan.target_band`)."""
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level < len(LEVELS):
        raise InputError(f"target.level: must be an integer 1-{len(LEVELS) - 1}, got {level!r}")
    return (LEVELS[level - 1].max_kpa, LEVELS[level].max_kpa)


@dataclass(frozen=True)
class Tolerance:
    """What an attempt must achieve to pass.

    Attributes
    ----------
    min_in_band_fraction : float
        Share of the time in band (hold: of the exercise's duration; stroke: of the contact
        time), 0-1.
    max_overshoot_kpa_s : float, kPa·s
        Largest integral of the zone pressure above the band.
    max_cv : float
        Largest coefficient of variation of the zone pressure while in contact (steadiness).
    max_onset_s : float, s
        Latest first entry into the band, from the attempt's start.
    """

    min_in_band_fraction: float = 0.7
    max_overshoot_kpa_s: float = 20.0
    max_cv: float = 0.2
    max_onset_s: float = 5.0

    def to_json(self) -> dict[str, float]:
        return {
            "min_in_band_fraction": self.min_in_band_fraction,
            "max_overshoot_kpa_s": self.max_overshoot_kpa_s,
            "max_cv": self.max_cv,
            "max_onset_s": self.max_onset_s,
        }


@dataclass(frozen=True)
class Exercise:
    """One exercise (see the module docstring and docs/training.md).

    Attributes
    ----------
    id : str
        Short name (letters, digits, ``-``, ``_``).
    version : int
        The exercise's own version (an edited exercise gets a new one).
    title : str
        What the student reads.
    zones : tuple of str
        Target zones (treatment targets, never endangerment zones).
    contact : str
        ``heel``, ``forefoot`` or ``whole_foot``.
    technique : str
        ``hold`` or ``stroke``.
    level : int or None
        Target level 1-5 when the band comes from the planner's table.
    low_kpa, high_kpa : float, kPa
        Target band of mean contact pressure.
    duration_s : float, s
        Length of the attempt.
    tolerance : Tolerance
        What makes a pass.
    forbidden_zones : tuple of str
        Zones whose loading fails the attempt.
    """

    id: str
    version: int
    title: str
    zones: tuple[str, ...]
    contact: str
    technique: str
    level: int | None
    low_kpa: float
    high_kpa: float
    duration_s: float
    tolerance: Tolerance = field(default_factory=Tolerance)
    forbidden_zones: tuple[str, ...] = FORBIDDEN_DEFAULT

    @property
    def skill(self) -> str:
        """Contact and technique, one of :data:`SKILLS` (what a clinic policy asks for)."""
        return f"{self.contact}_{self.technique}"

    def to_json(self) -> dict[str, Any]:
        """The exercise as JSON (what a recording of an attempt carries)."""
        target: dict[str, Any] = {"low_kpa": self.low_kpa, "high_kpa": self.high_kpa}
        if self.level is not None:
            target = {"level": self.level, **target}
        return {
            "schema": EXERCISE_SCHEMA,
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "zones": list(self.zones),
            "contact": self.contact,
            "technique": self.technique,
            "duration_s": self.duration_s,
            "target": target,
            "tolerance": self.tolerance.to_json(),
            "forbidden_zones": list(self.forbidden_zones),
        }


_TOP_KEYS = {
    "schema",
    "id",
    "version",
    "title",
    "zones",
    "contact",
    "technique",
    "duration_s",
    "target",
    "tolerance",
    "forbidden_zones",
}


def _number(where: str, v: Any, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InputError(f"{where}: must be a number, got {v!r}")
    if not lo <= v <= hi:
        raise InputError(f"{where}: must be between {lo:g} and {hi:g}, got {v!r}")
    return float(v)


def _zone_list(where: str, v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(z, str) for z in v):
        raise InputError(f"{where}: must be a list of zone names")
    for z in v:
        if z not in ZONES:
            raise InputError(f"{where}: unknown zone {z!r}")
    if len(set(v)) != len(v):
        raise InputError(f"{where}: a zone is listed twice")
    return tuple(v)


def _table(where: str, v: Any, keys: set[str]) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise InputError(f"{where}: must be a table")
    unknown = sorted(set(v) - keys)
    if unknown:
        raise InputError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(sorted(keys))})")
    return v


def parse_exercise(data: str | Mapping[str, Any]) -> Exercise:
    """Read an exercise from TOML text or its parsed table.

    Raises
    ------
    InputError
        One line naming the key (``target.level: must be an integer 1-5, got 7``) or, for
        TOML that does not parse, the line (``line 3: ...``).
    """
    if isinstance(data, str):
        try:
            raw: Mapping[str, Any] = tomllib.loads(data)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"TOML: {exc}") from None
    else:
        raw = data
    d = _table("exercise", dict(raw), _TOP_KEYS)
    if d.get("schema") != EXERCISE_SCHEMA:
        raise InputError(f"schema: must be {EXERCISE_SCHEMA!r}, got {d.get('schema')!r}")
    ident = d.get("id")
    if (
        not isinstance(ident, str)
        or not ident
        or len(ident) > 64
        or not all(c.isalnum() or c in "-_" for c in ident)
    ):
        raise InputError(f"id: must be 1-64 letters, digits, '-' or '_', got {ident!r}")
    version = d.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InputError(f"version: must be an integer >= 1, got {version!r}")
    title = d.get("title", ident)
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise InputError("title: must be a text of 1-200 characters")
    if "zones" not in d:
        raise InputError("zones: missing (a list of target zones)")
    zones = _zone_list("zones", d["zones"])
    if not zones:
        raise InputError("zones: name at least one target zone")
    danger = [z for z in zones if z in ENDANGERMENT_ZONES]
    if danger:
        raise InputError(f"zones: {danger[0]} is an endangerment zone, never a target")
    contact = d.get("contact")
    if contact not in CONTACT_KINDS:
        raise InputError(f"contact: must be one of {', '.join(CONTACT_KINDS)}, got {contact!r}")
    technique = d.get("technique")
    if technique not in TECHNIQUE_KINDS:
        raise InputError(f"technique: must be hold or stroke, got {technique!r}")
    if "duration_s" not in d:
        raise InputError("duration_s: missing (length of the attempt, s)")
    duration = _number("duration_s", d["duration_s"], 5.0, 600.0)
    if "target" not in d:
        raise InputError("target: missing (a level 1-5 or low_kpa and high_kpa)")
    target = _table("target", d["target"], {"level", "low_kpa", "high_kpa"})
    level: int | None = None
    if "level" in target:
        if "low_kpa" in target or "high_kpa" in target:
            raise InputError("target: give a level or low_kpa/high_kpa, not both")
        level = target["level"]
        low, high = level_band(level)
    else:
        if "low_kpa" not in target or "high_kpa" not in target:
            raise InputError("target: give a level 1-5 or both low_kpa and high_kpa")
        low = _number("target.low_kpa", target["low_kpa"], 0.0, 200.0)
        high = _number("target.high_kpa", target["high_kpa"], 0.0, 200.0)
        if not low < high:
            raise InputError(f"target.high_kpa: must be above low_kpa ({low:g}), got {high:g}")
        if high - low < 2.0:
            raise InputError("target.high_kpa: the band must be at least 2 kPa wide")
    tol_raw = _table(
        "tolerance",
        d.get("tolerance", {}),
        {"min_in_band_fraction", "max_overshoot_kpa_s", "max_cv", "max_onset_s"},
    )
    dflt = Tolerance()
    tol = Tolerance(
        min_in_band_fraction=_number(
            "tolerance.min_in_band_fraction",
            tol_raw.get("min_in_band_fraction", dflt.min_in_band_fraction),
            0.0,
            1.0,
        ),
        max_overshoot_kpa_s=_number(
            "tolerance.max_overshoot_kpa_s",
            tol_raw.get("max_overshoot_kpa_s", dflt.max_overshoot_kpa_s),
            0.0,
            1e6,
        ),
        max_cv=_number("tolerance.max_cv", tol_raw.get("max_cv", dflt.max_cv), 0.0, 10.0),
        max_onset_s=_number(
            "tolerance.max_onset_s", tol_raw.get("max_onset_s", dflt.max_onset_s), 0.0, duration
        ),
    )
    forbidden = FORBIDDEN_DEFAULT
    if "forbidden_zones" in d:
        forbidden = _zone_list("forbidden_zones", d["forbidden_zones"])
    both = [z for z in forbidden if z in zones]
    if both:
        raise InputError(f"forbidden_zones: {both[0]} is also a target zone")
    return Exercise(
        id=ident,
        version=version,
        title=title.strip(),
        zones=zones,
        contact=str(contact),
        technique=str(technique),
        level=level,
        low_kpa=float(low),
        high_kpa=float(high),
        duration_s=duration,
        tolerance=tol,
        forbidden_zones=forbidden,
    )


def shipped_exercise(name: str) -> Exercise:
    """One of :data:`SHIPPED_EXERCISES` (``domain/exercises/NAME.toml``)."""
    if name not in SHIPPED_EXERCISES:
        raise InputError(
            f"exercise: {name!r} is not shipped; choose one of {', '.join(SHIPPED_EXERCISES)}"
        )
    text = resources.files("ashiguard.domain").joinpath(f"exercises/{name}.toml").read_text("utf-8")
    return parse_exercise(text)


@dataclass(frozen=True)
class ForbiddenLoad:
    """A forbidden zone that was loaded during the attempt."""

    zone: str
    first_t: float
    loaded_s: float
    peak_kpa: float

    def to_json(self) -> dict[str, Any]:
        return {
            "zone": self.zone,
            "first_t": round(self.first_t, 2),
            "loaded_s": round(self.loaded_s, 2),
            "peak_kpa": round(self.peak_kpa, 1),
        }


@dataclass(frozen=True)
class AttemptScore:
    """The score of one attempt (definitions in docs/training.md).

    Attributes
    ----------
    exercise_id : str
        The exercise (``id``) and ``exercise_version``.
    passed : bool
        Whether every tolerance was met and no forbidden zone was loaded.
    reasons : tuple of str
        Why it failed (empty when passed), one sentence each.
    scored_s, contact_s, in_band_s, under_s, over_s : float, s
        Scored stream time, time in contact with a target zone, and its split.
    in_band_fraction : float
        ``in_band_s`` over the duration (hold) or over ``contact_s`` (stroke).
    overshoot_kpa_s : float, kPa·s
        Integral of the zone pressure above the band.
    cv : float or None
        Coefficient of variation of the zone pressure while in contact (None: no contact).
    mean_kpa, peak_kpa : float or None, kPa
        Time-weighted mean and largest zone pressure while in contact.
    onset_s : float or None, s
        First entry into the band from the start (None: never).
    forbidden : tuple of ForbiddenLoad
        Forbidden zones that were loaded.
    frames : int
        Frames scored.
    """

    exercise_id: str
    exercise_version: int
    passed: bool
    reasons: tuple[str, ...]
    low_kpa: float
    high_kpa: float
    scored_s: float
    contact_s: float
    in_band_s: float
    under_s: float
    over_s: float
    in_band_fraction: float
    overshoot_kpa_s: float
    cv: float | None
    mean_kpa: float | None
    peak_kpa: float | None
    onset_s: float | None
    forbidden: tuple[ForbiddenLoad, ...]
    frames: int

    def to_json(self) -> dict[str, Any]:
        """The score as JSON (``schema`` ``ashiguard.attempt-score/1``)."""

        def r(v: float | None, nd: int = 2) -> float | None:
            return None if v is None else round(v, nd)

        return {
            "schema": "ashiguard.attempt-score/1",
            "exercise": self.exercise_id,
            "exercise_version": self.exercise_version,
            "passed": self.passed,
            "reasons": list(self.reasons),
            "band_kpa": [self.low_kpa, self.high_kpa],
            "scored_s": r(self.scored_s),
            "contact_s": r(self.contact_s),
            "in_band_s": r(self.in_band_s),
            "under_s": r(self.under_s),
            "over_s": r(self.over_s),
            "in_band_fraction": r(self.in_band_fraction, 3),
            "overshoot_kpa_s": r(self.overshoot_kpa_s, 1),
            "cv": r(self.cv, 3),
            "mean_kpa": r(self.mean_kpa, 1),
            "peak_kpa": r(self.peak_kpa, 1),
            "onset_s": r(self.onset_s),
            "forbidden": [f.to_json() for f in self.forbidden],
            "frames": self.frames,
        }


class AttemptScorer:
    """Score frames against an exercise, one chunk at a time (see the module notes).

    Parameters
    ----------
    exercise : Exercise
        What was asked.
    labels : int array [rows, cols]
        Zone index of each sensel into ``zone_names`` (-1 off the body), e.g.
        ``ZoneMap.rasterize(grid).labels``.
    zone_names : sequence of str
        The slug of each label (``ZONES``).
    max_gap_s : float, s
        Largest time weight of one frame.

    Attributes
    ----------
    value_kpa : float or None
        The zone pressure of the latest frame (None: no target zone loaded).
    state : str
        The latest frame: ``idle`` (no contact), ``under``, ``on`` or ``over`` the band.
    forbidden_now : tuple of str
        Forbidden zones loaded in the latest frame.
    """

    def __init__(
        self,
        exercise: Exercise,
        labels: npt.ArrayLike,
        zone_names: Sequence[str] = ZONES,
        max_gap_s: float = MAX_GAP_S,
    ) -> None:
        self.exercise = exercise
        self._acc = DeliveryAccumulator(labels, zone_names, (), max_gap_s)
        present = self._acc.raster_zones
        missing = [z for z in exercise.zones if z not in present]
        if len(missing) == len(exercise.zones):
            raise InputError(
                f"zones: {', '.join(missing)} not on the sensor: the attempt cannot be scored"
            )
        self._target = np.array([z in exercise.zones for z in present])
        self._forbidden = [(j, z) for j, z in enumerate(present) if z in exercise.forbidden_zones]
        self.max_gap_s = float(max_gap_s)
        self._t0: float | None = None
        self._last_t: float | None = None
        self.frames = 0
        self.scored_s = 0.0
        self.contact_s = 0.0
        self.in_band_s = 0.0
        self.under_s = 0.0
        self.over_s = 0.0
        self.overshoot = 0.0
        self._sw = 0.0  # sum of w * v, w * v^2 while in contact
        self._sw2 = 0.0
        self.peak: float | None = None
        self.onset: float | None = None
        self._fb: dict[str, list[float]] = {}  # zone -> [first_t, loaded_s, peak]
        self.value_kpa: float | None = None
        self.state = "idle"
        self.forbidden_now: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        """Whether the exercise's duration has been scored."""
        return (
            self._t0 is not None
            and self._last_t is not None
            and self._last_t - self._t0 >= self.exercise.duration_s
        )

    def add(self, times: npt.ArrayLike, pressure: npt.ArrayLike) -> None:
        """Take the next chunk: ``times`` [k] s (increasing), ``pressure`` [k, rows, cols] kPa.
        Frames past the exercise's duration are ignored."""
        t = np.asarray(times, dtype=np.float64).ravel()
        if t.size == 0:
            return
        if not np.isfinite(t).all():
            raise InputError("times: must be finite")
        means, loaded = self._acc.zone_means(pressure)
        if means.shape[0] != t.size:
            raise InputError(f"pressure: {means.shape[0]} frames for {t.size} times")
        if self._t0 is None:
            self._t0 = float(t[0])
        prev = np.concatenate([[t[0] if self._last_t is None else self._last_t], t[:-1]])
        step = t - prev
        if (step < 0).any():
            raise InputError("times: must not decrease")
        keep = t - self._t0 <= self.exercise.duration_s
        if not keep.any():
            return
        t, step, means, loaded = t[keep], step[keep], means[keep], loaded[keep]
        self._last_t = float(t[-1])
        self.frames += int(t.size)
        dt = np.minimum(step, self.max_gap_s)
        self.scored_s += float(dt.sum())
        tgt = np.where(loaded[:, self._target], means[:, self._target], -np.inf)
        v = tgt.max(axis=1) if tgt.shape[1] else np.full(t.size, -np.inf)
        contact = np.isfinite(v)
        vv = np.where(contact, v, 0.0)
        lo, hi = self.exercise.low_kpa, self.exercise.high_kpa
        under = contact & (vv < lo)
        over = contact & (vv > hi)
        on = contact & ~under & ~over
        w = dt * contact
        self.contact_s += float(w.sum())
        self.in_band_s += float((dt * on).sum())
        self.under_s += float((dt * under).sum())
        self.over_s += float((dt * over).sum())
        self.overshoot += float((dt * np.where(over, vv - hi, 0.0)).sum())
        self._sw += float((w * vv).sum())
        self._sw2 += float((w * vv * vv).sum())
        if contact.any():
            top = float(vv[contact].max())
            self.peak = top if self.peak is None else max(self.peak, top)
        if self.onset is None and on.any():
            self.onset = float(t[int(np.argmax(on))] - self._t0)
        now: list[str] = []
        for j, z in self._forbidden:
            hit = loaded[:, j]
            if hit.any():
                rec = self._fb.setdefault(z, [float(t[int(np.argmax(hit))] - self._t0), 0.0, 0.0])
                rec[1] += float((dt * hit).sum())
                rec[2] = max(rec[2], float(means[hit, j].max()))
                if hit[-1]:
                    now.append(z)
        self.forbidden_now = tuple(now)
        self.value_kpa = float(vv[-1]) if contact[-1] else None
        self.state = (
            "idle" if not contact[-1] else "under" if under[-1] else "over" if over[-1] else "on"
        )

    def result(self) -> AttemptScore:
        """The score of the frames so far."""
        ex = self.exercise
        tol = ex.tolerance
        c = self.contact_s
        mean = self._sw / c if c > 0 else None
        cv = None
        if mean is not None and mean > 0:
            var = max(0.0, self._sw2 / c - mean * mean)
            cv = math.sqrt(var) / mean
        base = ex.duration_s if ex.technique == "hold" else c
        frac = self.in_band_s / base if base > 0 else 0.0
        forbidden = tuple(
            ForbiddenLoad(z, fb[0], fb[1], fb[2])
            for z, fb in sorted(self._fb.items(), key=lambda kv: kv[1][0])
        )
        reasons: list[str] = []
        if self.scored_s < ex.duration_s - 2 * self.max_gap_s:
            reasons.append(
                f"the attempt lasted {self.scored_s:.1f} s of the exercise's {ex.duration_s:g} s"
            )
        for f in forbidden:
            reasons.append(
                f"forbidden zone {f.zone} loaded at {f.first_t:.1f} s "
                f"({f.loaded_s:.1f} s, up to {f.peak_kpa:.0f} kPa)"
            )
        if frac < tol.min_in_band_fraction:
            reasons.append(
                f"time in band {100 * frac:.0f} % below the {100 * tol.min_in_band_fraction:.0f} %"
                " asked"
            )
        if self.overshoot > tol.max_overshoot_kpa_s:
            reasons.append(
                f"overshoot {self.overshoot:.0f} kPa·s above the {tol.max_overshoot_kpa_s:g}"
                " allowed"
            )
        if cv is None:
            reasons.append("no contact with the target zone")
        elif cv > tol.max_cv:
            reasons.append(f"unsteady: variation {cv:.2f} above the {tol.max_cv:g} allowed")
        if self.onset is None:
            if cv is not None:
                reasons.append("never reached the band")
        elif self.onset > tol.max_onset_s:
            reasons.append(
                f"reached the band at {self.onset:.1f} s, later than {tol.max_onset_s:g} s"
            )
        return AttemptScore(
            exercise_id=ex.id,
            exercise_version=ex.version,
            passed=not reasons,
            reasons=tuple(reasons),
            low_kpa=ex.low_kpa,
            high_kpa=ex.high_kpa,
            scored_s=self.scored_s,
            contact_s=c,
            in_band_s=self.in_band_s,
            under_s=self.under_s,
            over_s=self.over_s,
            in_band_fraction=frac,
            overshoot_kpa_s=self.overshoot,
            cv=cv,
            mean_kpa=mean,
            peak_kpa=self.peak,
            onset_s=self.onset,
            forbidden=forbidden,
            frames=self.frames,
        )


def score_attempt(
    exercise: Exercise,
    chunks: Iterable[tuple[npt.ArrayLike, npt.ArrayLike]],
    labels: npt.ArrayLike,
    zone_names: Sequence[str] = ZONES,
) -> AttemptScore:
    """Score ``(times s, pressure kPa [k, rows, cols])`` chunks against ``exercise`` in one
    pass (see :class:`AttemptScorer`)."""
    scorer = AttemptScorer(exercise, labels, zone_names)
    for times, pressure in chunks:
        scorer.add(times, pressure)
        if scorer.done:
            break
    return scorer.result()


# -- the clinic's policy: a passed assessment within N months per skill


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (clamped to the month's last day)."""
    y, m = divmod(day.year * 12 + (day.month - 1) - months, 12)
    last = calendar.monthrange(y, m + 1)[1]
    return date(y, m + 1, min(day.day, last))


@dataclass(frozen=True)
class TrainingPolicy:
    """A clinic's rule: for each skill in ``skills``, a passed assessment (an attempt that
    passed an exercise of that skill) within the last ``months`` calendar months."""

    skills: tuple[str, ...]
    months: int = 12

    def __post_init__(self) -> None:
        if isinstance(self.months, bool) or not isinstance(self.months, int):
            raise InputError(f"months: must be an integer 1-120, got {self.months!r}")
        if not 1 <= self.months <= 120:
            raise InputError(f"months: must be an integer 1-120, got {self.months!r}")
        for skill in self.skills:
            if skill not in SKILLS:
                raise InputError(f"skills: unknown skill {skill!r}; one of {', '.join(SKILLS)}")
        if len(set(self.skills)) != len(self.skills):
            raise InputError("skills: a skill is listed twice")

    def to_text(self) -> str:
        """The policy as :func:`parse_training_policy` reads it (``12:heel_hold,...``)."""
        return f"{self.months}:{','.join(self.skills)}" if self.skills else ""


def parse_training_policy(text: str) -> TrainingPolicy | None:
    """``MONTHS:SKILL,SKILL`` (e.g. ``12:heel_hold,whole_foot_stroke``) -> a policy; an empty
    text means no policy (None)."""
    text = text.strip()
    if not text:
        return None
    months, sep, skills = text.partition(":")
    if not sep or not months.strip().isdigit():
        raise InputError(f"training policy: must be MONTHS:SKILL,SKILL..., got {text!r}")
    names = tuple(s.strip() for s in skills.split(",") if s.strip())
    if not names:
        raise InputError("training policy: name at least one skill after the months")
    return TrainingPolicy(names, int(months))


@dataclass(frozen=True)
class PassedAssessment:
    """A passed attempt: the exercise's skill and id, and the day it was taken."""

    skill: str
    exercise_id: str
    on: date


def assessment_checks(
    policy: TrainingPolicy, passed: Iterable[PassedAssessment], on: date
) -> tuple[Check, ...]:
    """One readiness check per skill of the policy, naming what is missing.

    A pass counts from its day to the same day ``months`` later; a pass dated after ``on``
    does not count.
    """
    since = months_before(on, policy.months)
    by_skill: dict[str, list[PassedAssessment]] = {}
    for p in passed:
        if p.on <= on:
            by_skill.setdefault(p.skill, []).append(p)
    checks = []
    for skill in policy.skills:
        name = f"training {skill}"
        done = sorted(by_skill.get(skill, []), key=lambda p: p.on)
        if done and done[-1].on >= since:
            last = done[-1]
            checks.append(
                Check(name, True, f"{skill}: passed {last.exercise_id} on {last.on.isoformat()}")
            )
        elif done:
            last = done[-1]
            checks.append(
                Check(
                    name,
                    False,
                    f"{skill}: no passed assessment within {policy.months} months "
                    f"(last passed {last.exercise_id} on {last.on.isoformat()})",
                )
            )
        else:
            checks.append(
                Check(name, False, f"{skill}: no passed assessment within {policy.months} months")
            )
    return tuple(checks)


def with_assessments(readiness: Readiness, checks: Sequence[Check]) -> Readiness:
    """The readiness gate's answer with the training checks added (go only if they pass)."""
    return Readiness(
        readiness.go and all(c.ok for c in checks),
        readiness.on,
        (*readiness.checks, *checks),
    )


# -- de-identified attempt rows (what researchers get)

ATTEMPT_CSV_COLUMNS: tuple[str, ...] = (
    "attempt",
    "exercise",
    "exercise_version",
    "skill",
    "technique",
    "contact",
    "low_kpa",
    "high_kpa",
    "duration_s",
    "passed",
    "in_band_s",
    "in_band_fraction",
    "overshoot_kpa_s",
    "cv",
    "onset_s",
    "mean_kpa",
    "peak_kpa",
    "forbidden_zones",
    "forbidden_s",
    "reasons",
)
"""Columns of the de-identified attempt CSV: no person, client, date, place or file name."""


def attempt_row(number: int, exercise: Exercise, score: AttemptScore) -> dict[str, Any]:
    """One attempt as a de-identified CSV row (:data:`ATTEMPT_CSV_COLUMNS`); ``number`` is the
    attempt's place in the export (1, 2, ...), never a record id. Numbers are rounded as in
    :meth:`AttemptScore.to_json`; absent values are empty; lists are joined with ``;``."""
    j = score.to_json()

    def cell(v: Any) -> Any:
        return "" if v is None else v

    return {
        "attempt": number,
        "exercise": exercise.id,
        "exercise_version": exercise.version,
        "skill": exercise.skill,
        "technique": exercise.technique,
        "contact": exercise.contact,
        "low_kpa": exercise.low_kpa,
        "high_kpa": exercise.high_kpa,
        "duration_s": exercise.duration_s,
        "passed": "yes" if score.passed else "no",
        "in_band_s": j["in_band_s"],
        "in_band_fraction": j["in_band_fraction"],
        "overshoot_kpa_s": j["overshoot_kpa_s"],
        "cv": cell(j["cv"]),
        "onset_s": cell(j["onset_s"]),
        "mean_kpa": cell(j["mean_kpa"]),
        "peak_kpa": cell(j["peak_kpa"]),
        "forbidden_zones": ";".join(f.zone for f in score.forbidden),
        "forbidden_s": round(sum(f.loaded_s for f in score.forbidden), 2),
        "reasons": "; ".join(score.reasons),
    }


# -- words for people, the criteria of a score, a practitioner's standing per skill

SKILL_WORDS: dict[str, str] = {
    "heel_hold": "heel hold",
    "heel_stroke": "heel stroke",
    "forefoot_hold": "forefoot hold",
    "forefoot_stroke": "forefoot stroke",
    "whole_foot_hold": "whole-foot hold",
    "whole_foot_stroke": "whole-foot stroke",
}
"""Each skill of :data:`SKILLS` in the clinic's words (pages and reports)."""


def skill_words(skill: str) -> str:
    """A skill in plain words (``heel_hold`` -> ``heel hold``); unknown ones as given."""
    return SKILL_WORDS.get(skill, skill.replace("_", " "))


@dataclass(frozen=True)
class Criterion:
    """One thing an attempt is judged on: what (``name``), what was measured (``measured``),
    what was asked (``asked``) and whether it was met (``ok``), all in plain words."""

    name: str
    measured: str
    asked: str
    ok: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "measured": self.measured, "asked": self.asked, "ok": self.ok}


def score_criteria(exercise: Exercise, score: AttemptScore) -> tuple[Criterion, ...]:
    """The pass/fail of each criterion of a score, in the order of its reasons: the tests of
    :meth:`AttemptScorer.result`, so every one is ``ok`` exactly when the attempt passed
    (without contact, *reached the band* is not met either, where the reasons only say
    "no contact")."""
    from ashiguard.domain.zone_names import zone_words

    tol = exercise.tolerance
    full = score.scored_s >= exercise.duration_s - 2 * MAX_GAP_S
    out = [
        Criterion(
            "Full length",
            f"{score.scored_s:.1f} s",
            f"{exercise.duration_s:g} s",
            full,
        ),
        Criterion(
            "Stayed off the forbidden zones",
            ", ".join(zone_words(f.zone) for f in score.forbidden) + " loaded"
            if score.forbidden
            else "none loaded",
            "none loaded",
            not score.forbidden,
        ),
        Criterion(
            "Time in the target band",
            f"{100 * score.in_band_fraction:.0f} % ({score.in_band_s:.1f} s)",
            f"at least {100 * tol.min_in_band_fraction:.0f} %",
            score.in_band_fraction >= tol.min_in_band_fraction,
        ),
        Criterion(
            "Too heavy (overshoot)",
            f"{score.overshoot_kpa_s:.0f} kPa·s",
            f"at most {tol.max_overshoot_kpa_s:g} kPa·s",
            score.overshoot_kpa_s <= tol.max_overshoot_kpa_s,
        ),
        Criterion(
            "Steady pressure (variation)",
            "no contact" if score.cv is None else f"{score.cv:.2f}",
            f"at most {tol.max_cv:g}",
            score.cv is not None and score.cv <= tol.max_cv,
        ),
        Criterion(
            "Reached the band in time",
            "never" if score.onset_s is None else f"after {score.onset_s:.1f} s",
            f"within {tol.max_onset_s:g} s",
            score.onset_s is not None and score.onset_s <= tol.max_onset_s,
        ),
    ]
    return tuple(out)


def months_after(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (clamped to the month's last day)."""
    return months_before(day, -months)


EXPIRING_DAYS = 30
"""A required skill's pass is *expiring* when it lapses within this many days."""

STANDINGS: tuple[str, ...] = ("passed", "expiring", "expired", "failed", "not_attempted")
"""A practitioner's standing in one skill (:class:`SkillStanding`)."""


@dataclass(frozen=True)
class SkillStanding:
    """Where a practitioner stands in one skill on a day.

    Attributes
    ----------
    skill : str
        One of :data:`SKILLS`.
    state : str
        ``passed`` (a pass; within the policy's months when the policy asks for the skill),
        ``expiring`` (a required pass that lapses within :data:`EXPIRING_DAYS`), ``expired``
        (a required skill whose last pass is older than the policy's months), ``failed``
        (attempts, none passed), ``not_attempted``.
    required : bool
        Whether the clinic's policy asks for the skill.
    last_passed : date or None
        Day of the latest pass, and its exercise (``exercise_id``).
    valid_until : date or None
        Last day the latest pass counts (required skills only).
    failed : int
        Failed attempts since the latest pass (all of them when never passed).
    """

    skill: str
    state: str
    required: bool
    last_passed: date | None
    exercise_id: str | None
    valid_until: date | None
    failed: int


def skill_standing(
    skill: str,
    passed: Iterable[PassedAssessment],
    failed_on: Iterable[date],
    policy: TrainingPolicy | None,
    on: date,
) -> SkillStanding:
    """A practitioner's standing in ``skill`` on ``on`` from their passes and the days of
    their failed attempts (of that skill); the same counting as :func:`assessment_checks`
    (a pass counts up to the same day ``months`` later; attempts after ``on`` do not count)."""
    passes = sorted((p for p in passed if p.skill == skill and p.on <= on), key=lambda p: p.on)
    required = policy is not None and skill in policy.skills
    last = passes[-1] if passes else None
    fails = [d for d in failed_on if d <= on and (last is None or d > last.on)]
    if last is None:
        state = "failed" if fails else "not_attempted"
        return SkillStanding(skill, state, required, None, None, None, len(fails))
    until = months_after(last.on, policy.months) if policy is not None and required else None
    if until is None:
        state = "passed"
    elif until < on:
        state = "expired"
    elif (until - on).days <= EXPIRING_DAYS:
        state = "expiring"
    else:
        state = "passed"
    return SkillStanding(skill, state, required, last.on, last.exercise_id, until, len(fails))


def plain_words(text: str) -> str:
    """A reason or check in the clinic's words: zone slugs (``spine_lumbar``) and skill
    names (``heel_hold``) replaced by words (``lower-back spine``, ``heel hold``)."""
    from ashiguard.domain.zone_names import ZONE_WORDS

    words = {**ZONE_WORDS, **SKILL_WORDS}
    pattern = r"(?<![\w-])(" + "|".join(sorted(words, key=len, reverse=True)) + r")(?![\w-])"
    return re.sub(pattern, lambda m: words[m.group(1)], text)
