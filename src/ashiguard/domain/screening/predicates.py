"""Predicates: ``when`` tables compiled into plain Python closures over :class:`Facts`.

Notes
-----
- "within N weeks" is (screening date - event date) < 7N days, "within N months" < 30N days,
  "N months ago or more" is >= 30N days.
- An event without a date (procedure date, condition onset) satisfies every time window of a
  rule: an undated operation counts as recent and as past, so the strictest case applies.
- Statuses ``active`` and ``history`` count as present unless a predicate lists ``status``.
- Codes that are neither in the contract nor named by a rule fire the ``unknown_code``
  predicate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ashiguard.domain.codes import CODES, CodeKind
from ashiguard.domain.intake import Condition
from ashiguard.domain.screening.facts import Facts, Hit, Hits, Predicate
from ashiguard.domain.screening.validation import (
    RuleError,
    expect_keys,
    read_codes,
    read_number,
)

__all__ = ["Compiler", "triggers"]

_STATUSES = ("active", "history", "resolved")
_DEFAULT_STATUSES = frozenset({"active", "history"})
_UNIT_DAYS = {"days": 1, "weeks": 7, "months": 30}


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
                n = int(read_number(node[key], f"{where}.{key}", low=1, high=100000))
                label = f"within {n} {unit}" if within else f"{n} {unit} ago or more"
                found.append(_Window(within, n * factor, label))
    if len(found) > 1:
        raise RuleError(where, "give at most one time window")
    return found[0] if found else None


_WINDOW_KEYS = tuple(
    f"{p}{u}{s}" for u in _UNIT_DAYS for p, s in (("within_", ""), ("at_least_", "_ago"))
)


def _statuses(node: Mapping[str, Any], where: str) -> frozenset[str]:
    raw = node.get("status")
    if raw is None:
        return _DEFAULT_STATUSES
    if not isinstance(raw, list) or not raw or any(s not in _STATUSES for s in raw):
        raise RuleError(f"{where}.status", f"expected a list of {', '.join(_STATUSES)}")
    return frozenset(raw)


def _controlled(node: Mapping[str, Any], where: str) -> frozenset[bool | None] | None:
    raw = node.get("controlled")
    if raw is None:
        return None
    allowed: dict[object, bool | None] = {True: True, False: False, "unknown": None}
    if not isinstance(raw, list) or not raw or any(v not in allowed for v in raw):
        raise RuleError(f"{where}.controlled", 'expected a list of true, false, "unknown"')
    return frozenset(allowed[v] for v in raw)


_SIDE_WORDS = {"left": "left", "l": "left", "lt": "left", "right": "right", "r": "right"}
_SIDE_WORDS["rt"] = "right"


def _side_of(site: str | None) -> str | None:
    """``left`` / ``right`` when the site names exactly one side, else None (both)."""
    if not site:
        return None
    sides = {_SIDE_WORDS[w] for w in re.findall(r"[a-z]+", site.lower()) if w in _SIDE_WORDS}
    return sides.pop() if len(sides) == 1 else None


def _condition_predicate(node: Mapping[str, Any], where: str) -> Predicate:
    expect_keys(node, where, ("codes", "status", "controlled", *_WINDOW_KEYS))
    codes = read_codes(node, where)
    statuses = _statuses(node, where)
    controlled = _controlled(node, where)
    window = _window(node, where)

    def pred(f: Facts) -> Hits | None:
        hits: list[Hit] = []
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
                hits.append(Hit(text))
        return tuple(hits) or None

    return pred


def _controlled_text(c: Condition) -> str:
    if c.controlled is None:
        return ""
    return ", controlled" if c.controlled else ", not controlled"


def _procedure_predicate(node: Mapping[str, Any], where: str) -> Predicate:
    expect_keys(node, where, ("codes", *_WINDOW_KEYS))
    codes = read_codes(node, where)
    window = _window(node, where)

    def pred(f: Facts) -> Hits | None:
        hits: list[Hit] = []
        for code in codes:
            for p in f.procedures.get(code, ()):
                text = f"procedure {code}" + (f" ({p.site})" if p.site else "")
                if window is not None:
                    timed = window.check(p.date, f.day, text)
                    if timed is None:
                        continue
                    text = timed
                hits.append(Hit(text, _side_of(p.site)))
        return tuple(hits) or None

    return pred


def _medication_predicate(node: Mapping[str, Any], where: str) -> Predicate:
    expect_keys(node, where, ("codes",))
    codes = read_codes(node, where)

    def pred(f: Facts) -> Hits | None:
        hits = tuple(
            Hit(f"medication {c}" + (f" ({f.medications[c]})" if f.medications[c] else ""))
            for c in codes
            if c in f.medications
        )
        return hits or None

    return pred


def _symptom_predicate(node: Mapping[str, Any], where: str) -> Predicate:
    expect_keys(node, where, ("codes",))
    codes = read_codes(node, where)

    def pred(f: Facts) -> Hits | None:
        return tuple(Hit(f"symptom {c} today") for c in codes if c in f.symptoms) or None

    return pred


def _bp_pair(node: Mapping[str, Any], key: str, where: str) -> tuple[float, float]:
    raw = node[key]
    if not isinstance(raw, list) or len(raw) != 2:
        raise RuleError(f"{where}.{key}", "expected [systolic, diastolic] in mmHg")
    return (
        read_number(raw[0], f"{where}.{key}[0]", high=400),
        read_number(raw[1], f"{where}.{key}[1]", high=400),
    )


def _bp_text(f: Facts) -> str:
    s = "?" if f.systolic is None else f"{f.systolic:g}"
    d = "?" if f.diastolic is None else f"{f.diastolic:g}"
    return f"BP {s}/{d} mmHg"


def _bp_predicate(node: Mapping[str, Any], where: str) -> Predicate:
    expect_keys(node, where, ("at_least", "above", "below", "measured"))
    if len(node) != 1:
        raise RuleError(where, "give exactly one of at_least, above, below, measured")
    if "measured" in node:
        if node["measured"] is not False:
            raise RuleError(f"{where}.measured", "only `measured = false` is supported")
        return lambda f: (
            (Hit("BP not measured"),) if f.systolic is None and f.diastolic is None else None
        )
    key = next(iter(node))
    ls, ld = _bp_pair(node, key, where)
    limit = f"{ls:g}/{ld:g}"

    def values(f: Facts) -> list[tuple[float, float]]:
        pairs = ((f.systolic, ls), (f.diastolic, ld))
        return [(v, lim) for v, lim in pairs if v is not None]

    if key == "below":

        def below(f: Facts) -> Hits | None:
            vals = values(f)
            if vals and all(v < lim for v, lim in vals):
                return (Hit(f"{_bp_text(f)} < {limit}"),)
            return None

        return below
    strict = key == "above"
    op = ">" if strict else ">="

    def over(f: Facts) -> Hits | None:
        if any((v > lim) if strict else (v >= lim) for v, lim in values(f)):
            return (Hit(f"{_bp_text(f)} {op} {limit} (either)"),)
        return None

    return over


def _temperature_predicate(node: Mapping[str, Any], where: str) -> Predicate:
    expect_keys(node, where, ("at_least",))
    limit = read_number(node.get("at_least"), f"{where}.at_least", low=30, high=45)

    def pred(f: Facts) -> Hits | None:
        t = f.temperature
        if t is not None and t >= limit:
            return (Hit(f"temperature {t:g} C >= {limit:g} C"),)
        return None

    return pred


def _age_predicate(node: Mapping[str, Any], where: str) -> Predicate:
    expect_keys(node, where, ("below", "at_least"))
    if len(node) != 1:
        raise RuleError(where, "give exactly one of below, at_least")
    key = next(iter(node))
    limit = read_number(node[key], f"{where}.{key}", high=150)
    below = key == "below"

    def pred(f: Facts) -> Hits | None:
        a = f.age
        if a is None or (a >= limit if below else a < limit):
            return None
        return (Hit(f"age {a} years {'<' if below else '>='} {limit:g}"),)

    return pred


def _pregnant_predicate(value: object, where: str) -> Predicate:
    if value is not True:
        raise RuleError(where, "only `pregnant = true` is supported")

    def pred(f: Facts) -> Hits | None:
        if not f.pregnant:
            return None
        weeks = f.intake.pregnancy.weeks
        return (Hit("pregnant" + (f" ({weeks} weeks)" if weeks is not None else "")),)

    return pred


@dataclass
class Compiler:
    """Compiles ``when`` tables; collects every code a rule names (they become known codes)."""

    named: dict[CodeKind, set[str]] = field(default_factory=lambda: {k: set() for k in CODES})

    def compile(self, node: object, where: str) -> Predicate:
        if not isinstance(node, dict) or len(node) != 1:
            raise RuleError(where, f"expected a table with exactly one of {', '.join(_KINDS)}")
        kind, body = next(iter(node.items()))
        sub = f"{where}.{kind}"
        if kind in ("any", "all"):
            return self._combinator(kind, body, sub)
        if kind == "pregnant":
            return _pregnant_predicate(body, sub)
        if kind == "unknown_code":
            if body is not True:
                raise RuleError(sub, "only `unknown_code = true` is supported")
            return _unknown_codes
        if kind not in _KINDS:
            raise RuleError(sub, f"unknown predicate; expected one of {', '.join(_KINDS)}")
        if not isinstance(body, dict):
            raise RuleError(sub, "expected a table")
        if kind in self.named:
            self.named[kind].update(read_codes(body, sub))
        return _LEAVES[kind](body, sub)

    def _combinator(self, kind: str, body: object, where: str) -> Predicate:
        if not isinstance(body, list) or not body:
            raise RuleError(where, "expected a non-empty list of predicates")
        parts = tuple(self.compile(p, f"{where}[{i}]") for i, p in enumerate(body))
        if kind == "all":
            return _all(parts)
        return _any(parts)


def _unknown_codes(f: Facts) -> Hits | None:
    """Codes neither in the contract nor named by a rule of the active rule set."""
    i, known = f.intake, f.known
    hits = [
        Hit(f"unknown {kind} code {code!r}")
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


def _all(parts: Sequence[Predicate]) -> Predicate:
    def pred(f: Facts) -> Hits | None:
        out: list[Hit] = []
        for p in parts:
            hits = p(f)
            if hits is None:
                return None
            out.extend(hits)
        return tuple(out)

    return pred


def _any(parts: Sequence[Predicate]) -> Predicate:
    def pred(f: Facts) -> Hits | None:
        out: list[Hit] = []
        for p in parts:
            hits = p(f)
            if hits is not None:
                out.extend(hits)
        return tuple(out) or None

    return pred


_LEAVES: dict[str, Callable[[Mapping[str, Any], str], Predicate]] = {
    "condition": _condition_predicate,
    "procedure": _procedure_predicate,
    "medication": _medication_predicate,
    "symptom": _symptom_predicate,
    "bp": _bp_predicate,
    "temperature": _temperature_predicate,
    "age": _age_predicate,
}
_KINDS = (*_LEAVES, "pregnant", "unknown_code", "any", "all")


def triggers(node: Mapping[str, Any]) -> frozenset[str] | None:
    """Fact keys one of which must be present for a (validated) predicate to be true.

    None means the predicate can be true whatever facts are present (``bp.measured = false``,
    ``unknown_code``), so its case is always evaluated.
    """
    kind, body = next(iter(node.items()))
    if kind in ("any", "all"):
        parts = [triggers(p) for p in body]
        if kind == "any" and any(p is None for p in parts):
            return None
        known = [p for p in parts if p is not None]
        return frozenset().union(*known) if known else None
    if kind in ("condition", "procedure", "medication", "symptom"):
        return frozenset(f"{kind}:{c}" for c in body["codes"])
    if kind == "unknown_code" or (kind == "bp" and "measured" in body):
        return None
    return frozenset({"bp" if kind == "bp" else kind})
