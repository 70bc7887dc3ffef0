"""``ashiguard simulate``: write a simulated session with ground truth to a recording."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ashiguard.entrypoints.cli._common import fail, refusing_bad_input

__all__ = ["register"]


def simulate(
    output: Path | None = typer.Option(None, "-o", "--output", help="Recording to write (.h5)."),
    duration: float = typer.Option(600.0, "--duration", help="Session length, s."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same data)."),
    scenario: str = typer.Option("baseline", "--scenario", help="Scenario (--list-scenarios)."),
    placement: str = typer.Option(
        "on_client", "--placement", help="on_client (sheet on the back) or under_client (mat)."
    ),
    rate: float = typer.Option(100.0, "--rate", help="Frame rate, Hz."),
    therapist_mass: float = typer.Option(68.0, "--therapist-mass", help="Therapist, kg."),
    client_height: float = typer.Option(172.0, "--client-height", help="Client height, cm."),
    client_weight: float = typer.Option(74.0, "--client-weight", help="Client weight, kg."),
    list_scenarios: bool = typer.Option(
        False, "--list-scenarios", help="List the scenarios and exit."
    ),
) -> None:
    """Simulate a barefoot-massage session (with injected events and ground truth)."""
    from ashiguard.domain.simulation import SCENARIOS, SimulationConfig

    if list_scenarios:
        for name, what in SCENARIOS.items():
            typer.echo(f"{name:<11} {what}")
        return
    if output is None:
        fail("--output: required (-o REC.h5)")
    from ashiguard.services.simulate import simulate_to_file

    with refusing_bad_input(OSError):
        config = SimulationConfig(
            duration_s=duration,
            rate_hz=rate,
            seed=seed,
            scenario=scenario,
            placement=placement,
            therapist_mass_kg=therapist_mass,
            client_height_cm=client_height,
            client_weight_kg=client_weight,
        )
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            with Progress(console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task(f"simulating {scenario}", total=1.0)
                res = simulate_to_file(
                    output, config, progress=lambda k, n: bar.update(task, completed=k / n)
                )
        else:
            res = simulate_to_file(output, config)
    typer.echo(
        f"wrote {res.path}: {res.frames} frames ({res.duration_s:.1f} s, {scenario}, seed {seed}),"
        f" dropped {res.dropped}, truth events {res.truth_events}, in {res.elapsed_s:.1f} s"
    )


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
