"""``ashiguard ready``: go / no-go before a barefoot session."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer

from ashiguard.entrypoints.cli._common import fail, print_json, read_text_arg, refusing_bad_input

__all__ = ["register"]

_T = TypeVar("_T")


def _ready(
    practitioner: str = typer.Option(..., "--practitioner", help="ashiguard.practitioner/1 JSON."),
    equipment: str = typer.Option(..., "--equipment", help="ashiguard.equipment/1 JSON."),
    screening: str = typer.Option(..., "--screening", help="ashiguard.screening/1 JSON."),
    on: str | None = typer.Option(None, "--on", help="Treatment day YYYY-MM-DD (default today)."),
    fmt: str = typer.Option("text", "--format", help="text or json (ashiguard.readiness/1)."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 on no-go."),
    max_inspection_age_days: int = typer.Option(
        90, "--max-inspection-age-days", min=0, help="Bars inspected within this many days."
    ),
    bar_safety_factor: float = typer.Option(
        2.0, "--bar-safety-factor", min=1.0, help="Bar rating >= weight (N) x this factor."
    ),
    max_screening_age_days: int = typer.Option(
        0, "--max-screening-age-days", min=0, help="How old the screening may be, in days."
    ),
    min_training_hours: float = typer.Option(
        0.0, "--min-training-hours", min=0.0, help="Minimum recorded training hours."
    ),
) -> None:
    """Go or no-go: certificate, bars, screening."""
    from datetime import date

    from ashiguard.domain.practice import parse_equipment, parse_practitioner, ready_to_treat
    from ashiguard.domain.screening import parse_screening

    if fmt not in ("json", "text"):
        fail(f"--format: expected json or text, got {fmt!r}")
    day = date.today()
    if on is not None:
        try:
            day = date.fromisoformat(on)
        except ValueError:
            fail(f"--on: expected a date as YYYY-MM-DD, got {on!r}")
    texts = {
        name: read_text_arg(path)
        for name, path in (
            ("practitioner", practitioner),
            ("equipment", equipment),
            ("screening", screening),
        )
    }
    with refusing_bad_input():
        parsed = (
            _named("--practitioner", parse_practitioner, texts["practitioner"]),
            _named("--equipment", parse_equipment, texts["equipment"]),
            _named("--screening", parse_screening, texts["screening"]),
        )
    result = ready_to_treat(
        *parsed,
        on=day,
        max_inspection_age_days=max_inspection_age_days,
        bar_safety_factor=bar_safety_factor,
        max_screening_age_days=max_screening_age_days,
        min_training_hours=min_training_hours,
    )
    if fmt == "json":
        print_json(result.to_json())
    else:
        typer.echo(f"{'GO' if result.go else 'NO-GO'} for barefoot work on {day.isoformat()}")
        for c in result.checks:
            typer.echo(f"  [{'ok' if c.ok else 'NO'}] {c.name}: {c.detail}")
    if strict and not result.go:
        raise typer.Exit(1)


def _named(option: str, parse: Callable[[str], _T], text: str) -> _T:
    from ashiguard.domain.errors import InputError

    try:
        return parse(text)
    except InputError as exc:
        raise InputError(f"{option}: {exc}") from None


def register(app: typer.Typer) -> None:
    app.command("ready")(_ready)
