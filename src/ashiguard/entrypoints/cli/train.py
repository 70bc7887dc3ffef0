"""``ashiguard train``: training mode (exercises, a student's attempt live, its score)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ashiguard.entrypoints.cli._common import fail, print_json, read_text_arg, refusing_bad_input

if TYPE_CHECKING:
    from ashiguard.domain.training import AttemptScore, AttemptScorer, Exercise

__all__ = ["register"]

train_app = typer.Typer(
    help="Training mode: validate an exercise, or run and score a student's attempt.",
    invoke_without_command=True,
)


def _load_exercise(path: str) -> Exercise:
    from ashiguard.domain.errors import InputError
    from ashiguard.domain.training import parse_exercise

    text = read_text_arg(path)
    try:
        return parse_exercise(text)
    except InputError as exc:  # one line naming the file and the key
        fail(f"{path}: {exc}")


@train_app.command("validate")
def validate(
    file: str = typer.Argument(..., help="Exercise file (TOML, ashiguard.exercise/1; - = stdin)."),
    as_json: bool = typer.Option(False, "--json", help="Print the exercise as JSON."),
) -> None:
    """Check an exercise file; one line per error (exit 2), its summary when valid."""
    ex = _load_exercise(file)
    if as_json:
        print_json(ex.to_json())
        return
    level = f"level {ex.level}, " if ex.level is not None else ""
    typer.echo(
        f"{file}: valid exercise {ex.id} v{ex.version}: {ex.technique} with the "
        f"{ex.contact.replace('_', ' ')} on {', '.join(ex.zones)}, {level}"
        f"{ex.low_kpa:g}-{ex.high_kpa:g} kPa for {ex.duration_s:g} s; "
        f"forbidden {', '.join(ex.forbidden_zones) or 'none'}"
    )


@train_app.command("score")
def score(
    recording: Path = typer.Argument(..., help="A recorded attempt (.h5)."),
    exercise: str | None = typer.Option(
        None, "--exercise", help="Exercise file (default: the one the recording carries)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the score as JSON."),
) -> None:
    """Score a recorded attempt against the exercise it carries (or --exercise FILE)."""
    from ashiguard.services.training import exercise_of_recording, score_recording

    with refusing_bad_input(OSError):
        ex = _load_exercise(exercise) if exercise is not None else exercise_of_recording(recording)
        result = score_recording(recording, ex)
    if as_json:
        print_json({**result.to_json(), "recording": str(recording)})
        return
    _print_score(ex, result)


@train_app.command("progress")
def progress(
    attempts: list[Path] = typer.Argument(..., help="Recorded attempts (.h5), oldest first."),
    csv_out: Path | None = typer.Option(
        None, "--csv", help="Write the de-identified attempts as CSV (- = stdout)."
    ),
    plot_out: Path | None = typer.Option(None, "--plot", help="Write the progress plot (.png)."),
) -> None:
    """Score recorded attempts in order; a de-identified CSV and a progress plot on request."""
    import csv
    import io
    import sys

    from ashiguard.domain.training import ATTEMPT_CSV_COLUMNS
    from ashiguard.services.training import attempts_progress

    with refusing_bad_input(OSError):
        result = attempts_progress(attempts)
    if plot_out is not None:
        from ashiguard.adapters.training_plot import progress_png

        with refusing_bad_input(OSError):
            plot_out.write_bytes(progress_png(result.scores))
    if csv_out is not None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=ATTEMPT_CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(result.rows)
        if str(csv_out) == "-":
            sys.stdout.write(buf.getvalue())
            return
        with refusing_bad_input(OSError):
            csv_out.write_text(buf.getvalue(), encoding="utf-8")
    for row in result.rows:
        typer.echo(
            f"{row['attempt']:>3}  {row['exercise']} v{row['exercise_version']}  "
            f"{'passed' if row['passed'] == 'yes' else 'FAILED'}  in band "
            f"{100 * row['in_band_fraction']:.0f} %  overshoot {row['overshoot_kpa_s']} kPa·s  "
            f"variation {row['cv'] if row['cv'] != '' else '-'}"
        )
    passed = sum(1 for s in result.scores if s.passed)
    typer.echo(f"{passed} of {len(result.scores)} attempts passed")


@train_app.command("report")
def report(
    practitioner: int = typer.Option(..., "--practitioner", help="The student (practitioner id)."),
    output: Path = typer.Option(..., "-o", "--output", help="PDF to write."),
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help="The clinic's data directory."),
) -> None:
    """Write a student's training progress report (PDF) from the clinic's record."""
    from ashiguard.adapters.db import SqlUnitOfWork
    from ashiguard.bootstrap import open_database
    from ashiguard.services.training import progress_report, progress_report_pdf
    from ashiguard.settings import Settings

    with refusing_bad_input(OSError):
        db = open_database(Settings.from_env(data_dir))
        try:
            with SqlUnitOfWork(db) as uow:
                data = progress_report(uow, practitioner, None)
        finally:
            db.dispose()
        output.write_bytes(progress_report_pdf(data))
    typer.echo(f"wrote the progress report of {data.practitioner['name']} to {output}")


@train_app.callback()
def _train(
    ctx: typer.Context,
    exercise: str | None = typer.Option(None, "--exercise", help="Exercise file (TOML)."),
    source: str | None = typer.Option(
        None, "--source", help="sim:good_student, sim:poor_student, replay:FILE or lsl:NAME."
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Record the attempt (.h5)."),
    as_json: bool = typer.Option(False, "--json", help="Print the score as JSON."),
    speed: float = typer.Option(
        1.0, "--speed", help="sim/replay pacing: 1 real time, 0 as fast as possible."
    ),
    seed: int = typer.Option(1, "--seed", help="sim: random seed."),
    timeout: float = typer.Option(5.0, "--timeout", help="lsl: seconds to find the stream."),
    practitioner: int | None = typer.Option(
        None, "--practitioner", help="Store the attempt in this practitioner's training record."
    ),
    data_dir: Path = typer.Option(
        Path("data"), "--data-dir", help="The clinic's data directory (with --practitioner)."
    ),
) -> None:
    """Run a student's attempt at an exercise live, record it, and print its score."""
    if ctx.invoked_subcommand is not None:
        return
    if exercise is None or source is None:
        fail("train: give --exercise FILE and --source SPEC (or the command validate FILE)")
    ex = _load_exercise(exercise)
    store = None
    if practitioner is not None:
        store = _Store(data_dir, practitioner, ex, read_text_arg(exercise))
    try:
        emit = store is None or not as_json  # a stored attempt's JSON carries its id: below
        score = _run(ex, source, output, as_json, speed, seed, timeout, emit=emit)
        if store is not None:
            attempt_id = store.save(score, source, output)
            if as_json:
                print_json({**score.to_json(), "source": source, "recording": _text(output),
                            "attempt_id": attempt_id})  # fmt: skip
            else:
                typer.echo(f"stored as attempt {attempt_id} of practitioner {practitioner}")
    finally:
        if store is not None:
            store.close()


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


