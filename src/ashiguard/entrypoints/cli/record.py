"""``ashiguard record`` (a live source into a recording) and ``ashiguard publish`` (as LSL)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from ashiguard.entrypoints.cli._common import fail, refusing_bad_input

__all__ = ["register"]


def record(
    source: str = typer.Option(..., "--source", help="sim, sim:SCENARIO, replay:FILE or lsl:NAME."),
    duration: float = typer.Option(..., "--duration", help="Stream time to record, s."),
    output: Path = typer.Option(..., "-o", "--output", help="Recording to write (.h5)."),
    speed: float = typer.Option(
        1.0, "--speed", help="sim/replay pacing: 1 real time, 0 as fast as possible."
    ),
    seed: int = typer.Option(1, "--seed", help="sim: random seed."),
    timeout: float = typer.Option(5.0, "--timeout", help="lsl: seconds to find the stream."),
) -> None:
    """Record a live frame source to a recording, counting dropped/reordered frames."""
    from ashiguard.adapters.sources import open_source
    from ashiguard.services.record import record_source

    opts: dict[str, Any] = {}
    kind = source.partition(":")[0]
    if kind == "sim":
        # simulate a little more than asked, so the recording is never cut short
        opts = {"speed": speed, "seed": seed, "duration_s": duration + 1.0}
    elif kind == "replay":
        opts = {"speed": speed}
    elif kind == "lsl":
        opts = {"timeout_s": timeout}
    with refusing_bad_input(OSError):
        src = open_source(source, **opts)
        try:
            if sys.stderr.isatty():
                from rich.console import Console
                from rich.progress import Progress

                with Progress(console=Console(stderr=True), transient=True) as bar:
                    task = bar.add_task(f"recording {source}", total=duration)
                    res = record_source(
                        src, output, duration, progress=lambda s, d: bar.update(task, completed=s)
                    )
            else:
                res = record_source(src, output, duration)
        finally:
            src.close()
    late = f", late frames left out {res.skipped_late}" if res.skipped_late else ""
    typer.echo(
        f"recorded {res.frames} frames ({res.duration_s:.2f} s) from {source} to {res.path}: "
        f"dropped {res.dropped}, reordered {res.reordered}{late}"
    )


def publish(
    source: str = typer.Option(..., "--source", help="sim, sim:SCENARIO or replay:FILE."),
    name: str = typer.Option(..., "--name", help="LSL stream name (consume with lsl:NAME)."),
    speed: float = typer.Option(1.0, "--speed", help="1 real time, 0 as fast as possible."),
    duration: float = typer.Option(600.0, "--duration", help="sim: session length, s."),
    seed: int = typer.Option(1, "--seed", help="sim: random seed."),
    loop: bool = typer.Option(False, "--loop", help="replay: start again at the end."),
    wait: float | None = typer.Option(
        None, "--wait", help="Wait up to this many seconds for a consumer before streaming."
    ),
) -> None:
    """Publish a simulated or recorded session as a Lab Streaming Layer stream."""
    from ashiguard.adapters.sources import open_source
    from ashiguard.adapters.sources.lsl import serve_lsl

    kind = source.partition(":")[0]
    opts: dict[str, Any] = {"speed": speed}
    if kind == "sim":
        opts |= {"seed": seed, "duration_s": duration}
    elif kind == "replay":
        opts["loop"] = loop
    else:
        fail(f"--source: {source!r} cannot be published; use sim, sim:SCENARIO or replay:FILE")
    with refusing_bad_input(OSError):
        src = open_source(source, **opts)
        try:
            n = serve_lsl(src, name, wait_for_consumer_s=wait)
        except KeyboardInterrupt:
            n = src.stats.frames
        finally:
            src.close()
    s = src.stats
    typer.echo(
        f"published {n} frames from {source} as lsl:{name}: "
        f"dropped {s.dropped}, reordered {s.reordered}"
    )


def register(app: typer.Typer) -> None:
    app.command("record")(record)
    app.command("publish")(publish)
