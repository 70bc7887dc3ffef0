"""``ashiguard zones``: draw the body zone map (PNG) or print it as JSON."""

from __future__ import annotations

from pathlib import Path

import typer

from ashiguard.entrypoints.cli._common import fail, print_json, refusing_bad_input

__all__ = ["register"]


def zones(
    height_cm: str = typer.Option(..., "--height-cm", help="Client's standing height, cm."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write the drawing to this PNG file."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the zones (polygons, centroids, areas) as JSON."
    ),
    landmark: list[str] = typer.Option(
        None,
        "--landmark",
        help="A measured landmark, NAME=MM from C7 (e.g. t12=300); repeatable.",
        show_default=False,
    ),
) -> None:
    """Draw the posterior body with its zones (PNG) or print the zone map as JSON."""
    if output is None and not as_json:
        fail("give -o FILE.png and/or --json")
    from ashiguard.domain.zones import ZoneMap

    try:
        height = float(height_cm)
    except ValueError:
        fail(f"--height-cm: {height_cm!r} is not a number of cm")
    measured: dict[str, float] = {}
    for item in landmark or []:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or number is None:
            fail(f"--landmark: {item!r} is not NAME=MM")
        measured[name.strip()] = number
    with refusing_bad_input():
        zone_map = ZoneMap.from_height(height * 10.0, **measured)
    if output is not None:
        if output.suffix.lower() != ".png":
            fail(f"--output: {output}: the drawing is a PNG, name the file *.png")
        from ashiguard.adapters.drawing import save_zones_png

        try:
            save_zones_png(output, zone_map)
        except OSError as exc:
            fail(f"--output: {output}: cannot write: {exc.strerror}")
    if as_json:
        print_json(zone_map.to_json())
    else:
        typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command("zones")(zones)
