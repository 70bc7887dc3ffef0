"""Reading rule files: ``ashiguard.rules/1`` TOML parsed, validated and compiled.

Notes
-----
A clinic file may add rules, and may override a default rule by id only with an equal or more
restrictive decision and restrictions and the same predicates; loosening is refused.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from ashiguard.domain.codes import CODE_LISTS, CODES
from ashiguard.domain.errors import InputError
from ashiguard.domain.screening.model import Case, Rule, RuleSet
from ashiguard.domain.screening.predicates import Compiler
from ashiguard.domain.screening.results import DECISIONS, Decision, Restrictions
from ashiguard.domain.screening.validation import RuleError, expect_keys, read_number
from ashiguard.domain.zone_names import expand_zone_pattern

__all__ = [
    "DEFAULT_RULE_SET",
    "RULES_SCHEMA",
    "RULE_SETS",
    "default_rules",
    "parse_rules",
    "rules_version_label",
]

RULES_SCHEMA = "ashiguard.rules/1"

RULE_SETS: tuple[str, ...] = ("default-v1", "default-v1.1")
"""The rule sets shipped in the package (``domain/rules/NAME.toml``), oldest first."""

DEFAULT_RULE_SET = "default-v1.1"
"""The shipped rule set a screening uses unless another is chosen."""

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
_TOP_KEYS = ("schema", "version", "title", "contract_codes", "sources", "rule")
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
    except RuleError as exc:
        raise InputError(f"{prefix}: {exc}") from None


def _build(doc: dict[str, Any], base: RuleSet | None) -> RuleSet:
    _expect_top(doc)
    if base is not None and "contract_codes" in doc:
        raise RuleError(
            "contract_codes",
            "a clinic file screens with the codes of the rule set it extends "
            f"({base.version}); more known codes would stop flagging unknown ones",
        )
    sources = dict(base.sources) if base else {}
    for key, citation in doc.get("sources", {}).items():
        if not isinstance(citation, str) or not citation:
            raise RuleError(f"sources.{key}", "expected the citation text")
        sources[key] = citation
    compiler = Compiler()
    rules: dict[str, Rule] = {r.id: r for r in base.rules} if base else {}
    if base:
        for kind, codes in base.known_codes.items():
            compiler.named[kind].update(codes)
    seen: set[str] = set()
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list) or (base is None and not raw_rules):
        raise RuleError("rule", "expected one or more [[rule]] tables")
    for i, raw in enumerate(raw_rules):
        rid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(rid, str) or not _RULE_ID.fullmatch(rid):
            raise RuleError(
                f"rule[{i}].id", f"expected a lower-case id like 'kidney-stones', got {rid!r}"
            )
        if rid in seen:
            raise RuleError(f"rule '{rid}'", "the same id appears twice in this file")
        seen.add(rid)
        try:
            rules[rid] = _rule(raw, rid, rules.get(rid), sources, compiler)
        except RuleError as exc:
            raise RuleError(f"rule '{rid}'", str(exc)) from None
    vocabulary = base.known_codes if base else CODE_LISTS[doc.get("contract_codes", "1.1")]
    known = {k: frozenset(vocabulary[k] | compiler.named[k]) for k in CODES}
    version = doc["version"] if base is None else f"{base.version}+{doc['version']}"
    title = str(doc.get("title", base.title if base else ""))
    return RuleSet(version, title, tuple(rules.values()), sources, known)


def _expect_top(doc: dict[str, Any]) -> None:
    expect_keys(doc, "", _TOP_KEYS)
    if doc.get("schema") != RULES_SCHEMA:
        raise RuleError("schema", f"expected {RULES_SCHEMA!r}, got {doc.get('schema')!r}")
    if not isinstance(doc.get("version"), str) or not doc["version"].strip():
        raise RuleError("version", "expected a non-empty version string")
    codes = doc.get("contract_codes")
    if codes is not None and codes not in CODE_LISTS:
        raise RuleError(
            "contract_codes", f"expected one of {', '.join(map(repr, CODE_LISTS))}, got {codes!r}"
        )
    if not isinstance(doc.get("sources", {}), dict):
        raise RuleError("sources", "expected a table of key = citation")


def _rule(
    raw: dict[str, Any],
    rid: str,
    old: Rule | None,
    sources: Mapping[str, str],
    compiler: Compiler,
) -> Rule:
    expect_keys(raw, "", _RULE_KEYS)
    if "case" in raw:
        flat = [k for k in raw if k in _CASE_KEYS]
        if flat:
            raise RuleError(flat[0], "give either [[rule.case]] tables or one flat case")
        raw_cases = raw["case"]
        if not isinstance(raw_cases, list) or not raw_cases:
            raise RuleError("case", "expected one or more [[rule.case]] tables")
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
        raise RuleError("sources", "expected a non-empty list of source keys")
    for key in cited:
        if key not in sources:
            raise RuleError("sources", f"{key!r} is not in the [sources] table")
    return tuple(cited), tuple(sources[k] for k in cited)


def _inherit(raw_cases: list[dict[str, Any]], old: Rule) -> list[dict[str, Any]]:
    if len(raw_cases) != len(old.cases):
        raise RuleError(
            "case",
            f"the rule being overridden has {len(old.cases)} case(s); "
            f"an override must give the same number, in the same order",
        )
    return [{**old_raw, **new} for old_raw, new in zip(old.raw_cases, raw_cases, strict=True)]


def _check_not_looser(new: Rule, old: Rule) -> None:
    for i, (n, o) in enumerate(zip(new.cases, old.cases, strict=True)):
        where = f"case[{i}]" if len(old.cases) > 1 else "override"
        if json.dumps(n.when, sort_keys=True) != json.dumps(o.when, sort_keys=True):
            raise RuleError(
                f"{where}.when", "an override may not change the predicate; add a new rule"
            )
        if n.decision.rank < o.decision.rank:
            raise RuleError(
                f"{where}.decision",
                f"{n.decision.value!r} is less restrictive than {o.decision.value!r}: "
                "a clinic file may only tighten a rule",
            )
        if not n.restrictions.covers(o.restrictions) or (o.sided and not n.sided):
            raise RuleError(
                f"{where}.restrictions",
                f"{n.restrictions.describe()!r} is looser than {o.restrictions.describe()!r}",
            )


def _case(raw: object, where: str, compiler: Compiler) -> Case:
    dot = f"{where}." if where else ""
    if not isinstance(raw, dict):
        raise RuleError(where or "case", "expected a table")
    expect_keys(raw, where or "case", _CASE_KEYS)
    decision_raw = raw.get("decision")
    if decision_raw not in [d.value for d in DECISIONS]:
        raise RuleError(
            f"{dot}decision",
            f"{decision_raw!r} is not one of {', '.join(d.value for d in DECISIONS)}",
        )
    decision = Decision(decision_raw)
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise RuleError(f"{dot}reason", "expected the reason a therapist reads")
    if "when" not in raw:
        raise RuleError(f"{dot}when", "required field is missing")
    predicate = compiler.compile(raw["when"], f"{dot}when")
    restrictions = _restrictions(raw, dot)
    if decision is Decision.CLEARED and not restrictions.empty:
        raise RuleError(f"{dot}decision", "a 'cleared' case cannot carry restrictions")
    sided = raw.get("sided", False)
    if not isinstance(sided, bool):
        raise RuleError(f"{dot}sided", "expected true or false")
    return Case(raw["when"], decision, reason.strip(), restrictions, sided, predicate)


def _restrictions(raw: Mapping[str, Any], dot: str) -> Restrictions:
    zones: set[str] = set()
    patterns = raw.get("avoid_zones", [])
    if not isinstance(patterns, list):
        raise RuleError(f"{dot}avoid_zones", "expected a list of zone slugs")
    for pattern in patterns:
        expanded = expand_zone_pattern(pattern) if isinstance(pattern, str) else ()
        if not expanded:
            raise RuleError(f"{dot}avoid_zones", f"{pattern!r} is not a contract zone slug")
        zones.update(expanded)
    load = raw.get("max_load_fraction")
    if load is not None:
        load = read_number(load, f"{dot}max_load_fraction", low=0.0, high=1.0)
    kpa = raw.get("max_pressure_kpa")
    if kpa is not None:
        kpa = read_number(kpa, f"{dot}max_pressure_kpa", low=1.0, high=2000.0)
    return Restrictions(frozenset(zones), load, kpa)


def default_rules(name: str = DEFAULT_RULE_SET) -> RuleSet:
    """A rule set shipped in the package (``domain/rules/NAME.toml``), by default the newest.

    Parameters
    ----------
    name : str
        One of :data:`RULE_SETS`: ``default-v1.1`` (policy v1.1, the default) or
        ``default-v1`` (policy v1, kept so that earlier screenings can be reproduced).

    Raises
    ------
    InputError
        ``rule set: 'x' is not shipped; choose one of default-v1, default-v1.1``.
    """
    if name not in RULE_SETS:
        raise InputError(f"rule set: {name!r} is not shipped; choose one of {', '.join(RULE_SETS)}")
    return _shipped(name)


@cache
def _shipped(name: str) -> RuleSet:
    file = f"{name}.toml"
    text = resources.files("ashiguard.domain").joinpath(f"rules/{file}").read_text("utf-8")
    return parse_rules(text, file)


_SHIPPED_VERSION = re.compile(r"ashiguard-default-v(\d+(?:\.\d+)*)")


def rules_version_label(version: str) -> str:
    """A screening's ``rules_version`` in the clinic's words, for pages and reports.

    ``ashiguard-default-v1.1`` reads "ashiguard screening policy 1.1";
    ``ashiguard-default-v1.1+north-2026-11`` adds "with the clinic's rules north-2026-11".
    Any other version (a rule set a clinic wrote from scratch) is shown as it is.
    """
    shipped, plus, clinic = version.partition("+")
    m = _SHIPPED_VERSION.fullmatch(shipped)
    if m is None:
        return version
    label = f"ashiguard screening policy {m.group(1)}"
    return f"{label} with the clinic's rules {clinic}" if plus else label