class _Store:
    """The clinic database an attempt goes to: the practitioner and the exercise are checked
    (the exercise stored when new) before the attempt runs."""

    def __init__(self, data_dir: Path, practitioner: int, ex: Exercise, text: str) -> None:
        from ashiguard.adapters.db import SqlUnitOfWork
        from ashiguard.bootstrap import open_database
        from ashiguard.services.training import exercise_for_attempt
        from ashiguard.settings import Settings

        self.practitioner = practitioner
        with refusing_bad_input():
            self.db = open_database(Settings.from_env(data_dir))
            try:
                with SqlUnitOfWork(self.db) as uow:
                    self.exercise_id = exercise_for_attempt(uow, practitioner, ex, text).id
            except BaseException:
                self.db.dispose()
                raise

    def save(self, score: AttemptScore, source: str, output: Path | None) -> int:
        from ashiguard.adapters.db import SqlUnitOfWork
        from ashiguard.services.training import store_attempt

        with refusing_bad_input(), SqlUnitOfWork(self.db) as uow:
            row = store_attempt(
                uow,
                self.practitioner,
                self.exercise_id,
                score,
                None,
                "cli",
                source=source,
                recording=_text(output),
            )
            return int(row.id)

    def close(self) -> None:
        self.db.dispose()


def _run(
    ex: Exercise,
    source: str,
    output: Path | None,
    as_json: bool,
    speed: float,
    seed: int,
    timeout: float,
    *,
    emit: bool = True,
) -> AttemptScore:
    import sys

    from ashiguard.services.training import run_attempt

    view = None
    if sys.stderr.isatty() and not as_json:
        view = _AttemptView(ex)
    with refusing_bad_input(OSError):
        if view is not None:
            with view:
                result = run_attempt(
                    ex, source, output, speed=speed, seed=seed, timeout_s=timeout, on_frame=view
                )
        else:
            result = run_attempt(ex, source, output, speed=speed, seed=seed, timeout_s=timeout)
    score = result.score
    if not emit:
        return score
    if as_json:
        out = score.to_json()
        out["source"] = source
        out["recording"] = None if output is None else str(output)
        print_json(out)
        return score
    _print_score(ex, score)
    if output is not None:
        typer.echo(f"recorded {result.frames} frames to {output}")
    return score


