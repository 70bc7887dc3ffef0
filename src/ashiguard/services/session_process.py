"""Session processes: each live session of the clinic runs in a process of its own.

A *session process* (``spawn``) runs one :class:`~ashiguard.services.live_session.LiveSession`
and sends its messages, its readiness and its outcome over a pipe; the parent side
(:class:`SessionProcess`, a relay thread) publishes the messages to a broker and hands the
outcome to whoever stores it. Parents are ``ashiguard serve`` (the embedded default, through
:class:`LocalLauncher`) and ``ashiguard worker`` (sessions started from any web process over
Redis). Eight sessions at 100 Hz in one interpreter kept its lock 80-100 % busy and alarms
waited behind other sessions' frames (docs/webapp.md), hence a process per session.

A session process whose parent disappears (the pipe closes) ends its session cleanly: the
recording is closed and analysed; whoever notices the lost parent records the outcome.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ashiguard.domain.errors import InputError
from ashiguard.domain.live_messages import EndedMessage, LiveMessage, SessionOutcome
from ashiguard.services.ports import OutcomeHandler

__all__ = [
    "LocalLauncher",
    "SessionProcess",
    "SessionSpec",
    "check_source",
    "open_live_source",
    "session_process_main",
    "source_choices",
]

Publish = Callable[[int, LiveMessage, bool], None]


@dataclass(frozen=True)
class SessionSpec:
    """Everything a session process needs (read once from the clinic record; picklable).

    ``source`` is a checked spec (:func:`check_source`); ``client`` holds ``height_cm`` and
    ``weight_kg``; ``screening`` the stored screening (its restrictions tighten the limits);
    ``speed`` paces simulator and replay sources (1 = real time); ``duration_s`` ends the
    session by itself after that much stream time; ``scale_kpa`` tops the viewers' colour
    scale; ``marker_stream`` names an LSL marker stream whose samples become markers (the
    client's button); ``alarm_outlet`` publishes every alarm on the LSL stream
    ``ashiguard-alarms``.
    """

    session_id: int
    source: str
    therapist_mass_kg: float | None
    client: dict[str, float]
    screening: dict[str, Any] | None
    recording_path: Path
    recordings_dir: Path
    speed: float = 1.0
    duration_s: float | None = None
    sim_options: dict[str, Any] = field(default_factory=dict)
    scale_kpa: float = 100.0
    marker_stream: str | None = None
    alarm_outlet: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "source": self.source,
            "therapist_mass_kg": self.therapist_mass_kg,
            "client": self.client,
            "screening": self.screening,
            "recording_path": str(self.recording_path),
            "recordings_dir": str(self.recordings_dir),
            "speed": self.speed,
            "duration_s": self.duration_s,
            "sim_options": self.sim_options,
            "scale_kpa": self.scale_kpa,
            "marker_stream": self.marker_stream,
            "alarm_outlet": self.alarm_outlet,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SessionSpec:
        return cls(
            session_id=int(d["session_id"]),
            source=str(d["source"]),
            therapist_mass_kg=d.get("therapist_mass_kg"),
            client=dict(d.get("client") or {}),
            screening=d.get("screening"),
            recording_path=Path(d["recording_path"]),
            recordings_dir=Path(d["recordings_dir"]),
            speed=float(d.get("speed", 1.0)),
            duration_s=d.get("duration_s"),
            sim_options=dict(d.get("sim_options") or {}),
            scale_kpa=float(d.get("scale_kpa", 100.0)),
            marker_stream=d.get("marker_stream"),
            alarm_outlet=bool(d.get("alarm_outlet", True)),
        )


def _scenarios() -> dict[str, str]:
    from ashiguard.domain.simulation import SCENARIOS

    return dict(SCENARIOS)


def source_choices(recordings_dir: Path) -> list[tuple[str, str]]:
    """(value, label) of the frame sources a clinic session can use."""
    scenarios = _scenarios()
    order = ["mixed", "baseline"] + [k for k in scenarios if k not in ("mixed", "baseline")]
    out = [(f"sim:{k}", f"Simulator: {scenarios[k]}") for k in order]
    if recordings_dir.is_dir():
        for p in sorted(recordings_dir.glob("*.h5"))[-20:]:
            out.append((f"replay:{p.name}", f"Replay {p.name}"))
    return out


def check_source(spec: str, recordings_dir: Path) -> str:
    """Validate a clinic source: ``sim[:SCENARIO]``, ``replay:FILE`` (a recording in the data
    directory, by name), ``lsl:NAME``; returns it stripped (one-line error otherwise)."""
    spec = spec.strip()
    if spec == "sim" or (spec.startswith("sim:") and spec[4:] in _scenarios()):
        return spec
    if spec.startswith("replay:"):
        name = spec[7:]
        path = recordings_dir / name
        if not name or "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
            raise InputError(f"source: no recording {name!r} in the data directory")
        return spec
    if spec.startswith("lsl:") and 0 < len(spec[4:]) <= 100:
        return spec
    raise InputError(
        f"source: must be sim, sim:SCENARIO, replay:FILE or lsl:NAME, got {spec[:40]!r}"
    )


def open_live_source(
    spec: str,
    *,
    speed: float = 1.0,
    seed: int = 1,
    duration_s: float | None = None,
    therapist_mass_kg: float | None = None,
    client: dict[str, float] | None = None,
    recordings_dir: Path | None = None,
    timeout_s: float | None = None,
    sim_options: dict[str, Any] | None = None,
) -> Any:
    """Open the frame source of a live session, the same way for the CLI and the clinic.

    A simulated session is simulated one second longer than ``duration_s`` (so that a
    recording is never cut short) or for an hour when it has no set length; ``replay:NAME``
    names a recording in ``recordings_dir`` when one is given, else a path.
    """
    from ashiguard.adapters.sources import open_source

    kind, _, arg = spec.partition(":")
    if kind == "sim":
        c = client or {}
        opts: dict[str, Any] = {
            "speed": speed,
            "seed": seed,
            "duration_s": (duration_s + 1.0) if duration_s else 3600.0,
        }
        if therapist_mass_kg:
            opts["therapist_mass_kg"] = float(therapist_mass_kg)
        if c.get("height_cm"):
            opts["client_height_cm"] = float(c["height_cm"])
        if c.get("weight_kg"):
            opts["client_weight_kg"] = float(c["weight_kg"])
        opts.update(sim_options or {})
        return open_source(spec if arg else "sim:mixed", **opts)
    if kind == "replay":
        path = recordings_dir / arg if recordings_dir is not None else Path(arg)
        return open_source(f"replay:{path}", speed=speed)
    if kind == "lsl" and timeout_s is not None:
        return open_source(spec, timeout_s=timeout_s)
    return open_source(spec)


def _alarm_outlet(spec: SessionSpec) -> Any:
    """The session's ``ashiguard-alarms`` LSL outlet (None when liblsl cannot be loaded:
    the session runs all the same, and says so on stderr)."""
    try:
        from ashiguard.adapters.sources.lsl_markers import AlarmOutlet

        return AlarmOutlet(spec.session_id)
    except RuntimeError as exc:
        import sys

        print(f"ashiguard: session {spec.session_id}: no LSL alarm outlet: {exc}", file=sys.stderr)
        return None


class _PipePublisher:
    """A session process's publisher: each message goes to the parent over the pipe."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        self._send = send

    def publish(self, msg: LiveMessage, view: bool = False) -> None:
        self._send(("msg", msg, view))


