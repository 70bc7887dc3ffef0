"""``ashiguard screen`` and ``ashiguard rules``: contraindication screening of intakes."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer

from ashiguard.entrypoints.cli._common import (
    EXIT_BAD_INPUT,
    fail,
    print_json,
    read_text_arg,
    refusing_bad_input,
)

if TYPE_CHECKING:
    from ashiguard.domain.screening import RuleSet, Screening

__all__ = ["active_rules", "format_screening_text", "register"]


def active_rules(rules_file: str | None, rule_set: str | None = None) -> RuleSet:
    """A shipped rule set (the default when ``rule_set`` is None), extended by a clinic file."""
    from ashiguard.domain.screening import DEFAULT_RULE_SET, default_rules

    with refusing_bad_input():
        base = default_rules(rule_set or DEFAULT_RULE_SET)
        if rules_file is None:
            return base
        from ashiguard.adapters.rules_file import load_rules

        return load_rules(rules_file, base=base)


_RULE_SET_HELP = "Shipped rule set: default-v1.1 (the default, policy v1.1) or default-v1."


def format_screening_text(s: Screening) -> str:
    """A readable report: decision, each finding with reason, facts and sources, restrictions."""
    lines = [
        f"Screening of client {s.client_id} for {s.date.isoformat()}: "
        f"{s.decision.value.upper().replace('_', ' ')}",
        f"Rules: {s.rules_version}",
        "",
    ]
    if not s.findings:
        lines.append("No rule fired: standard barefoot work.")
    for f in s.findings:
        lines.append(f"- [{f.decision.value}] {f.rule}: {f.reason}")
        lines.extend(f"    because: {fact}" for fact in f.facts)
        if not f.restrictions.empty:
            lines.append(f"    restrictions: {f.restrictions.describe()}")
        lines.extend(f"    source: {src}" for src in f.sources)
    lines += ["", f"Restrictions: {s.restrictions.describe()}"]
    return "\n".join(lines)


def _one(path: str, fmt: str, ruleset: RuleSet) -> None:
    from ashiguard.domain.intake import parse_intake
    from ashiguard.domain.screening import screen

    text = read_text_arg(path)
    with refusing_bad_input():
        result = screen(parse_intake(text), ruleset)
    if fmt == "text":
        typer.echo(format_screening_text(result))
    else:
        print_json(result.to_json())


def _batch(path: str, fmt: str, ruleset: RuleSet) -> None:
    from ashiguard.domain.errors import InputError
    from ashiguard.domain.intake import parse_intake
    from ashiguard.domain.screening import screen

    text = read_text_arg(path)
    failed = 0
    out = sys.stdout
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            result = screen(parse_intake(line), ruleset)
        except InputError as exc:
            failed += 1
            typer.echo(f"ashiguard: error: line {n}: {exc}", err=True)
            continue
        if fmt == "text":
            out.write(
                f"{result.client_id}\t{result.date.isoformat()}\t{result.decision.value}\t"
                f"{result.restrictions.describe()}\n"
            )
        else:
            out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    out.flush()
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


def _screen(
    intake: str = typer.Argument(
        ..., help="Intake JSON file (ashiguard.intake/1), or - for stdin."
    ),
    fmt: str = typer.Option("json", "--format", help="json (ashiguard.screening/1) or text."),
    rules: str | None = typer.Option(None, "--rules", help="Clinic rules file (TOML)."),
    rule_set: str | None = typer.Option(None, "--rule-set", help=_RULE_SET_HELP),
    batch: bool = typer.Option(
        False, "--batch", help="INTAKE is JSON Lines: one intake per line, one result per line."
    ),
) -> None:
    """Screen intakes for contraindications."""
    if fmt not in ("json", "text"):
        fail(f"--format: expected json or text, got {fmt!r}")
    ruleset = active_rules(rules, rule_set)
    if batch:
        _batch(intake, fmt, ruleset)
    else:
        _one(intake, fmt, ruleset)


def _rules(
    rules: str | None = typer.Option(None, "--rules", help="Clinic rules file (TOML)."),
    rule_set: str | None = typer.Option(None, "--rule-set", help=_RULE_SET_HELP),
) -> None:
    """List the active screening rules."""
    ruleset = active_rules(rules, rule_set)
    typer.echo(f"Rule set {ruleset.version}: {ruleset.title} ({len(ruleset.rules)} rules)")
    for rule in ruleset.rules:
        typer.echo("")
        typer.echo(f"{rule.id}")
        for case in rule.cases:
            extra = "" if case.restrictions.empty else f" [{case.restrictions.describe()}]"
            typer.echo(f"  {case.decision.value}{extra}: {case.reason}")
        for src in rule.sources:
            typer.echo(f"  source: {src}")


def register(app: typer.Typer) -> None:
    app.command("screen")(_screen)
    app.command("rules")(_rules)