def _print_score(ex: Exercise, score: AttemptScore) -> None:
    verdict = "PASSED" if score.passed else "FAILED"
    onset = "never" if score.onset_s is None else f"{score.onset_s:.1f} s"
    cv = "-" if score.cv is None else f"{score.cv:.2f}"
    typer.echo(
        f"{ex.id} v{ex.version}: {verdict}: in band {score.in_band_s:.1f} s "
        f"({100 * score.in_band_fraction:.0f} %), overshoot {score.overshoot_kpa_s:.0f} kPa·s, "
        f"variation {cv}, onset {onset}, forbidden zones "
        f"{', '.join(f.zone for f in score.forbidden) or 'none'}"
    )
    for reason in score.reasons:
        typer.echo(f"  - {reason}")


_STATE_WORDS: dict[str, tuple[str, str]] = {
    "idle": ("no contact", "dim"),
    "under": ("too light", "bold black on yellow"),
    "on": ("on target", "bold black on green"),
    "over": ("too heavy", "bold white on red"),
}
"""Scorer state -> (what the student reads, rich style)."""


def _render_attempt(exercise: Exercise, scorer: AttemptScorer, t: float) -> Any:
    """The view of the attempt at stream time ``t`` s: a rich renderable."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    word, style = _STATE_WORDS[scorer.state]
    value = "-" if scorer.value_kpa is None else f"{scorer.value_kpa:5.1f} kPa"
    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", style="bold")
    grid.add_column()
    grid.add_row("target band", f"{exercise.low_kpa:g}-{exercise.high_kpa:g} kPa")
    grid.add_row("now", Text.assemble((f"{value}  ", "bold"), (f" {word} ", style)))
    grid.add_row("time in band", f"{scorer.in_band_s:5.1f} s")
    grid.add_row("time", f"{min(t, exercise.duration_s):5.1f} / {exercise.duration_s:g} s")
    grid.add_row("overshoot", f"{scorer.overshoot:5.1f} kPa·s")
    if scorer.forbidden_now:
        grid.add_row(
            "FORBIDDEN", Text(f" {', '.join(scorer.forbidden_now)} loaded ", "bold white on red")
        )
    return Panel(grid, title=f"{exercise.id}: {exercise.title}", expand=False)


class _AttemptView:
    """A rich ``Live`` view on stderr, updated at most 10 times a second, ringing the terminal
    bell when a forbidden zone becomes loaded. Use as a context manager; call it as the
    ``on_frame`` callback of :func:`ashiguard.services.training.run_attempt`."""

    def __init__(self, exercise: Exercise) -> None:
        from rich.console import Console
        from rich.live import Live

        self.exercise = exercise
        self.console = Console(stderr=True)
        self._live = Live(console=self.console, refresh_per_second=10, transient=False)
        self._last_draw = 0.0
        self._forbidden: tuple[str, ...] = ()

    def __enter__(self) -> _AttemptView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)

    def __call__(self, scorer: AttemptScorer, t: float) -> None:
        new = [z for z in scorer.forbidden_now if z not in self._forbidden]
        self._forbidden = scorer.forbidden_now
        if new:
            self.console.bell()
        now = time.monotonic()
        if new or now - self._last_draw >= 0.1:
            self._last_draw = now
            self._live.update(_render_attempt(self.exercise, scorer, t))


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
