"""Physician clearance: which ``clearance_required`` findings a written clearance covers.

A screening whose findings say ``clearance_required`` offers no barefoot work until a
physician clears the client in writing (contract section 3). A :class:`Clearance` names the
rules it covers (the rule ids of those findings), the day it was given and, optionally, the
last day it is valid. :func:`clearance_state` reads a screening together with the client's
clearances and says what is covered and which decision the readiness gate then applies.

Notes
-----
Safety assumptions (docs/webapp.md, "Physician clearance"):

- The screening itself is never rewritten: its ``decision`` stays what the rules said.
  Only the *effective* decision changes, and only for the gate and the pages.
- A clearance covers only ``clearance_required`` findings. A ``decline`` or ``defer`` finding
  of the same rule stays as it is (a clearance never loosens a decline).
- The screening's restrictions (the union over *all* findings, covered ones included) stay in
  force: a covered finding becomes ``modify`` when the screening restricts anything, else
  ``cleared``; the restrictions of ``modify`` findings are never removed.
- A clearance counts from the day it was given through its ``valid_until`` day (no end day:
  until a later screening no longer needs it). A clearance dated after the treatment day does
  not count.
- Coverage is by rule id, except for the rules of :data:`FACT_BOUND_RULES`, whose one rule
  id stands for many different things (``unknown-code``: any code ashiguard does not know).
  For those the clearance covers only the facts the physician was shown (the finding's facts
  when it was recorded): a later screening with another unknown code needs a new letter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

from ashiguard.domain.screening import Decision, Screening

__all__ = [
    "FACT_BOUND_RULES",
    "Clearance",
    "ClearanceState",
    "clearance_required_rules",
    "clearance_state",
    "facts_shown",
]

FACT_BOUND_RULES: frozenset[str] = frozenset({"unknown-code"})
"""Rules a clearance covers only for the facts it was recorded for (their facts say *what*
fired, e.g. ``unknown condition code 'fibromyalgia'``, and carry no dates)."""


@dataclass(frozen=True)
class Clearance:
    """A physician's written clearance, as the gate reads it.

    Parameters
    ----------
    ident : int
        The stored record's id (0 when not stored).
    rules : frozenset of str
        Rule ids of the ``clearance_required`` findings it covers.
    cleared_on : date
        The day the physician gave it.
    valid_until : date or None
        The last day it is valid (None: no end day given).
    physician : str
        Who cleared (for the pages' "clearance on file from Dr X").
    facts : dict of str to frozenset of str
        For the rules of :data:`FACT_BOUND_RULES`: the facts of the finding it was recorded for.
    """

    ident: int
    rules: frozenset[str]
    cleared_on: date
    valid_until: date | None = None
    physician: str = ""
    facts: dict[str, frozenset[str]] = dataclasses.field(default_factory=dict)

    def covers(self, rule: str, facts: frozenset[str]) -> bool:
        """True when it names ``rule`` (and, for a fact-bound rule, was shown every fact)."""
        if rule not in self.rules:
            return False
        return rule not in FACT_BOUND_RULES or facts <= self.facts.get(rule, frozenset())

    def current(self, on: date) -> bool:
        """True when the clearance counts on ``on``: given on or before it, not expired."""
        return self.cleared_on <= on and (self.valid_until is None or on <= self.valid_until)


@dataclass(frozen=True)
class ClearanceState:
    """What the client's clearances do for one screening on one day.

    ``needed``: the rule ids of the screening's ``clearance_required`` findings, in finding
    order; ``covered``: rule id -> the current clearance that covers it (the newest one);
    ``missing``: the rules no current clearance covers. ``effective`` is the decision the
    readiness gate applies (equal to the screening's decision unless every needed rule is
    covered); ``screening`` is the screening with that decision, for the gate only (never
    stored, never shown as the rules' decision).
    """

    needed: tuple[str, ...]
    covered: dict[str, Clearance]
    missing: tuple[str, ...]
    effective: Decision
    screening: Screening

    @property
    def cleared_by_physician(self) -> bool:
        """True when clearance was needed and every needed rule is covered."""
        return bool(self.needed) and not self.missing


def clearance_required_rules(screening: Screening) -> tuple[str, ...]:
    """The rule ids of the screening's ``clearance_required`` findings (finding order, once)."""
    out: list[str] = []
    for f in screening.findings:
        if f.decision is Decision.CLEARANCE_REQUIRED and f.rule not in out:
            out.append(f.rule)
    return tuple(out)


def facts_shown(screening: Screening, rules: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """What a clearance for ``rules`` must keep of the screening it is recorded against: the
    facts of its ``clearance_required`` findings of the :data:`FACT_BOUND_RULES` (sorted)."""
    out: dict[str, set[str]] = {}
    for f in screening.findings:
        bound = f.rule in rules and f.rule in FACT_BOUND_RULES
        if bound and f.decision is Decision.CLEARANCE_REQUIRED:
            out.setdefault(f.rule, set()).update(f.facts)
    return {rule: sorted(facts) for rule, facts in out.items()}


def clearance_state(
    screening: Screening, clearances: list[Clearance] | tuple[Clearance, ...], on: date
) -> ClearanceState:
    """Which ``clearance_required`` findings of ``screening`` the clearances cover on ``on``.

    Parameters
    ----------
    screening : Screening
        The client's screening (the latest one, for the gate).
    clearances : sequence of Clearance
        The client's clearances, any order; those not current on ``on`` are ignored.
    on : date
        The treatment day.

    Returns
    -------
    ClearanceState
        ``effective`` is the most restrictive of: every finding that is not a covered
        ``clearance_required`` one, and ``modify`` (restrictions on file) or ``cleared`` for
        the covered ones. When a needed rule is missing, it is the screening's own decision.
    """
    needed = clearance_required_rules(screening)
    seen: dict[str, frozenset[str]] = {}
    for f in screening.findings:
        if f.decision is Decision.CLEARANCE_REQUIRED:
            seen[f.rule] = seen.get(f.rule, frozenset()) | frozenset(f.facts)
    current = sorted(
        (c for c in clearances if c.current(on)), key=lambda c: (c.cleared_on, c.ident)
    )
    covered: dict[str, Clearance] = {}
    for c in current:  # the newest clearance wins for each rule
        for rule in needed:
            if c.covers(rule, seen[rule]):
                covered[rule] = c
    missing = tuple(r for r in needed if r not in covered)
    effective = screening.decision
    if needed and not missing:
        stand_in = Decision.CLEARED if screening.restrictions.empty else Decision.MODIFY
        ranks = [
            stand_in if f.decision is Decision.CLEARANCE_REQUIRED else f.decision
            for f in screening.findings
        ]
        effective = max(ranks, key=lambda d: d.rank)
    return ClearanceState(
        needed=needed,
        covered=covered,
        missing=missing,
        effective=effective,
        screening=dataclasses.replace(screening, decision=effective),
    )
