"""``ashiguard demo``: screen the example intakes and show their decisions."""

from __future__ import annotations

from pathlib import Path

import typer

from ashiguard.entrypoints.cli._common import fail

__all__ = ["EXAMPLES_DIR", "register"]

EXAMPLES_DIR = Path(__file__).resolve().parents[4] / "examples"


def _demo(
    examples: Path = typer.Option(
        EXAMPLES_DIR, "--examples", help="Folder holding intakes/*.json."
    ),
) -> None:
    """Screen the example intakes (a table)."""
    from rich.console import Console
    from rich.table import Table

    from ashiguard.domain.errors import InputError
    from ashiguard.domain.intake import parse_intake
    from ashiguard.domain.screening import screen

    files = sorted((examples / "intakes").glob("*.json"))
    if not files:
        fail(f"--examples: no intakes/*.json under {examples}")
    table = Table(title="ashiguard: screening of the example intakes")
    for column in ("intake", "client", "decision", "rules fired", "restrictions"):
        table.add_column(column, overflow="fold")
    version = ""
    for path in files:
        try:
            result = screen(parse_intake(path.read_text(encoding="utf-8")))
        except (OSError, InputError) as exc:
            fail(f"{path.name}: {exc}")
        version = result.rules_version
        rules = ", ".join(dict.fromkeys(f.rule for f in result.findings)) or "-"
        table.add_row(
            path.stem,
            result.client_id,
            result.decision.value,
            rules,
            result.restrictions.describe(),
        )
    console = Console()
    console.print(table)
    console.print(f"rules: {version}; details: ashiguard screen --format text FILE")


def register(app: typer.Typer) -> None:
    app.command("demo")(_demo)
