"""Contraindication screening: rules as data, findings, decisions and restrictions.

A rule set is a TOML text (``ashiguard.rules/1``, the default ships as
``domain/rules/default-v1.toml``). Each rule has an id, sources and one or more cases; each
case has a structured predicate (``when``), a decision, restrictions and the reason a therapist
reads. Predicates are compiled once per rule set into plain Python closures (no ``eval``), so
screening an intake is a pass over the rules.

:func:`screen` returns a :class:`Screening` (contract section 3): every case that fired becomes
a :class:`Finding` with the facts that triggered it; the overall decision is the most
restrictive finding; restrictions are the union of avoided zones and the minimum of each cap.

Notes
-----
Safety assumptions, each documented in docs/screening.md:

- "within N weeks" is (screening date - event date) < 7N days, "within N months" < 30N days,
  "N months ago or more" is >= 30N days.
- An event without a date (procedure date, condition onset) satisfies every time window of a
  rule: an undated operation counts as recent and as past, so the strictest case applies.
- Statuses ``active`` and ``history`` count as present unless a predicate lists ``status``.
- Codes that are neither in the contract nor named by a rule fire the ``unknown_code``
  predicate (the default set makes that ``clearance_required``).
- A clinic file may add rules, and may override a default rule by id only with an equal or
  more restrictive decision and restrictions and the same predicates; loosening is refused.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ashiguard.domain.codes import CODES, CodeKind
from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import (
    Condition,
    Intake,
    Procedure,
    age_on,
    decode_document,
    format_validation_error,
)
from ashiguard.domain.zone_names import ZONE_SLUGS, expand_zone_pattern

__all__ = [
    "DECISIONS",
    "RULES_SCHEMA",
    "SCREENING_SCHEMA",
    "Case",
    "Decision",
    "Finding",
    "Restrictions",
    "Rule",
    "RuleSet",
    "Screening",
    "default_rules",
    "parse_rules",
    "parse_screening",
    "screen",
]

SCREENING_SCHEMA = "ashiguard.screening/1"
RULES_SCHEMA = "ashiguard.rules/1"


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


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class _Hit:
    """One fact that made a predicate true; ``side`` for sided restrictions."""

    text: str
    side: str | None = None


_Hits = tuple[_Hit, ...]
_Predicate = Callable[["_Facts"], _Hits | None]


class _Facts:
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
        """Trigger keys of the facts present (see :func:`_triggers`)."""
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


# --------------------------------------------------------------------------- predicates

_STATUSES = ("active", "history", "resolved")
_DEFAULT_STATUSES = frozenset({"active", "history"})
_UNIT_DAYS = {"days": 1, "weeks": 7, "months": 30}


class _RuleError(Exception):
    """A rules-file problem at ``field``; turned into an InputError naming file and rule."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")


def _expect_keys(node: Mapping[str, Any], where: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for key in node:
        if key not in allowed:
            path = f"{where}.{key}" if where else key
            raise _RuleError(path, f"unknown key; allowed: {', '.join(allowed)}")


def _codes(node: Mapping[str, Any], where: str) -> frozenset[str]:
    codes = node.get("codes")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and c for c in codes):
        raise _RuleError(f"{where}.codes", "expected a non-empty list of code strings")
    return frozenset(codes)