def session_process_main(spec: SessionSpec, conn: Any) -> None:
    """Entry point of a session process: run the live session; obey ``stop`` and ``ack``."""
    import signal

    from ashiguard.services.analyze import limits_from_files
    from ashiguard.services.live_session import LiveSession, hdf5_sink, plan_targets

    # Ctrl-C in the terminal reaches the whole process group: the parent stops its sessions
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lock = threading.Lock()

    def send(msg: Any) -> None:
        with lock, contextlib.suppress(OSError, ValueError):  # the parent is gone
            conn.send(msg)

    try:
        config = limits_from_files(screening=spec.screening)
        source = open_live_source(
            spec.source,
            speed=spec.speed,
            seed=spec.session_id,
            duration_s=spec.duration_s,
            therapist_mass_kg=spec.therapist_mass_kg,
            client=spec.client,
            recordings_dir=spec.recordings_dir,
            sim_options=spec.sim_options,
        )
    except Exception as exc:  # the session cannot start: say why, never hide it
        error = f"{type(exc).__name__}: {exc}"
        send(("msg", EndedMessage(error=error, frames=0), False))
        send(("outcome", SessionOutcome(error=error)))
        send(("ready",))
        send(("done",))
        return
    outlet = _alarm_outlet(spec) if spec.alarm_outlet else None
    ready_sent = threading.Event()

    def ready() -> None:
        if not ready_sent.is_set():
            ready_sent.set()
            send(("ready",))

    session = LiveSession(
        source,
        config,
        sink=hdf5_sink(spec.recording_path),
        publisher=_PipePublisher(send),
        session_id=spec.session_id,
        therapist_mass_kg=spec.therapist_mass_kg,
        duration_s=spec.duration_s,
        speed=spec.speed,
        source_label=spec.source,
        on_ready=ready,
        on_notice=outlet.push if outlet is not None else None,
        targets=plan_targets(spec.screening, spec.therapist_mass_kg),
        scale_kpa=spec.scale_kpa,
    )
    inlet = None
    if spec.marker_stream:
        from ashiguard.adapters.sources.lsl_markers import MarkerInlet

        def from_lsl(kind: str, text: str) -> None:
            with contextlib.suppress(InputError):  # a button's bad sample: ignored
                session.add_marker(kind, text, "lsl")

        inlet = MarkerInlet(spec.marker_stream, from_lsl)

    def commands() -> None:
        while True:
            try:
                cmd = conn.recv()
            except (EOFError, OSError):
                session.request_stop()  # the parent went away: end and keep the recording
                return
            if cmd[0] == "stop":
                session.request_stop()
            elif cmd[0] == "ack":
                session.acknowledge(int(cmd[1]))
            elif cmd[0] == "ack_all":
                session.acknowledge_all()
            elif cmd[0] == "marker":
                with contextlib.suppress(InputError):  # checked by the web app already
                    session.add_marker(str(cmd[1]), str(cmd[2]), str(cmd[3]))

    threading.Thread(target=commands, name="commands", daemon=True).start()
    try:
        outcome = session.run()
    finally:
        source.close()
        if inlet is not None:
            inlet.close()
    send(("outcome", outcome))
    send(("done",))


