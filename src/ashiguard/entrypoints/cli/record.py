"""``ashiguard record`` (a live source into a recording) and ``ashiguard publish`` (as LSL)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import typer

from ashiguard.entrypoints.cli._common import (
    fail,
    read_text_arg,
    refusing_bad_input,
    tare_words,
)

__all__ = ["register"]


def record(
    source: str = typer.Option(..., "--source", help="sim, sim:SCENARIO, replay:FILE or lsl:NAME."),
    duration: float = typer.Option(..., "--duration", help="Stream time to record, s."),
    output: Path = typer.Option(..., "-o", "--output", help="Recording to write (.h5)."),
    speed: float = typer.Option(
        1.0, "--speed", help="sim/replay pacing: 1 real time, 0 as fast as possible."
    ),
    seed: int = typer.Option(1, "--seed", help="sim: random seed."),
    therapist_mass: float | None = typer.Option(
        None, "--therapist-mass", help="sim: the therapist's mass, kg."
    ),
    client_height: float | None = typer.Option(
        None, "--client-height-cm", help="sim: the client's height, cm."
    ),
    client_weight: float | None = typer.Option(
        None, "--client-weight-kg", help="sim: the client's weight, kg."
    ),
    timeout: float = typer.Option(5.0, "--timeout", help="lsl: seconds to find the stream."),
    tare_first: float | None = typer.Option(
        None,
        "--tare-first",
        help="Zero on the first N s of the stream (nothing on the sensor).",
    ),
    calibration: str | None = typer.Option(
        None,
        "--calibration",
        help="Calibration file (ashiguard.calibration/1, JSON or CSV): raw counts -> kPa.",
    ),
) -> None:
    """Record a live frame source to a recording, counting dropped/reordered frames."""
    import threading

    from ashiguard.services.live_session import LiveSession, hdf5_sink
    from ashiguard.services.session_process import open_live_source

    if not (duration > 0 and math.isfinite(duration)):
        fail(f"--duration: must be a positive number of seconds, got {duration}")
    client = {
        k: v
        for k, v in (("height_cm", client_height), ("weight_kg", client_weight))
        if v is not None
    }
    with refusing_bad_input(OSError):
        cal = (Path(calibration).name, read_text_arg(calibration)) if calibration else None
        src = open_live_source(
            source,
            speed=speed,
            seed=seed,
            duration_s=duration,
            therapist_mass_kg=therapist_mass,
            client=client,
            timeout_s=timeout,
            tare_first_s=tare_first,
        )
        try:
            session = LiveSession(
                src,
                sink=hdf5_sink(output),
                duration_s=duration,
                speed=speed if source.startswith(("sim", "replay")) else None,
                therapist_mass_kg=therapist_mass,
                analyze=False,
                source_label=source,
                tare_first_s=tare_first,
                calibration=cal,
            )
        except BaseException:
            src.close()
            raise
    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(session.run()), daemon=True)
    try:
        runner.start()
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            with Progress(console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task(f"recording {source}", total=duration)
                while runner.is_alive():
                    runner.join(0.1)
                    bar.update(task, completed=session.recorded_until)
        runner.join()
    except KeyboardInterrupt:  # Ctrl-C ends the recording early, keeping what was recorded
        session.request_stop()
        runner.join()
    finally:
        src.close()
    outcome = result[0]
    if outcome.error is not None:
        fail(outcome.error)
    s = src.stats
    late = f", late frames left out {outcome.skipped_late}" if outcome.skipped_late else ""
    typer.echo(
        f"recorded {outcome.frames} frames ({session.recorded_until:.2f} s) from {source} to "
        f"{output}: dropped {s.dropped}, reordered {s.reordered}{late}"
        + tare_words(session.tare_state())
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
