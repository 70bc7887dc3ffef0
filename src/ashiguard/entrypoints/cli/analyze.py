"""``ashiguard analyze`` and ``ashiguard evaluate``: offline alarms and their evaluation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ashiguard.entrypoints.cli._common import (
    fail,
    print_json,
    read_json_object,
    read_text_arg,
    refusing_bad_input,
)

__all__ = ["register"]


def analyze(
    recording: Path = typer.Argument(..., help="Recording (ashiguard.recording/1, HDF5)."),
    alerts: Path = typer.Option(..., "--alerts", help="Write alert episodes (JSON Lines)."),
    summary: Path | None = typer.Option(None, "--summary", help="Write the summary JSON."),
    intake: str | None = typer.Option(None, "--intake", help="Intake JSON: screen it for limits."),
    screening: str | None = typer.Option(None, "--screening", help="Screening result JSON."),
    config: str | None = typer.Option(None, "--config", help="Clinic limits file (TOML)."),
    therapist_mass: float | None = typer.Option(
        None, "--therapist-mass", help="Therapist's mass, kg (overrides the recording's)."
    ),
    truth_restrictions: bool = typer.Option(
        False,
        "--truth-restrictions",
        help="Also apply a simulated recording's ground-truth restrictions (for evaluate).",
    ),
) -> None:
    """Run the alarm engine over a recording and write alert episodes and a summary."""
    from ashiguard.services.analyze import (
        analyze_recording,
        limits_from_files,
        write_alerts_jsonl,
    )

    if intake and screening:
        fail("--intake and --screening: give one of them, not both")
    with refusing_bad_input(OSError):
        cfg = limits_from_files(
            config_text=read_text_arg(config) if config else None,
            screening=read_json_object(screening, "screening") if screening else None,
            intake=read_json_object(intake, "intake") if intake else None,
        )
        if not recording.is_file():
            fail(f"{recording}: no such recording")
        progress = None
        bar = None
        if sys.stderr.isatty():
            from rich.progress import Progress

            bar = Progress(transient=True)
            task = bar.add_task("analyzing", total=None)
            bar.start()

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

        try:
            result = analyze_recording(
                recording,
                cfg,
                progress=progress,
                use_truth_restrictions=truth_restrictions,
                therapist_mass_kg=therapist_mass,
            )
        finally:
            if bar is not None:
                bar.stop()
        write_alerts_jsonl(result.alerts, alerts)
        if summary is not None:
            summary.write_text(json.dumps(result.summary, indent=1) + "\n", encoding="utf-8")
    counts = result.summary["alerts_by_kind"]
    shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "none"
    typer.echo(f"{len(result.alerts)} alert episodes ({shown}) -> {alerts}")
    faults = result.summary.get("sensel_faults") or []
    if faults:
        kinds = ", ".join(
            f"{sum(f['kind'] == k for f in faults)} {k}"
            for k in ("dead", "stuck", "saturated")
            if any(f["kind"] == k for f in faults)
        )
        typer.echo(f"sensor faults from power-on: {kinds} sensel(s), treated as not reporting")
    drift = result.summary.get("drift") or {}
    if drift.get("baseline_change_max") is not None:
        typer.echo(
            f"baseline drift while unloaded: {drift['baseline_change_max']:+.4g} "
            f"{drift['units']} (largest sensel) over {drift['anchors']} unloaded stretches"
            + ("; corrected on import" if drift.get("corrected_on_import") else "")
        )


def evaluate(
    recording: Path = typer.Argument(..., help="Recording with /truth/events (simulated)."),
    alerts: str = typer.Option(..., "--alerts", help="Alert episodes (JSON Lines)."),
    as_json: bool = typer.Option(False, "--json", help="Print ashiguard.evaluation/1 JSON."),
    tolerance: float = typer.Option(0.5, "--onset-tolerance", help="Onset tolerance, s."),
) -> None:
    """Compare alert episodes with a simulated recording's ground truth, per kind."""
    from ashiguard.adapters.recording import open_recording
    from ashiguard.services.analyze import evaluate_alerts, read_alerts_jsonl

    with refusing_bad_input(OSError):
        got = read_alerts_jsonl(read_text_arg(alerts), alerts)
        with open_recording(recording) as rec:
            truth = rec.truth_events()
        if not truth:
            fail(f"{recording}: /truth/events: no ground truth to evaluate against")
        result = evaluate_alerts(truth, got, onset_tolerance_s=tolerance)
    if as_json:
        print_json(result)
        return

    def fmt(v: float | None, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    typer.echo(
        f"{'kind':20} {'truth':>5} {'alerts':>6} {'recall':>7} {'precision':>9} "
        f"{'onset mean s':>12} {'onset max s':>11}"
    )
    for kind, r in result["kinds"].items():
        typer.echo(
            f"{kind:20} {r['truth']:5d} {r['alerts']:6d} {fmt(r['recall'], '.3f'):>7} "
            f"{fmt(r['precision'], '.3f'):>9} {fmt(r['onset_delay_mean_s'], '.3f'):>12} "
            f"{fmt(r['onset_delay_max_s'], '.3f'):>11}"
        )


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
    app.command("evaluate")(evaluate)