def _number(value: object, where: str, *, low: float = 0.0, high: float = 1e9) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _RuleError(where, f"expected a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class _Window:
    """``within`` (days < limit) or ``at_least`` (days >= limit) ago, from an event date."""

    within: bool
    days: int
    label: str

    def check(self, event: date | None, day: date, what: str) -> str | None:
        if event is None:
            return f"{what}, date not given (counts as {self.label})"
        elapsed = (day - event).days
        ok = elapsed < self.days if self.within else elapsed >= self.days
        if not ok:
            return None
        op = "<" if self.within else ">="
        return f"{what} on {event.isoformat()}, {elapsed} days ago ({op} {self.days}: {self.label})"


def _window(node: Mapping[str, Any], where: str) -> _Window | None:
    found: list[_Window] = []
    for unit, factor in _UNIT_DAYS.items():
        for prefix, within in (("within_", True), ("at_least_", False)):
            key = f"{prefix}{unit}" + ("" if within else "_ago")
            if key in node:
                n = int(_number(node[key], f"{where}.{key}", low=1, high=100000))
                label = f"within {n} {unit}" if within else f"{n} {unit} ago or more"
                found.append(_Window(within, n * factor, label))
    if len(found) > 1:
        raise _RuleError(where, "give at most one time window")
    return found[0] if found else None


_WINDOW_KEYS = tuple(
    f"{p}{u}{s}" for u in _UNIT_DAYS for p, s in (("within_", ""), ("at_least_", "_ago"))
)


def _statuses(node: Mapping[str, Any], where: str) -> frozenset[str]:
    raw = node.get("status")
    if raw is None:
        return _DEFAULT_STATUSES
    if not isinstance(raw, list) or not raw or any(s not in _STATUSES for s in raw):
        raise _RuleError(f"{where}.status", f"expected a list of {', '.join(_STATUSES)}")
    return frozenset(raw)


def _controlled(node: Mapping[str, Any], where: str) -> frozenset[bool | None] | None:
    raw = node.get("controlled")
    if raw is None:
        return None
    allowed: dict[object, bool | None] = {True: True, False: False, "unknown": None}
    if not isinstance(raw, list) or not raw or any(v not in allowed for v in raw):
        raise _RuleError(f"{where}.controlled", 'expected a list of true, false, "unknown"')
    return frozenset(allowed[v] for v in raw)


_SIDE_WORDS = {"left": "left", "l": "left", "lt": "left", "right": "right", "r": "right"}
_SIDE_WORDS["rt"] = "right"


def _side_of(site: str | None) -> str | None:
    """``left`` / ``right`` when the site names exactly one side, else None (both)."""
    if not site:
        return None
    sides = {_SIDE_WORDS[w] for w in re.findall(r"[a-z]+", site.lower()) if w in _SIDE_WORDS}
    return sides.pop() if len(sides) == 1 else None


def _condition_predicate(node: Mapping[str, Any], where: str) -> _Predicate:
    _expect_keys(node, where, ("codes", "status", "controlled", *_WINDOW_KEYS))
    codes = _codes(node, where)
    statuses = _statuses(node, where)
    controlled = _controlled(node, where)
    window = _window(node, where)

    def pred(f: _Facts) -> _Hits | None:
        hits: list[_Hit] = []
        for code in codes:
            for c in f.conditions.get(code, ()):
                if c.status not in statuses:
                    continue
                if controlled is not None and c.controlled not in controlled:
                    continue
                text = f"condition {code} ({c.status}" + _controlled_text(c) + ")"
                if window is not None:
                    timed = window.check(c.onset, f.day, text + " onset")
                    if timed is None:
                        continue
                    text = timed
                hits.append(_Hit(text))
        return tuple(hits) or None

    return pred


def _controlled_text(c: Condition) -> str:
    if c.controlled is None:
        return ""
    return ", controlled" if c.controlled else ", not controlled"


def _procedure_predicate(node: Mapping[str, Any], where: str) -> _Predicate:
    _expect_keys(node, where, ("codes", *_WINDOW_KEYS))
    codes = _codes(node, where)
    window = _window(node, where)

    def pred(f: _Facts) -> _Hits | None:
        hits: list[_Hit] = []
        for code in codes:
            for p in f.procedures.get(code, ()):
                text = f"procedure {code}" + (f" ({p.site})" if p.site else "")
                if window is not None:
                    timed = window.check(p.date, f.day, text)
                    if timed is None:
                        continue
                    text = timed
                hits.append(_Hit(text, _side_of(p.site)))
        return tuple(hits) or None

    return pred


def _medication_predicate(node: Mapping[str, Any], where: str) -> _Predicate:
    _expect_keys(node, where, ("codes",))
    codes = _codes(node, where)

    def pred(f: _Facts) -> _Hits | None:
        hits = tuple(
            _Hit(f"medication {c}" + (f" ({f.medications[c]})" if f.medications[c] else ""))
            for c in codes
            if c in f.medications
        )
        return hits or None

    return pred


def _symptom_predicate(node: Mapping[str, Any], where: str) -> _Predicate:
    _expect_keys(node, where, ("codes",))
    codes = _codes(node, where)

    def pred(f: _Facts) -> _Hits | None:
        return tuple(_Hit(f"symptom {c} today") for c in codes if c in f.symptoms) or None

    return pred


def _bp_pair(node: Mapping[str, Any], key: str, where: str) -> tuple[float, float]:
    raw = node[key]
    if not isinstance(raw, list) or len(raw) != 2:
        raise _RuleError(f"{where}.{key}", "expected [systolic, diastolic] in mmHg")
    return (
        _number(raw[0], f"{where}.{key}[0]", high=400),
        _number(raw[1], f"{where}.{key}[1]", high=400),
    )


def _bp_text(f: _Facts) -> str:
    s = "?" if f.systolic is None else f"{f.systolic:g}"
    d = "?" if f.diastolic is None else f"{f.diastolic:g}"
    return f"BP {s}/{d} mmHg"


def _bp_predicate(node: Mapping[str, Any], where: str) -> _Predicate:
    _expect_keys(node, where, ("at_least", "above", "below", "measured"))
    if len(node) != 1:
        raise _RuleError(where, "give exactly one of at_least, above, below, measured")
    if "measured" in node:
        if node["measured"] is not False:
            raise _RuleError(f"{where}.measured", "only `measured = false` is supported")
        return lambda f: (
            (_Hit("BP not measured"),) if f.systolic is None and f.diastolic is None else None
        )
    key = next(iter(node))
    ls, ld = _bp_pair(node, key, where)
    limit = f"{ls:g}/{ld:g}"

    def values(f: _Facts) -> list[tuple[float, float]]:
        pairs = ((f.systolic, ls), (f.diastolic, ld))
        return [(v, lim) for v, lim in pairs if v is not None]

    if key == "below":

        def below(f: _Facts) -> _Hits | None:
            vals = values(f)
            if vals and all(v < lim for v, lim in vals):
                return (_Hit(f"{_bp_text(f)} < {limit}"),)
            return None

        return below
    strict = key == "above"
    op = ">" if strict else ">="

    def over(f: _Facts) -> _Hits | None:
        if any((v > lim) if strict else (v >= lim) for v, lim in values(f)):
            return (_Hit(f"{_bp_text(f)} {op} {limit} (either)"),)
        return None

    return over


def _temperature_predicate(node: Mapping[str, Any], where: str) -> _Predicate:
    _expect_keys(node, where, ("at_least",))
    limit = _number(node.get("at_least"), f"{where}.at_least", low=30, high=45)

    def pred(f: _Facts) -> _Hits | None:
        t = f.temperature
        if t is not None and t >= limit:
            return (_Hit(f"temperature {t:g} C >= {limit:g} C"),)
        return None

    return pred


def _age_predicate(node: Mapping[str, Any], where: str) -> _Predicate:
    _expect_keys(node, where, ("below", "at_least"))
    if len(node) != 1:
        raise _RuleError(where, "give exactly one of below, at_least")
    key = next(iter(node))
    limit = _number(node[key], f"{where}.{key}", high=150)
    below = key == "below"

    def pred(f: _Facts) -> _Hits | None:
        a = f.age
        if a is None or (a >= limit if below else a < limit):
            return None
        return (_Hit(f"age {a} years {'<' if below else '>='} {limit:g}"),)

    return pred


def _pregnant_predicate(value: object, where: str) -> _Predicate:
    if value is not True:
        raise _RuleError(where, "only `pregnant = true` is supported")

    def pred(f: _Facts) -> _Hits | None:
        if not f.pregnant:
            return None
        weeks = f.intake.pregnancy.weeks
        return (_Hit("pregnant" + (f" ({weeks} weeks)" if weeks is not None else "")),)

    return pred


@dataclass
class _Compiler:
    """Compiles ``when`` tables; collects every code a rule names (they become known codes)."""

    named: dict[CodeKind, set[str]] = field(default_factory=lambda: {k: set() for k in CODES})

    def compile(self, node: object, where: str) -> _Predicate:
        if not isinstance(node, dict) or len(node) != 1:
            raise _RuleError(where, f"expected a table with exactly one of {', '.join(_KINDS)}")
        kind, body = next(iter(node.items()))
        sub = f"{where}.{kind}"
        if kind in ("any", "all"):
            return self._combinator(kind, body, sub)
        if kind == "pregnant":
            return _pregnant_predicate(body, sub)
        if kind == "unknown_code":
            if body is not True:
                raise _RuleError(sub, "only `unknown_code = true` is supported")
            return _unknown_codes
        if kind not in _KINDS:
            raise _RuleError(sub, f"unknown predicate; expected one of {', '.join(_KINDS)}")
        if not isinstance(body, dict):
            raise _RuleError(sub, "expected a table")
        if kind in self.named:
            self.named[kind].update(_codes(body, sub))
        return _LEAVES[kind](body, sub)

    def _combinator(self, kind: str, body: object, where: str) -> _Predicate:
        if not isinstance(body, list) or not body:
            raise _RuleError(where, "expected a non-empty list of predicates")
        parts = tuple(self.compile(p, f"{where}[{i}]") for i, p in enumerate(body))
        if kind == "all":
            return _all(parts)
        return _any(parts)


def _unknown_codes(f: _Facts) -> _Hits | None:
    """Codes neither in the contract nor named by a rule of the active rule set."""
    i, known = f.intake, f.known
    hits = [
        _Hit(f"unknown {kind} code {code!r}")
        for kind, codes in (
            ("condition", [c.code for c in i.conditions]),
            ("procedure", [p.code for p in i.procedures]),
            ("medication", [m.code for m in i.medications]),
            ("symptom", list(i.symptoms)),
        )
        for code in codes
        if code not in known[kind]  # type: ignore[index]
    ]
    return tuple(hits) or None


def _all(parts: Sequence[_Predicate]) -> _Predicate:
    def pred(f: _Facts) -> _Hits | None:
        out: list[_Hit] = []
        for p in parts:
            hits = p(f)
            if hits is None:
                return None
            out.extend(hits)
        return tuple(out)

    return pred


def _any(parts: Sequence[_Predicate]) -> _Predicate:
    def pred(f: _Facts) -> _Hits | None:
        out: list[_Hit] = []
        for p in parts:
            hits = p(f)
            if hits is not None:
                out.extend(hits)
        return tuple(out) or None

    return pred


_LEAVES: dict[str, Callable[[Mapping[str, Any], str], _Predicate]] = {
    "condition": _condition_predicate,
    "procedure": _procedure_predicate,
    "medication": _medication_predicate,
    "symptom": _symptom_predicate,
    "bp": _bp_predicate,
    "temperature": _temperature_predicate,
    "age": _age_predicate,
}
_KINDS = (*_LEAVES, "pregnant", "unknown_code", "any", "all")


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Case:
    """One outcome of a rule: when it applies, what follows and why."""

    when: Mapping[str, Any]
    decision: Decision
    reason: str
    restrictions: Restrictions
    sided: bool
    predicate: _Predicate = field(compare=False, repr=False)

    def evaluate(self, f: _Facts, rule: Rule) -> Finding | None:
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


def _narrow_sides(r: Restrictions, hits: _Hits) -> Restrictions:
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
            keys = _triggers(case.when)
            if keys is None:
                always.append(i)
            for key in keys or ():
                index.setdefault(key, []).append(i)
        return _Plan(cases, {k: tuple(v) for k, v in index.items()}, tuple(always))


def _triggers(node: Mapping[str, Any]) -> frozenset[str] | None:
    """Fact keys one of which must be present for a (validated) predicate to be true.

    None means the predicate can be true whatever facts are present (``bp.measured = false``,
    ``unknown_code``), so its case is always evaluated.
    """
    kind, body = next(iter(node.items()))
    if kind in ("any", "all"):
        parts = [_triggers(p) for p in body]
        if kind == "any" and any(p is None for p in parts):
            return None
        known = [p for p in parts if p is not None]
        return frozenset().union(*known) if known else None
    if kind in ("condition", "procedure", "medication", "symptom"):
        return frozenset(f"{kind}:{c}" for c in body["codes"])
    if kind == "unknown_code" or (kind == "bp" and "measured" in body):
        return None
    return frozenset({"bp" if kind == "bp" else kind})


_RULE_KEYS = (
    "id",
    "sources",
    "case",
    "when",
    "decision",
    "reason",
    "avoid_zones",
    "max_load_fraction",
    "max_pressure_kpa",
    "sided",
)
_CASE_KEYS = (
    "when",
    "decision",
    "reason",
    "avoid_zones",
    "max_load_fraction",
    "max_pressure_kpa",
    "sided",
)
_TOP_KEYS = ("schema", "version", "title", "sources", "rule")
_RULE_ID = re.compile(r"[a-z][a-z0-9-]*")


def parse_rules(text: str, name: str = "rules", base: RuleSet | None = None) -> RuleSet:
    """Parse and compile an ``ashiguard.rules/1`` TOML text.

    Parameters
    ----------
    text : str
        The TOML text.
    name : str
        The file name used in error messages (``rules file NAME: rule 'x': field: ...``).
    base : RuleSet, optional
        The rule set a clinic file extends (usually :func:`default_rules`). New ids are added;
        an existing id is overridden only if the override is at least as restrictive.

    Raises
    ------
    InputError
        Naming the file, the rule id and the field at fault.
    """
    prefix = f"rules file {name}"
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{prefix}: not valid TOML: {exc}") from None
    try:
        return _build(doc, base)
    except _RuleError as exc:
        raise InputError(f"{prefix}: {exc}") from None


def _build(doc: dict[str, Any], base: RuleSet | None) -> RuleSet:
    _expect_top(doc)
    sources = dict(base.sources) if base else {}
    for key, citation in doc.get("sources", {}).items():
        if not isinstance(citation, str) or not citation:
            raise _RuleError(f"sources.{key}", "expected the citation text")
        sources[key] = citation
    compiler = _Compiler()
    rules: dict[str, Rule] = {r.id: r for r in base.rules} if base else {}
    if base:
        for kind, codes in base.known_codes.items():
            compiler.named[kind].update(codes)
    seen: set[str] = set()
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list) or (base is None and not raw_rules):
        raise _RuleError("rule", "expected one or more [[rule]] tables")
    for i, raw in enumerate(raw_rules):
        rid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(rid, str) or not _RULE_ID.fullmatch(rid):
            raise _RuleError(
                f"rule[{i}].id", f"expected a lower-case id like 'kidney-stones', got {rid!r}"
            )
        if rid in seen:
            raise _RuleError(f"rule '{rid}'", "the same id appears twice in this file")
        seen.add(rid)
        try:
            rules[rid] = _rule(raw, rid, rules.get(rid), sources, compiler)
        except _RuleError as exc:
            raise _RuleError(f"rule '{rid}'", str(exc)) from None
    known = {k: frozenset(CODES[k] | compiler.named[k]) for k in CODES}
    version = doc["version"] if base is None else f"{base.version}+{doc['version']}"
    title = str(doc.get("title", base.title if base else ""))
    return RuleSet(version, title, tuple(rules.values()), sources, known)


