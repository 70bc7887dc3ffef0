"""An intake indexed for predicate evaluation, and what a predicate returns.

A predicate is a plain function of :class:`Facts` that returns the :class:`Hit` facts that
made it true, or None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ashiguard.domain.codes import CodeKind
from ashiguard.domain.intake import Condition, Intake, Procedure, age_on

__all__ = ["Facts", "Hit", "Hits", "Predicate"]


@dataclass(frozen=True)
class Hit:
    """One fact that made a predicate true; ``side`` for sided restrictions."""

    text: str
    side: str | None = None


Hits = tuple[Hit, ...]
Predicate = Callable[["Facts"], Hits | None]


class Facts:
    """An intake indexed for fast predicate evaluation."""

    __slots__ = (
        "age",
        "conditions",
        "day",
        "diastolic",
        "intake",
        "known",
        "medications",
        "pregnant",
        "procedures",
        "symptoms",
        "systolic",
        "temperature",
    )

    def __init__(self, intake: Intake, known: Mapping[CodeKind, frozenset[str]]) -> None:
        self.intake = intake
        self.known = known
        self.day = intake.date
        self.conditions: dict[str, list[Condition]] = {}
        for c in intake.conditions:
            self.conditions.setdefault(c.code, []).append(c)
        self.procedures: dict[str, list[Procedure]] = {}
        for p in intake.procedures:
            self.procedures.setdefault(p.code, []).append(p)
        self.medications = {m.code: m.name for m in intake.medications}
        self.symptoms = frozenset(intake.symptoms)
        self.systolic = intake.vitals.systolic_mmhg
        self.diastolic = intake.vitals.diastolic_mmhg
        self.temperature = intake.vitals.temperature_c
        birth = intake.client.birth_date
        self.age = None if birth is None else age_on(birth, intake.date)
        self.pregnant = intake.pregnancy.pregnant is True

    def keys(self) -> set[str]:
        """Trigger keys of the facts present (see :func:`triggers`)."""
        keys = {f"condition:{c}" for c in self.conditions}
        keys.update(f"procedure:{c}" for c in self.procedures)
        keys.update(f"medication:{c}" for c in self.medications)
        keys.update(f"symptom:{c}" for c in self.symptoms)
        if self.systolic is not None or self.diastolic is not None:
            keys.add("bp")
        for name in ("temperature", "age"):
            if getattr(self, name) is not None:
                keys.add(name)
        if self.pregnant:
            keys.add("pregnant")
        return keys
