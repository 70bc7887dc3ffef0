"""``ashiguard analyze-batch``: offline analysis of many recordings on a Dask cluster."""

from __future__ import annotations

import re
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import typer

from ashiguard.entrypoints.cli._common import fail, read_text_arg, refusing_bad_input

__all__ = ["register"]

_SCHEDULER = re.compile(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})")
_DEFAULT_WORKERS = 2


def _check_out(out: Path) -> None:
    """Refuse an --out that is not ``*.parquet`` or where the table files cannot be written."""
    if out.suffix.lower() != ".parquet":
        fail(f"--out: {out}: must end in .parquet (the CSV is written beside it)")
    for path in (out, out.with_suffix(".csv")):
        if path.is_dir():
            fail(f"--out: {path}: is a directory")
        existed = path.exists()
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            fail(f"--out: {path}: cannot write: {exc.strerror or exc}")
        if not existed:
            path.unlink(missing_ok=True)


def _check_scheduler(address: str) -> None:
    m = _SCHEDULER.fullmatch(address)
    if m is None or not 0 < int(m.group(3)) < 65536:
        fail(f"--scheduler: {address!r}: expected tcp://HOST:PORT (a running dask scheduler)")


def analyze_batch(
    paths: list[str] = typer.Argument(
        ..., help="Directories (their *.h5 files), glob patterns or recordings.", metavar="PATHS"
    ),
    out: Path = typer.Option(..., "--out", help="Table to write (.parquet; CSV beside it)."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Use a running Dask cluster: tcp://HOST:PORT."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        help=f"Worker processes of the local cluster [default: {_DEFAULT_WORKERS}].",
    ),
    config: str | None = typer.Option(None, "--config", help="Clinic limits file (TOML)."),
) -> None:
    """Analyse many recordings on Dask into one table (Parquet and CSV), a row per zone."""
    from ashiguard.services.analyze import limits_from_files
    from ashiguard.services.batch import analyze_batch as run_batch
    from ashiguard.services.batch import dask_client, find_recordings, write_rows

    with refusing_bad_input():
        files = find_recordings(paths)
    _check_out(out)
    if scheduler is not None:
        _check_scheduler(scheduler)
        if workers is not None:
            fail("--workers: only for the local cluster; a --scheduler cluster has its own")
    n_workers = _DEFAULT_WORKERS if workers is None else workers
    if n_workers < 1:
        fail(f"--workers: must be at least 1, got {n_workers}")
    with refusing_bad_input():
        cfg = limits_from_files(config_text=read_text_arg(config) if config else None)

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console(stderr=True)
    t_start = time.perf_counter()
    with ExitStack() as stack:
        try:
            client = stack.enter_context(dask_client(scheduler, workers=n_workers))
        except (OSError, TimeoutError) as exc:
            fail(f"--scheduler: cannot connect to {scheduler}: {exc}")
        started = time.perf_counter() - t_start
        bar = Progress(
            "analyzing",
            BarColumn(),
            MofNCompleteColumn(),
            "recordings",
            TimeElapsedColumn(),
            console=console,
            transient=console.is_terminal,
        )
        task = bar.add_task("analyzing", total=len(files))
        with bar:
            result = run_batch(
                files,
                cfg,
                client=client,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    parquet, csv = write_rows(result.rows, out)
    sys.stderr.flush()
    where = "cluster " + scheduler if scheduler else f"local cluster of {n_workers} workers"
    typer.echo(
        f"{result.recordings} recordings, {result.failed} failed, {len(result.rows)} rows in "
        f"{result.elapsed_s:.1f} s ({result.per_min:.0f} recordings/min on {where}; "
        f"start-up {started:.1f} s) -> {parquet}, {csv}"
    )


def register(app: typer.Typer) -> None:
    app.command("analyze-batch")(analyze_batch)
