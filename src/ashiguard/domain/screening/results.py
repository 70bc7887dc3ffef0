"""The result of a screening: decisions, restrictions, findings, and their JSON (contract 3).

:class:`Screening` is what :func:`~ashiguard.domain.screening.engine.screen` returns; its
``to_json`` writes and :func:`parse_screening` reads the ``ashiguard.screening/1`` object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import decode_document, format_validation_error
from ashiguard.domain.zone_names import ZONE_SLUGS

__all__ = [
    "DECISIONS",
    "SCREENING_SCHEMA",
    "Decision",
    "Finding",
    "Restrictions",
    "Screening",
    "parse_screening",
]

SCREENING_SCHEMA = "ashiguard.screening/1"


class Decision(StrEnum):
    """Screening decisions, least to most restrictive (contract section 3)."""

    CLEARED = "cleared"
    MODIFY = "modify"
    DEFER = "defer"
    CLEARANCE_REQUIRED = "clearance_required"
    DECLINE = "decline"

    @property
    def rank(self) -> int:
        """0 for ``cleared`` up to 4 for ``decline``."""
        return _RANKS[self]


DECISIONS: tuple[Decision, ...] = tuple(Decision)
_RANKS: dict[Decision, int] = {d: i for i, d in enumerate(DECISIONS)}


@dataclass(frozen=True)
class Restrictions:
    """What a ``modify`` session must respect.

    Parameters
    ----------
    avoid_zones : frozenset of str
        Contract zone slugs the therapist must not load.
    max_load_fraction : float or None
        Cap on the share of the therapist's body weight resting on the client (0-1).
    max_pressure_kpa : float or None
        Cap on contact pressure, kPa.
    """

    avoid_zones: frozenset[str] = frozenset()
    max_load_fraction: float | None = None
    max_pressure_kpa: float | None = None

    def combine(self, other: Restrictions) -> Restrictions:
        """Union of zones, minimum of each cap."""
        return Restrictions(
            self.avoid_zones | other.avoid_zones,
            _min(self.max_load_fraction, other.max_load_fraction),
            _min(self.max_pressure_kpa, other.max_pressure_kpa),
        )

    def covers(self, other: Restrictions) -> bool:
        """True when these restrictions are at least as strict as ``other``."""
        return (
            self.avoid_zones >= other.avoid_zones
            and _cap_covers(self.max_load_fraction, other.max_load_fraction)
            and _cap_covers(self.max_pressure_kpa, other.max_pressure_kpa)
        )

    @property
    def empty(self) -> bool:
        """True when nothing is restricted."""
        return (
            not self.avoid_zones
            and self.max_load_fraction is None
            and (self.max_pressure_kpa is None)
        )

    def to_json(self) -> dict[str, Any]:
        """The contract's ``restrictions`` object (zones in contract order)."""
        return {
            "avoid_zones": [z for z in ZONE_SLUGS if z in self.avoid_zones],
            "max_load_fraction": self.max_load_fraction,
            "max_pressure_kpa": self.max_pressure_kpa,
        }

    def describe(self) -> str:
        """One line for people: ``avoid kidney_left, kidney_right; load <= 0.4 x body weight``."""
        parts = []
        if self.avoid_zones:
            parts.append("avoid " + ", ".join(z for z in ZONE_SLUGS if z in self.avoid_zones))
        if self.max_load_fraction is not None:
            parts.append(f"load <= {self.max_load_fraction:g} x therapist body weight")
        if self.max_pressure_kpa is not None:
            parts.append(f"pressure <= {self.max_pressure_kpa:g} kPa")
        return "; ".join(parts) or "none"


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _cap_covers(mine: float | None, other: float | None) -> bool:
    return other is None or (mine is not None and mine <= other)


@dataclass(frozen=True)
class Finding:
    """One rule case that fired, with the facts that triggered it."""

    rule: str
    decision: Decision
    reason: str
    sources: tuple[str, ...]
    facts: tuple[str, ...] = ()
    restrictions: Restrictions = Restrictions()

    def to_json(self) -> dict[str, Any]:
        """The finding as a JSON object (contract fields plus ``facts``, ``restrictions``)."""
        return {
            "rule": self.rule,
            "decision": self.decision.value,
            "reason": self.reason,
            "sources": list(self.sources),
            "facts": list(self.facts),
            "restrictions": self.restrictions.to_json(),
        }


@dataclass(frozen=True)
class Screening:
    """The result of screening one intake (contract section 3, ``ashiguard.screening/1``)."""

    client_id: str
    date: date
    decision: Decision
    findings: tuple[Finding, ...]
    restrictions: Restrictions
    rules_version: str

    def to_json(self) -> dict[str, Any]:
        """The ``ashiguard.screening/1`` object."""
        return {
            "schema": SCREENING_SCHEMA,
            "client_id": self.client_id,
            "date": self.date.isoformat(),
            "decision": self.decision.value,
            "findings": [f.to_json() for f in self.findings],
            "restrictions": self.restrictions.to_json(),
            "rules_version": self.rules_version,
        }


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="ignore", allow_inf_nan=False)


class _RestrictionsIn(_In):
    avoid_zones: list[str] = []
    max_load_fraction: float | None = Field(default=None, ge=0, le=1)
    max_pressure_kpa: float | None = Field(default=None, gt=0)

    def build(self, where: str) -> Restrictions:
        for i, z in enumerate(self.avoid_zones):
            if z not in ZONE_SLUGS:
                raise InputError(f"{where}.avoid_zones[{i}]: {z!r} is not a contract zone slug")
        return Restrictions(
            frozenset(self.avoid_zones), self.max_load_fraction, self.max_pressure_kpa
        )


class _FindingIn(_In):
    rule: str = Field(min_length=1)
    decision: Decision = Field(strict=False)
    reason: str
    sources: list[str]
    facts: list[str] = []
    restrictions: _RestrictionsIn = _RestrictionsIn()


class _ScreeningIn(_In):
    schema_: str = Field(alias="schema")
    client_id: str = Field(min_length=1)
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    decision: Decision = Field(strict=False)
    findings: list[_FindingIn]
    restrictions: _RestrictionsIn
    rules_version: str = Field(min_length=1)


def parse_screening(data: dict[str, Any] | str | bytes) -> Screening:
    """Read an ``ashiguard.screening/1`` object (decoded, or as JSON text).

    Raises
    ------
    InputError
        Naming the field at fault; also when the decision is less restrictive than a finding.
    """
    data = decode_document(data, "screening", SCREENING_SCHEMA)
    try:
        doc = _ScreeningIn.model_validate(data)
        day = date.fromisoformat(doc.date)
    except ValidationError as exc:
        raise InputError(format_validation_error(exc)) from None
    except ValueError:
        raise InputError(f"date: not a calendar date: {doc.date!r}") from None
    findings = tuple(
        Finding(
            f.rule,
            f.decision,
            f.reason,
            tuple(f.sources),
            tuple(f.facts),
            f.restrictions.build(f"findings[{i}].restrictions"),
        )
        for i, f in enumerate(doc.findings)
    )
    for i, f in enumerate(findings):
        if f.decision.rank > doc.decision.rank:
            raise InputError(
                f"decision: {doc.decision.value!r} is less restrictive than "
                f"findings[{i}] ({f.rule}: {f.decision.value!r})"
            )
    return Screening(
        doc.client_id,
        day,
        doc.decision,
        findings,
        doc.restrictions.build("restrictions"),
        doc.rules_version,
    )
