"""The professional gate: a certified practitioner, inspected bars, a fitting screening.

The seed article draws the line between a trained professional working with controlled methods
and casual back walking. :func:`ready_to_treat` turns that line into checks made before a
session: every check that fails is reported, so a therapist sees all that stands in the way.

Formats (JSON, documented in docs/screening.md, examples in ``examples/``):
``ashiguard.practitioner/1`` and ``ashiguard.equipment/1``.

Notes
-----
Assumptions, each a parameter of :func:`ready_to_treat`:

- bars must have been inspected within the last 90 days (``max_inspection_age_days``);
- each bar alone must be rated for the therapist's full body weight times a safety factor of
  2.0 (``bar_safety_factor``): a therapist can hang from one bar, and stepping loads are
  dynamic; weight in N = mass in kg x 9.80665;
- the screening must be for the treatment day (``max_screening_age_days`` = 0) and its
  decision ``cleared`` or ``modify``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import IsoDate, decode_document, format_validation_error
from ashiguard.domain.screening import Decision, Screening

__all__ = [
    "BAREFOOT_TECHNIQUES",
    "EQUIPMENT_SCHEMA",
    "GRAVITY_M_S2",
    "PRACTITIONER_SCHEMA",
    "Bar",
    "Certification",
    "Check",
    "Equipment",
    "Practitioner",
    "Readiness",
    "parse_equipment",
    "parse_practitioner",
    "ready_to_treat",
]

PRACTITIONER_SCHEMA = "ashiguard.practitioner/1"
EQUIPMENT_SCHEMA = "ashiguard.equipment/1"
GRAVITY_M_S2 = 9.80665
BAREFOOT_TECHNIQUES = frozenset({"ashiatsu", "barefoot_massage"})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class Certification(_Model):
    """A certificate: the technique it covers, who issued it, when it is valid."""

    technique: Annotated[str, Field(min_length=1, max_length=80)]
    issuer: Annotated[str, Field(min_length=1, max_length=200)]
    issued: IsoDate
    expires: IsoDate | None = None


class Practitioner(_Model):
    """A therapist (``ashiguard.practitioner/1``); ``weight_kg`` is needed for the bar check."""

    schema_: Literal["ashiguard.practitioner/1"] = Field(alias="schema")
    id: Annotated[str, Field(min_length=1, max_length=200)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    weight_kg: Annotated[float, Field(ge=30, le=250)] | None = None
    training_hours: Annotated[float, Field(ge=0, le=100000)] = 0.0
    certifications: Annotated[tuple[Certification, ...], Field(strict=False)] = ()


class Bar(_Model):
    """One overhead bar: its rated load (N) and the day it was last inspected."""

    id: Annotated[str, Field(min_length=1, max_length=80)]
    rated_load_n: Annotated[float, Field(gt=0, le=1e6)]
    last_inspected: IsoDate | None = None


class Equipment(_Model):
    """A treatment room's overhead bars (``ashiguard.equipment/1``)."""

    schema_: Literal["ashiguard.equipment/1"] = Field(alias="schema")
    room: Annotated[str, Field(min_length=1, max_length=200)]
    bars: Annotated[tuple[Bar, ...], Field(strict=False, min_length=1)]


