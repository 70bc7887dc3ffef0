"""Screening an intake: the candidate cases of a rule set evaluated on the intake's facts."""

from __future__ import annotations

from ashiguard.domain.intake import Intake
from ashiguard.domain.screening.facts import Facts
from ashiguard.domain.screening.model import RuleSet
from ashiguard.domain.screening.parsing import default_rules
from ashiguard.domain.screening.results import Decision, Finding, Restrictions, Screening

__all__ = ["screen"]


def screen(intake: Intake, rules: RuleSet | None = None) -> Screening:
    """Screen one intake against a rule set (the default set when ``rules`` is None).

    Returns
    -------
    Screening
        Every finding that fired, in rule order; the most restrictive decision; the combined
        restrictions; the rule set's version.
    """
    ruleset = rules if rules is not None else default_rules()
    facts = Facts(intake, ruleset.known_codes)
    findings: list[Finding] = []
    for rule, case in ruleset.candidates(facts.keys()):
        finding = case.evaluate(facts, rule)
        if finding is not None:
            findings.append(finding)
    decision = max((f.decision for f in findings), key=lambda d: d.rank, default=Decision.CLEARED)
    restrictions = Restrictions()
    for f in findings:
        if not f.restrictions.empty:
            restrictions = restrictions.combine(f.restrictions)
    return Screening(
        intake.client.id, intake.date, decision, tuple(findings), restrictions, ruleset.version
    )
