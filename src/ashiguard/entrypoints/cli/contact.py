"""``ashiguard contact``: compare contacts (foot, heel, ..., thumb) at the same load."""

from __future__ import annotations

import typer

from ashiguard.entrypoints.cli._common import fail, print_json, refusing_bad_input

__all__ = ["register"]

_DEPTHS = (20.0, 45.0, 80.0)


def contact(
    load_n: str = typer.Option(..., "--load-n", help="Load through each contact, N (> 0)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
) -> None:
    """Compare contact area, mean pressure and stress at depth of each contact at one load."""
    from ashiguard.domain.mechanics import contact_table

    try:
        load = float(load_n)
    except ValueError:
        fail(f"--load-n: {load_n!r} is not a number of newtons")
    with refusing_bad_input():
        rows = contact_table(load, _DEPTHS)
    if as_json:
        print_json(
            [
                {
                    "contact": r.contact,
                    "area_cm2": r.area_cm2,
                    "mean_kpa": round(r.mean_kpa, 2),
                    "peak_sigma_z_kpa": {
                        f"{d:g}": round(v, 2) for d, v in r.peak_sigma_z_kpa.items()
                    },
                }
                for r in rows
            ]
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"Contacts at {load:g} N (Boussinesq half-space, peak σz by depth)",
        caption="20 mm: superficial muscle; 45 mm: about the lumbar spinal canal; "
        "80 mm: about the kidney. A comparison model, not organ stress.",
    )
    table.add_column("contact")
    table.add_column("area cm²", justify="right")
    table.add_column("mean kPa", justify="right")
    for d in _DEPTHS:
        table.add_column(f"σz {d:g} mm kPa", justify="right")
    for r in rows:
        table.add_row(
            r.contact,
            f"{r.area_cm2:.1f}",
            f"{r.mean_kpa:.1f}",
            *(f"{r.peak_sigma_z_kpa[d]:.1f}" for d in _DEPTHS),
        )
    Console(width=120).print(table)


def register(app: typer.Typer) -> None:
    app.command("contact")(contact)