@dataclass(frozen=True)
class Check:
    """One readiness check: its name, whether it passed and why."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    """Go or no-go, with every check; ``reasons`` are the failed checks' details."""

    go: bool
    on: date
    checks: tuple[Check, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why not (empty when go)."""
        return tuple(c.detail for c in self.checks if not c.ok)

    def to_json(self) -> dict[str, Any]:
        """``ashiguard.readiness/1`` JSON object."""
        return {
            "schema": "ashiguard.readiness/1",
            "on": self.on.isoformat(),
            "go": self.go,
            "reasons": list(self.reasons),
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


def _parse(model: type[_Model], schema: str, data: dict[str, Any] | str | bytes, what: str) -> Any:
    data = decode_document(data, what, schema)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(format_validation_error(exc)) from None


def parse_practitioner(data: dict[str, Any] | str | bytes) -> Practitioner:
    """Validate an ``ashiguard.practitioner/1`` object; InputError names the field."""
    result: Practitioner = _parse(Practitioner, PRACTITIONER_SCHEMA, data, "practitioner")
    return result


def parse_equipment(data: dict[str, Any] | str | bytes) -> Equipment:
    """Validate an ``ashiguard.equipment/1`` object; InputError names the field."""
    result: Equipment = _parse(Equipment, EQUIPMENT_SCHEMA, data, "equipment")
    return result


def _certificate(p: Practitioner, on: date) -> Check:
    barefoot = [c for c in p.certifications if c.technique in BAREFOOT_TECHNIQUES]
    if not barefoot:
        return Check("certificate", False, f"{p.name} holds no barefoot (Ashiatsu) certificate")
    valid = [c for c in barefoot if c.issued <= on and (c.expires is None or on <= c.expires)]
    if valid:
        c = valid[0]
        until = f"valid until {c.expires.isoformat()}" if c.expires else "no expiry date"
        return Check("certificate", True, f"{c.technique} certificate from {c.issuer}, {until}")
    latest = max(barefoot, key=lambda c: c.expires or c.issued)
    if latest.issued > on:
        return Check("certificate", False, f"certificate not valid before {latest.issued}")
    return Check(
        "certificate", False, f"{latest.technique} certificate expired on {latest.expires}"
    )


def _training(p: Practitioner, min_hours: float) -> Check:
    ok = p.training_hours >= min_hours
    op = ">=" if ok else "<"
    return Check("training", ok, f"training {p.training_hours:g} h {op} required {min_hours:g} h")


def _inspection(bar: Bar, on: date, max_age_days: int) -> Check:
    name = f"bar {bar.id} inspection"
    if bar.last_inspected is None:
        return Check(name, False, f"bar {bar.id}: no inspection date recorded")
    age = (on - bar.last_inspected).days
    if age < 0:
        return Check(
            name, False, f"bar {bar.id}: inspection date {bar.last_inspected} is after {on}"
        )
    ok = age <= max_age_days
    op = "<=" if ok else ">"
    return Check(
        name,
        ok,
        f"bar {bar.id}: inspected {bar.last_inspected}, {age} days ago ({op} {max_age_days} days)",
    )


def _rating(bar: Bar, weight_kg: float | None, factor: float) -> Check:
    name = f"bar {bar.id} rating"
    if weight_kg is None:
        return Check(name, False, "therapist weight_kg unknown: cannot check the bar rating")
    need = weight_kg * GRAVITY_M_S2 * factor
    ok = bar.rated_load_n >= need
    op = ">=" if ok else "<"
    return Check(
        name,
        ok,
        f"bar {bar.id}: rated {bar.rated_load_n:g} N {op} {need:.0f} N "
        f"({weight_kg:g} kg x {GRAVITY_M_S2} m/s2 x {factor:g})",
    )


def _screening_checks(s: Screening, on: date, max_age_days: int) -> tuple[Check, Check]:
    fit = s.decision in (Decision.CLEARED, Decision.MODIFY)
    decision = Check(
        "screening decision",
        fit,
        f"screening decision is {s.decision.value!r}"
        + ("" if fit else " (barefoot work needs 'cleared' or 'modify')"),
    )
    age = (on - s.date).days
    if age < 0:
        when = Check("screening date", False, f"screening is for {s.date}, a later day than {on}")
    else:
        ok = age <= max_age_days
        when = Check(
            "screening date",
            ok,
            f"screening of {s.date} is {age} day{'' if age == 1 else 's'} old "
            f"({'<=' if ok else '>'} {max_age_days} days allowed)",
        )
    return decision, when


def ready_to_treat(
    practitioner: Practitioner,
    equipment: Equipment,
    screening: Screening,
    on: date,
    *,
    max_inspection_age_days: int = 90,
    bar_safety_factor: float = 2.0,
    max_screening_age_days: int = 0,
    min_training_hours: float = 0.0,
) -> Readiness:
    """Go or no-go for a barefoot session on ``on``, with every check and reason.

    Parameters
    ----------
    practitioner, equipment, screening
        Who treats, in which room, whom (the client's screening).
    on : date
        The treatment day.
    max_inspection_age_days : int
        Bars must have been inspected at most this many days before ``on`` (default 90).
    bar_safety_factor : float
        Each bar must be rated for therapist weight (N) times this factor (default 2.0).
    max_screening_age_days : int
        How old the screening may be, in days (default 0: screened on the treatment day).
    min_training_hours : float
        Minimum recorded training hours in the technique (default 0: the certificate decides).

    Returns
    -------
    Readiness
        ``go`` is True only when every check passed.
    """
    checks = [_certificate(practitioner, on), _training(practitioner, min_training_hours)]
    for bar in equipment.bars:
        checks.append(_inspection(bar, on, max_inspection_age_days))
        checks.append(_rating(bar, practitioner.weight_kg, bar_safety_factor))
    checks.extend(_screening_checks(screening, on, max_screening_age_days))
    return Readiness(all(c.ok for c in checks), on, tuple(checks))
