"""Contraindication screening: rules as data, findings, decisions and restrictions.

A rule set is a TOML text (``ashiguard.rules/1``; the package ships
``domain/rules/default-v1.1.toml``, the default, and ``default-v1.toml``, kept loadable by
name). Each rule has an id, sources and one or more cases; each case has a structured
predicate (``when``), a decision, restrictions and the reason a therapist reads. Predicates
are compiled once per rule set into plain Python closures (no ``eval``), so
screening an intake is a pass over the rules.

:func:`screen` returns a :class:`Screening` (contract section 3): every case that fired becomes
a :class:`Finding` with the facts that triggered it; the overall decision is the most
restrictive finding; restrictions are the union of avoided zones and the minimum of each cap.

The package re-exports the public names; each module holds one concern:

- :mod:`~ashiguard.domain.screening.results`: the result model (decisions, restrictions,
  findings, screening) and its JSON;
- :mod:`~ashiguard.domain.screening.facts`: an intake indexed for predicates;
- :mod:`~ashiguard.domain.screening.validation`: rule-file validation primitives;
- :mod:`~ashiguard.domain.screening.predicates`: ``when`` tables compiled into closures;
- :mod:`~ashiguard.domain.screening.model`: rules, cases and the compiled rule set;
- :mod:`~ashiguard.domain.screening.parsing`: reading rule files, the default rule set;
- :mod:`~ashiguard.domain.screening.engine`: :func:`screen`.

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

from ashiguard.domain.screening.engine import screen
from ashiguard.domain.screening.model import Case, Rule, RuleSet
from ashiguard.domain.screening.parsing import (
    DEFAULT_RULE_SET,
    RULE_SETS,
    RULES_SCHEMA,
    default_rules,
    parse_rules,
    rules_version_label,
)
from ashiguard.domain.screening.results import (
    DECISIONS,
    SCREENING_SCHEMA,
    Decision,
    Finding,
    Restrictions,
    Screening,
    parse_screening,
)

__all__ = [
    "DECISIONS",
    "DEFAULT_RULE_SET",
    "RULES_SCHEMA",
    "RULE_SETS",
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
    "rules_version_label",
    "screen",
]
