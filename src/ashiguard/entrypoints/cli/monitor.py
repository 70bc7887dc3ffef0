"""``ashiguard monitor``: the alarm engine live on a frame source, in the terminal."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import typer

from ashiguard.entrypoints.cli._common import (
    fail,
    read_json_object,
    read_text_arg,
    refusing_bad_input,
    tare_words,
)

__all__ = ["register"]

_COLOURS = {"high": "bold white on red", "medium": "black on yellow", "low": "cyan"}
_STATE = {"ok": "bold green", "alarm": "bold red", "unknown": "bold yellow"}


def monitor(
    source: str = typer.Option("sim", "--source", help="sim, sim:SCENARIO, replay:FILE, lsl:NAME"),
    screening: str | None = typer.Option(None, "--screening", help="Screening result JSON."),
    intake: str | None = typer.Option(None, "--intake", help="Intake JSON: screen it for limits."),
    config: str | None = typer.Option(None, "--config", help="Clinic limits file (TOML)."),
    duration: float | None = typer.Option(
        None, "--duration", help="Stop after S seconds of stream time."
    ),
    speed: float = typer.Option(1.0, "--speed", help="sim/replay pace (1 = real time)."),
    therapist_mass: float | None = typer.Option(
        None, "--therapist-mass", help="Therapist's mass, kg (overrides the source's)."
    ),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Also record the session to this file (.h5)."
    ),
    tare_first: float | None = typer.Option(
        None,
        "--tare-first",
        help="Zero on the first N s of the stream (nothing on the sensor); z zeroes again.",
    ),
    calibration: str | None = typer.Option(
        None,
        "--calibration",
        help="Calibration file (ashiguard.calibration/1, JSON or CSV): raw counts -> kPa.",
    ),
) -> None:
    """Watch a live source: load, zones, alarms, bell (a ack, t too much, z zero, q quit)."""
    from ashiguard.services.analyze import limits_from_files
    from ashiguard.services.live_session import LiveSession, hdf5_sink
    from ashiguard.services.session_process import open_live_source

    if intake and screening:
        fail("--intake and --screening: give one of them, not both")
    if duration is not None and not duration > 0:
        fail(f"--duration: must be positive, got {duration}")
    if tare_first is not None and not tare_first > 0:
        fail(f"--tare-first: must be a positive number of seconds, got {tare_first}")
    with refusing_bad_input(OSError):
        cfg = limits_from_files(
            config_text=read_text_arg(config) if config else None,
            screening=read_json_object(screening, "screening") if screening else None,
            intake=read_json_object(intake, "intake") if intake else None,
        )
        paced = source.startswith(("sim", "replay"))
        cal = (Path(calibration).name, read_text_arg(calibration)) if calibration else None
        src = open_live_source(
            source,
            speed=speed,
            duration_s=duration,
            therapist_mass_kg=therapist_mass,
            tare_first_s=tare_first,
        )
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        bell = _Bell()
        try:
            session = LiveSession(
                src,
                cfg,
                sink=hdf5_sink(output) if output is not None else None,
                therapist_mass_kg=therapist_mass,
                duration_s=duration,
                speed=speed if paced else None,
                depth_stress=True,
                analyze=False,
                source_label=source,
                on_notice=bell.notice if interactive else _print_event,
                tare_first_s=tare_first,
                calibration=cal,
            )
        except BaseException:
            src.close()
            raise
    try:
        if interactive:
            outcome = _interactive(session, bell)
        else:
            try:
                outcome = session.run()
            except KeyboardInterrupt:
                session.request_stop()
                raise
    finally:
        src.close()
    snap = session.monitor.snapshot()
    typer.echo(
        f"monitor: {snap['frames']} frames, state {snap['state']}, "
        f"dropped {snap['frames_dropped']}, alerts dropped {snap['alerts_dropped']}"
        + tare_words(session.tare_state()),
        err=True,
    )
    if outcome.error is not None:
        fail(outcome.error)


def _print_event(ev: Any) -> None:
    sys.stdout.write(json.dumps(ev.to_json()) + "\n")
    sys.stdout.flush()


class _Bell:
    """The terminal bell: rings on every alarm raised (high 3 times, medium twice, low once)
    and again every ``REPEAT_S`` while a high-priority alarm is active and unacknowledged."""

    REPEAT_S = 5.0
    RINGS: ClassVar[dict[str, int]] = {"high": 3, "medium": 2, "low": 1}

    def __init__(self) -> None:
        self.pending = 0
        self.last = 0.0

    def notice(self, ev: Any) -> None:
        if ev.action == "raised":
            self.pending = max(self.pending, self.RINGS.get(ev.priority or "low", 1))

    def ring(self, snap: dict[str, Any], now: float) -> int:
        """Ring what is due (on stderr); returns how many times."""
        n = self.pending
        urgent = any(
            a["priority"] == "high" and not a["acknowledged"] for a in snap["active_alarms"]
        )
        if not n and urgent and now - self.last >= self.REPEAT_S:
            n = self.RINGS["high"]
        if n:
            sys.stderr.write("\a" * n)
            sys.stderr.flush()
            self.last, self.pending = now, 0
        return n


def _interactive(session: Any, bell: _Bell) -> Any:
    import select
    import termios
    import threading
    import tty

    from rich.live import Live

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(session.run()), daemon=True)
    runner.start()
    mon = session.monitor
    try:
        tty.setcbreak(fd)
        with Live(
            _view(mon.snapshot(), session.tare_state()), refresh_per_second=10, screen=False
        ) as live:
            while runner.is_alive():
                ready, _, _ = select.select([sys.stdin], [], [], 0.1)
                if ready:
                    key = sys.stdin.read(1).lower()
                    if key == "q":
                        break
                    if key == "a":
                        session.acknowledge_all()
                    elif key == "t":
                        session.add_marker("too_much", "", "terminal")
                    elif key == "c":
                        session.add_marker("technique_change", "", "terminal")
                    elif key == "z":  # refused while the sheet is loaded: the view says why
                        session.request_tare("terminal")
                snap = mon.snapshot()
                bell.ring(snap, time.monotonic())
                live.update(_view(snap, session.tare_state()))
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
        session.request_stop()
        runner.join()
    return result[0]


def _view(snap: dict[str, Any], tare: dict[str, Any] | None = None) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    state = snap["state"]
    head = Text.assemble(
        ("state ", ""),
        (f" {state.upper()} ", _STATE.get(state, "")),
        f"   t {snap['t'] or 0:.2f} s   frames {snap['frames']}",
    )
    share = "-" if snap["share"] is None else f"{100 * snap['share']:.0f} %"
    load = "-" if snap["load_n"] is None else f"{snap['load_n']:.0f} N"
    head.append(
        f"\nload on client {load} ({share} of weight, allowed {100 * snap['allowed_share']:.0f} %)"
    )
    if tare is not None:
        zeroing = tare["state"] == "zeroing"
        style = "bold black on yellow" if zeroing or tare.get("refused") else ""
        head.append("\n")
        head.append(
            tare_words(tare, sep="sheet: ").replace("zeroing until", "ZEROING until"), style
        )
    zones = Table(title="hottest zones (2x2 peak)", expand=False)
    for col in ("zone", "kPa", "limit"):
        zones.add_column(col)
    for z in snap["hottest_zones"]:
        zones.add_row(z["zone"], f"{z['kpa']:.0f}", f"{z['limit_kpa']:.0f}")
    alarms = Table(
        title="active alarms (a: acknowledge all, t: client said too much, "
        "c: technique change, z: zero the sheet again (unloaded), q: quit)",
        expand=False,
    )
    for col in ("id", "priority", "kind", "zone", "value", "limit", "since", "status"):
        alarms.add_column(col)
    for a in snap["active_alarms"]:
        status = "latched" if a["latched"] else ("ack" if a["acknowledged"] else "active")
        alarms.add_row(
            str(a["alarm_id"]),
            Text(a["priority"], style=_COLOURS.get(a["priority"], "")),
            a["kind"],
            a["zone"] or "-",
            f"{a['peak']:.3g} {a['unit']}",
            f"{a['limit']:.3g}",
            f"{a['t_start']:.2f}",
            status,
        )
    return Group(head, zones, alarms)


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor)