class SessionProcess(threading.Thread):
    """The parent's side of one session process: relays its messages, hands on its outcome."""

    def __init__(self, spec: SessionSpec, publish: Publish, on_outcome: OutcomeHandler) -> None:
        super().__init__(name=f"live-session-{spec.session_id}", daemon=True)
        import multiprocessing

        self.spec = spec
        self.session_id = spec.session_id
        self._publish = publish
        self._on_outcome = on_outcome
        self.ready = threading.Event()
        self.finished = threading.Event()
        self._outcome_stored = False
        self._send_lock = threading.Lock()
        mp = multiprocessing.get_context("spawn")
        self._conn, self._child_conn = mp.Pipe()
        self._proc = mp.Process(
            target=session_process_main,
            args=(spec, self._child_conn),
            name=f"ashiguard-session-{spec.session_id}",
            daemon=True,
        )

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def start(self) -> None:
        self._proc.start()
        self._child_conn.close()  # the child holds its end: EOF here when it exits
        super().start()

    def command(self, *cmd: Any) -> bool:
        with self._send_lock:
            try:
                self._conn.send(cmd)
            except (OSError, ValueError):
                return False
        return True

    def running(self) -> bool:
        return self.is_alive() and not self.finished.is_set()

    def run(self) -> None:
        try:
            while True:
                try:
                    msg = self._conn.recv()
                except (EOFError, OSError):
                    break
                kind = msg[0]
                if kind == "msg":
                    self._publish(self.session_id, msg[1], msg[2])
                elif kind == "ready":
                    self.ready.set()
                elif kind == "outcome":
                    self._store(msg[1])
                elif kind == "done":
                    break
        finally:
            self._proc.join(30.0)
            if not self._outcome_stored:  # the process died: say so, never hide it
                error = f"session process ended unexpectedly (exit code {self._proc.exitcode})"
                self._store(SessionOutcome(error=error))
                self._publish(self.session_id, EndedMessage(error=error), False)
            self.ready.set()
            self._conn.close()
            self.finished.set()

    def _store(self, outcome: SessionOutcome) -> None:
        self._outcome_stored = True
        try:
            self._on_outcome(self.session_id, outcome)
        except Exception as exc:  # never lose the relay thread over a database hiccup
            import sys

            print(
                f"ashiguard: error: storing session {self.session_id}: {exc}",
                file=sys.stderr,
            )


class LocalLauncher:
    """Runs each live session in a child process of this one (the embedded default)."""

    def __init__(self, publish: Publish, on_outcome: OutcomeHandler) -> None:
        self._publish = publish
        self._on_outcome = on_outcome
        self._lock = threading.Lock()
        self._procs: dict[int, SessionProcess] = {}

    def launch(self, spec: SessionSpec, timeout: float = 30.0) -> bool:
        proc = SessionProcess(spec, self._publish, self._on_outcome)
        with self._lock:
            old = self._procs.get(spec.session_id)
            if old is not None and old.running():
                raise InputError(f"session {spec.session_id}: already running")
            self._procs[spec.session_id] = proc
        proc.start()
        return proc.ready.wait(timeout)

    def process(self, session_id: int) -> SessionProcess | None:
        with self._lock:
            return self._procs.get(session_id)

    def command(self, session_id: int, *cmd: Any) -> bool:
        proc = self.process(session_id)
        return proc is not None and proc.running() and proc.command(*cmd)

    def running(self, session_id: int) -> bool:
        proc = self.process(session_id)
        return proc is not None and proc.running()

    def running_ids(self) -> list[int]:
        with self._lock:
            return [sid for sid, p in self._procs.items() if p.running()]

    def wait(self, session_id: int, timeout: float) -> bool:
        proc = self.process(session_id)
        if proc is None:
            return True
        done = proc.finished.wait(timeout)
        if done:
            with self._lock:
                if self._procs.get(session_id) is proc:
                    del self._procs[session_id]
        return done

    def close(self, timeout: float = 30.0) -> None:
        ids = self.running_ids()
        for sid in ids:
            self.command(sid, "stop")
        for sid in ids:
            self.wait(sid, timeout)
