"""``ashiguard plan``: turn a screening into a per-zone session plan."""

from __future__ import annotations

import typer

from ashiguard.entrypoints.cli._common import fail, print_json, read_text_arg, refusing_bad_input

__all__ = ["register"]


def _number(option: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        fail(f"{option}: {text!r} is not a number")


def plan(
    screening: str = typer.Option(
        ..., "--screening", help="ashiguard.screening/1 JSON file ('-' for stdin)."
    ),
    therapist_kg: str = typer.Option(..., "--therapist-kg", help="Therapist's body mass, kg."),
    height_cm: str | None = typer.Option(
        None, "--height-cm", help="Client's height, cm: adds each zone's centroid (mm)."
    ),
    comfort_kpa: str | None = typer.Option(
        None,
        "--comfort-kpa",
        help="The client's comfort ceiling, kPa of mean contact pressure (e.g. proposed from "
        "their 'too much' markers): lowers levels, never raises them.",
    ),
    comfort_source: str = typer.Option(
        "", "--comfort-source", help="Where the comfort ceiling came from (shown with the plan)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print ashiguard.plan/1 JSON."),
) -> None:
    """Plan a session from a screening: per zone allowed, technique, level 0-5 and max load."""
    from ashiguard.domain.plan import LEVELS, ComfortCap, make_plan, target_band
    from ashiguard.domain.screening import parse_screening
    from ashiguard.domain.zones import ZoneMap

    mass = _number("--therapist-kg", therapist_kg)
    comfort = None
    if comfort_kpa is not None:
        value = _number("--comfort-kpa", comfort_kpa)
        if not value > 0:
            fail(f"--comfort-kpa: must be > 0 kPa, got {comfort_kpa!r}")
        source = comfort_source.strip() or "given with --comfort-kpa"
        comfort = ComfortCap(kpa=value, source=source)
    text = read_text_arg(screening)
    with refusing_bad_input():
        parsed = parse_screening(text)
        zone_map = None
        if height_cm is not None:
            zone_map = ZoneMap.from_height(_number("--height-cm", height_cm) * 10.0)
        session = make_plan(parsed, mass, zone_map, comfort)
    if as_json:
        print_json(session.to_json())
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(width=140)
    console.print(
        f"Plan for client {session.client_id} on {session.date.isoformat()}: "
        f"decision {session.decision}; therapist {session.therapist_mass_kg:g} kg "
        f"({session.weight_n:.0f} N)",
        markup=False,
        highlight=False,
    )
    console.print(session.summary, markup=False, highlight=False)
    for f in session.findings:
        console.print(f"  finding {f['rule']} ({f['decision']}): {f['reason']}", markup=False)
    if not session.barefoot_work:
        return
    table = Table(show_lines=False)
    for col in ("zone", "allowed", "technique"):
        table.add_column(col)
    for col in ("level", "target kPa", "max kPa", "max load N", "share"):
        table.add_column(col, justify="right")
    table.add_column("reason")
    for z in session.zones:
        band = target_band(z)
        table.add_row(
            z.zone,
            "yes" if z.allowed else "NO",
            z.technique.replace("_", " "),
            str(z.level),
            f"{band[0]:.0f}-{band[1]:.0f}" if band else "-",
            f"{z.max_pressure_kpa:.0f}",
            f"{z.max_load_n:.0f}",
            f"{z.max_load_fraction:.0%}",
            z.reason,
        )
    console.print(table)
    console.print(
        "levels (Walton 0-5, kPa bands are a project assumption): "
        + "; ".join(f"{lv.level} {lv.name} <= {lv.max_kpa:g}" for lv in LEVELS),
        markup=False,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