def _expect_top(doc: dict[str, Any]) -> None:
    _expect_keys(doc, "", _TOP_KEYS)
    if doc.get("schema") != RULES_SCHEMA:
        raise _RuleError("schema", f"expected {RULES_SCHEMA!r}, got {doc.get('schema')!r}")
    if not isinstance(doc.get("version"), str) or not doc["version"].strip():
        raise _RuleError("version", "expected a non-empty version string")
    if not isinstance(doc.get("sources", {}), dict):
        raise _RuleError("sources", "expected a table of key = citation")


def _rule(
    raw: dict[str, Any],
    rid: str,
    old: Rule | None,
    sources: Mapping[str, str],
    compiler: _Compiler,
) -> Rule:
    _expect_keys(raw, "", _RULE_KEYS)
    if "case" in raw:
        flat = [k for k in raw if k in _CASE_KEYS]
        if flat:
            raise _RuleError(flat[0], "give either [[rule.case]] tables or one flat case")
        raw_cases = raw["case"]
        if not isinstance(raw_cases, list) or not raw_cases:
            raise _RuleError("case", "expected one or more [[rule.case]] tables")
    else:
        raw_cases = [{k: v for k, v in raw.items() if k in _CASE_KEYS}]
    if old is not None:
        raw_cases = _inherit(raw_cases, old)
    cited = raw.get("sources", list(old.source_keys) if old else None)
    keys, rule_sources = _rule_sources(cited, sources)
    cases = tuple(
        _case(c, f"case[{i}]" if len(raw_cases) > 1 else "", compiler)
        for i, c in enumerate(raw_cases)
    )
    rule = Rule(rid, rule_sources, cases, tuple(raw_cases), keys)
    if old is not None:
        _check_not_looser(rule, old)
    return rule


