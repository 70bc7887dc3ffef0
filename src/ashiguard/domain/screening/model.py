"""The rule model: a compiled rule set, its rules and their cases."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ashiguard.domain.codes import CodeKind
from ashiguard.domain.screening.facts import Facts, Hits, Predicate
from ashiguard.domain.screening.predicates import triggers
from ashiguard.domain.screening.results import Decision, Finding, Restrictions

__all__ = ["Case", "Rule", "RuleSet"]


@dataclass(frozen=True)
class Case:
    """One outcome of a rule: when it applies, what follows and why."""

    when: Mapping[str, Any]
    decision: Decision
    reason: str
    restrictions: Restrictions
    sided: bool
    predicate: Predicate = field(compare=False, repr=False)

    def evaluate(self, f: Facts, rule: Rule) -> Finding | None:
        """The finding this case makes for the facts, or None when it does not fire."""
        hits = self.predicate(f)
        if hits is None:
            return None
        restrictions = self.restrictions
        if self.sided:
            restrictions = _narrow_sides(restrictions, hits)
        return Finding(
            rule.id,
            self.decision,
            self.reason,
            rule.sources,
            tuple(h.text for h in hits),
            restrictions,
        )


def _narrow_sides(r: Restrictions, hits: Hits) -> Restrictions:
    sides = {h.side for h in hits}
    if None in sides:
        return r
    keep = frozenset(
        z
        for z in r.avoid_zones
        if not z.endswith(("_left", "_right")) or z.rsplit("_", 1)[1] in sides
    )
    return Restrictions(keep, r.max_load_fraction, r.max_pressure_kpa)


@dataclass(frozen=True)
class Rule:
    """A rule of the rule set: an id, its sources and its cases."""

    id: str
    sources: tuple[str, ...]
    cases: tuple[Case, ...]
    raw_cases: tuple[Mapping[str, Any], ...] = field(compare=False, repr=False)
    source_keys: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def strictest(self) -> Decision:
        """The most restrictive decision any case of the rule can give."""
        return max((c.decision for c in self.cases), key=lambda d: d.rank)


@dataclass(frozen=True)
class RuleSet:
    """A versioned, compiled set of rules."""

    version: str
    title: str
    rules: tuple[Rule, ...]
    sources: Mapping[str, str]
    known_codes: Mapping[CodeKind, frozenset[str]]
    _plan: _Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_plan", _Plan.of(self.rules))

    def candidates(self, keys: Iterable[str]) -> list[tuple[Rule, Case]]:
        """The cases that can fire given the facts' trigger keys, in rule order."""
        plan = self._plan
        picked = set(plan.always)
        for key in keys:
            picked.update(plan.index.get(key, ()))
        return [plan.cases[i] for i in sorted(picked)]

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError when there is none)."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


@dataclass(frozen=True)
class _Plan:
    """Cases indexed by the facts that can make them fire, so screening skips the rest."""

    cases: tuple[tuple[Rule, Case], ...]
    index: Mapping[str, tuple[int, ...]]
    always: tuple[int, ...]

    @staticmethod
    def of(rules: Iterable[Rule]) -> _Plan:
        cases = tuple((r, c) for r in rules for c in r.cases)
        index: dict[str, list[int]] = {}
        always: list[int] = []
        for i, (_, case) in enumerate(cases):
            keys = triggers(case.when)
            if keys is None:
                always.append(i)
            for key in keys or ():
                index.setdefault(key, []).append(i)
        return _Plan(cases, {k: tuple(v) for k, v in index.items()}, tuple(always))
