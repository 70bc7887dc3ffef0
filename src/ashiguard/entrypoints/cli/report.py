"""``ashiguard report``: a session report to file and print (PDF, PNG or HTML)."""

from __future__ import annotations

from pathlib import Path

import typer

from ashiguard.entrypoints.cli._common import (
    fail,
    read_json_object,
    read_text_arg,
    refusing_bad_input,
)

__all__ = ["register"]


def report(
    recording: Path = typer.Argument(..., help="Recording (ashiguard.recording/1, HDF5)."),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Report to write: .pdf (A4 pages), .png (one page) or .html."
    ),
    intake: str | None = typer.Option(None, "--intake", help="Intake JSON: screen it for limits."),
    screening: str | None = typer.Option(None, "--screening", help="Screening result JSON."),
    alerts: str | None = typer.Option(
        None, "--alerts", help="Alert episodes (JSON Lines) from ashiguard analyze."
    ),
    summary: str | None = typer.Option(
        None, "--summary", help="Summary JSON from ashiguard analyze."
    ),
    config: str | None = typer.Option(None, "--config", help="Clinic limits file (TOML)."),
    therapist_mass: float | None = typer.Option(
        None, "--therapist-mass", help="Therapist's mass, kg (overrides the recording's)."
    ),
    comfort_kpa: float | None = typer.Option(
        None,
        "--comfort-kpa",
        help="The client's comfort ceiling, kPa: lowers the plan the delivery is compared with.",
    ),
) -> None:
    """Write a session report (PDF, PNG or HTML) for a recording, analyzing it if needed."""
    from ashiguard.services.analyze import read_alerts_jsonl
    from ashiguard.services.report import FORMATS, build_report

    if intake and screening:
        fail("--intake and --screening: give one of them, not both")
    if output.suffix.lower() not in FORMATS:
        fail(f"--output: {output}: name the report *.pdf, *.png or *.html")
    if comfort_kpa is not None and not comfort_kpa > 0:
        fail(f"--comfort-kpa: must be > 0 kPa, got {comfort_kpa:g}")
    if not recording.is_file():
        fail(f"{recording}: no such recording")
    with refusing_bad_input():
        out = build_report(
            recording,
            output,
            screening=read_json_object(screening, "screening") if screening else None,
            intake=read_json_object(intake, "intake") if intake else None,
            alerts=read_alerts_jsonl(read_text_arg(alerts), alerts) if alerts else None,
            summary=read_json_object(summary, "summary") if summary else None,
            config_text=read_text_arg(config) if config else None,
            therapist_mass_kg=therapist_mass,
            comfort=comfort_kpa,
        )
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
