"""``ashiguard bench``: print measured speed and memory numbers."""

from __future__ import annotations

import typer

from ashiguard.entrypoints.cli._common import fail, print_json

__all__ = ["register"]


def bench(
    parts: list[str] = typer.Argument(
        None, help="Parts to run (default: all). See --list.", show_default=False
    ),
    as_json: bool = typer.Option(False, "--json", help="Print ashiguard.bench/1 JSON."),
    quick: bool = typer.Option(False, "--quick", help="Smaller data, for a smoke run."),
    list_parts: bool = typer.Option(False, "--list", help="List the parts and exit."),
) -> None:
    """Measure speed and memory against the project's goals and print the numbers."""
    from ashiguard.bench import PARTS, report, run_parts

    if list_parts:
        for p in PARTS:
            typer.echo(p)
        return
    chosen = list(parts) if parts else list(PARTS)
    unknown = [p for p in chosen if p not in PARTS]
    if unknown:
        fail(f"unknown bench part {unknown[0]!r}; parts: {', '.join(PARTS)}")

    def progress(part: str) -> None:
        typer.echo(f"running bench part {part} ...", err=True)

    results = run_parts(chosen, quick=quick, progress=progress)
    rep = report(results)
    if as_json:
        print_json(rep)
        return
    m = rep["machine"]
    typer.echo(
        f"machine: {m['cpus']} cpus, python {m['python']}, numpy {m['numpy']} ({m['numpy_blas']})"
    )
    typer.echo(f"{'result':34} {'value':>12} {'unit':8} {'goal':>10}  met  detail")
    for r in results:
        goal = "-" if r.goal is None else f"{'<=' if r.better == 'lower' else '>='}{r.goal:g}"
        met = {True: "yes", False: "NO", None: "-"}[r.met]
        typer.echo(f"{r.name:34} {r.value:12.4g} {r.unit:8} {goal:>10}  {met:3}  {r.detail}")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