def _rule_sources(
    cited: object, sources: Mapping[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not isinstance(cited, list) or not cited:
        raise _RuleError("sources", "expected a non-empty list of source keys")
    for key in cited:
        if key not in sources:
            raise _RuleError("sources", f"{key!r} is not in the [sources] table")
    return tuple(cited), tuple(sources[k] for k in cited)


def _inherit(raw_cases: list[dict[str, Any]], old: Rule) -> list[dict[str, Any]]:
    if len(raw_cases) != len(old.cases):
        raise _RuleError(
            "case",
            f"the rule being overridden has {len(old.cases)} case(s); "
            f"an override must give the same number, in the same order",
        )
    return [{**old_raw, **new} for old_raw, new in zip(old.raw_cases, raw_cases, strict=True)]


def _check_not_looser(new: Rule, old: Rule) -> None:
    for i, (n, o) in enumerate(zip(new.cases, old.cases, strict=True)):
        where = f"case[{i}]" if len(old.cases) > 1 else "override"
        if json.dumps(n.when, sort_keys=True) != json.dumps(o.when, sort_keys=True):
            raise _RuleError(
                f"{where}.when", "an override may not change the predicate; add a new rule"
            )
        if n.decision.rank < o.decision.rank:
            raise _RuleError(
                f"{where}.decision",
                f"{n.decision.value!r} is less restrictive than {o.decision.value!r}: "
                "a clinic file may only tighten a rule",
            )
        if not n.restrictions.covers(o.restrictions) or (o.sided and not n.sided):
            raise _RuleError(
                f"{where}.restrictions",
                f"{n.restrictions.describe()!r} is looser than {o.restrictions.describe()!r}",
            )


def _case(raw: object, where: str, compiler: _Compiler) -> Case:
    dot = f"{where}." if where else ""
    if not isinstance(raw, dict):
        raise _RuleError(where or "case", "expected a table")
    _expect_keys(raw, where or "case", _CASE_KEYS)
    decision_raw = raw.get("decision")
    if decision_raw not in [d.value for d in DECISIONS]:
        raise _RuleError(
            f"{dot}decision",
            f"{decision_raw!r} is not one of {', '.join(d.value for d in DECISIONS)}",
        )
    decision = Decision(decision_raw)
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise _RuleError(f"{dot}reason", "expected the reason a therapist reads")
    if "when" not in raw:
        raise _RuleError(f"{dot}when", "required field is missing")
    predicate = compiler.compile(raw["when"], f"{dot}when")
    restrictions = _restrictions(raw, dot)
    if decision is Decision.CLEARED and not restrictions.empty:
        raise _RuleError(f"{dot}decision", "a 'cleared' case cannot carry restrictions")
    sided = raw.get("sided", False)
    if not isinstance(sided, bool):
        raise _RuleError(f"{dot}sided", "expected true or false")
    return Case(raw["when"], decision, reason.strip(), restrictions, sided, predicate)


def _restrictions(raw: Mapping[str, Any], dot: str) -> Restrictions:
    zones: set[str] = set()
    patterns = raw.get("avoid_zones", [])
    if not isinstance(patterns, list):
        raise _RuleError(f"{dot}avoid_zones", "expected a list of zone slugs")
    for pattern in patterns:
        expanded = expand_zone_pattern(pattern) if isinstance(pattern, str) else ()
        if not expanded:
            raise _RuleError(f"{dot}avoid_zones", f"{pattern!r} is not a contract zone slug")
        zones.update(expanded)
    load = raw.get("max_load_fraction")
    if load is not None:
        load = _number(load, f"{dot}max_load_fraction", low=0.0, high=1.0)
    kpa = raw.get("max_pressure_kpa")
    if kpa is not None:
        kpa = _number(kpa, f"{dot}max_pressure_kpa", low=1.0, high=2000.0)
    return Restrictions(frozenset(zones), load, kpa)


@cache
def default_rules() -> RuleSet:
    """The rule set shipped in the package (``domain/rules/default-v1.toml``)."""
    text = resources.files("ashiguard.domain").joinpath("rules/default-v1.toml").read_text("utf-8")
    return parse_rules(text, "default-v1.toml")


# --------------------------------------------------------------------------- screening


def screen(intake: Intake, rules: RuleSet | None = None) -> Screening:
    """Screen one intake against a rule set (the default set when ``rules`` is None).

    Returns
    -------
    Screening
        Every finding that fired, in rule order; the most restrictive decision; the combined
        restrictions; the rule set's version.
    """
    ruleset = rules if rules is not None else default_rules()
    facts = _Facts(intake, ruleset.known_codes)
    findings: list[Finding] = []
    for rule, case in ruleset.candidates(facts.keys()):
        finding = case.evaluate(facts, rule)
        if finding is not None:
            findings.append(finding)
    decision = max((f.decision for f in findings), key=_RANKS.__getitem__, default=Decision.CLEARED)
    restrictions = Restrictions()
    for f in findings:
        if not f.restrictions.empty:
            restrictions = restrictions.combine(f.restrictions)
    return Screening(
        intake.client.id, intake.date, decision, tuple(findings), restrictions, ruleset.version
    )


# --------------------------------------------------------------------------- reading results


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
