"""The clinic's live sessions: start, stop, acknowledge and watch, wherever they run.

:class:`LiveSessions` is what the web app (``app.state.live``) and the API talk to. It reads a
treatment session from the clinic record, hands it to a :class:`SessionLauncher` (child
processes of this web process, or workers over Redis), and lets viewers subscribe through a
:class:`Broker`. The outcome of each session (recording size, alarms, summary, error) is
stored by whoever runs it, through :func:`store_outcome`.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ashiguard.domain.errors import InputError, NotFound
from ashiguard.domain.live_messages import SessionOutcome
from ashiguard.domain.live_view import check_marker
from ashiguard.services import calibrations, treatments
from ashiguard.services.ports import Broker, SessionLauncher, Subscription
from ashiguard.services.session_process import SessionSpec, check_source, source_choices
from ashiguard.services.uow import UnitOfWork

__all__ = [
    "DEFAULT_TARE_S",
    "MAX_TARE_S",
    "LiveSessions",
    "RecordStore",
    "left_recording_outcome",
    "marker_stream_name",
]

DEFAULT_TARE_S = 2.0
"""Zeroing window of a session on a sensor when the form or request gives none, s."""

MAX_TARE_S = 30.0
"""Longest zeroing window, s."""


def marker_stream_name(room: str) -> str:
    """The LSL marker stream a room's "too much" button publishes on:
    ``ashiguard-markers-`` and the room's name in lower case, spaces as dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", room.lower()).strip("-")
    return f"ashiguard-markers-{slug}"


def _unreachable(exc: BaseException) -> bool:
    """Whether a database error means the server cannot be reached for now (connection
    refused or lost, the server starting or shutting down), not that the request is wrong."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return any(
        s in text
        for s in (
            "connection refused",
            "starting up",
            "shutting down",
            "terminating connection",
            "server closed the connection",
            "connection is closed",
            "connection failed",
            "could not connect",
            "no such file or directory",
            "database is locked",
        )
    )


def left_recording_outcome(
    path: Path | None,
    screening: dict[str, Any] | None,
    error: str,
    settle_s: float = 5.0,
    wait_complete: bool = True,
) -> SessionOutcome:
    """The outcome of a session whose runner is gone, read from the recording it left.

    The recording is analysed against the client's screening (the limits the live session
    used); ``error`` says why the session ended. A file still being written (an orphaned
    session process closing it, or a crashed writer's last flush) is given up to
    ``settle_s`` s: until it is complete or has not changed for 1 s. A file that cannot be
    analysed is kept, and the reason added to ``error``.

    Notes
    -----
    A killed writer leaves a crash-safe file (docs/recordings.md): everything older than its
    last flush (at most 0.5 s) is read; the rest of the session is lost.
    """
    from ashiguard.adapters.recording import open_recording
    from ashiguard.services.analyze import analyze_recording, limits_from_files

    if path is None or not path.is_file():
        return SessionOutcome(error=error)
    deadline = time.monotonic() + settle_s
    while True:
        try:
            with open_recording(path) as rec:
                frames, complete = int(rec.meta.frames), bool(rec.meta.complete)
            quiet = time.time() - path.stat().st_mtime >= 1.0
            if wait_complete and not complete and not quiet and time.monotonic() < deadline:
                time.sleep(0.25)  # still being written
                continue
            analysis = analyze_recording(path, limits_from_files(screening=screening))
            return SessionOutcome(
                frames=frames,
                alarms=tuple(a.to_json() for a in analysis.alerts),
                summary=analysis.summary,
                recording_bytes=path.stat().st_size,
                error=error,
            )
        except Exception as exc:
            if time.monotonic() > deadline:
                return SessionOutcome(
                    recording_bytes=path.stat().st_size if path.is_file() else 0,
                    error=f"{error}; the recording could not be analysed: {exc}",
                )
            time.sleep(0.25)


class RecordStore:
    """The treatment-session records a live session reads and writes, each in its own unit of
    work over the clinic database (``new_uow()`` opens one)."""

    def __init__(
        self,
        new_uow: Callable[[], UnitOfWork],
        recordings_dir: Path,
        scale_kpa: float = 100.0,
    ) -> None:
        self.new_uow = new_uow
        self.recordings_dir = Path(recordings_dir)
        self.scale_kpa = scale_kpa
        self.outcome_retry_s = 600.0

    def spec(
        self,
        session_id: int,
        *,
        speed: float,
        duration_s: float | None,
        tare_first_s: float | None = None,
        calibration: tuple[str, str] | None = None,
        sim_options: dict[str, Any] | None = None,
    ) -> SessionSpec:
        """What the session host needs, from the stored session (status must be live)."""
        with self.new_uow() as uow:
            ctx = treatments.session_context(uow, session_id, self.recordings_dir)
        return SessionSpec(
            session_id=session_id,
            source=ctx.source,
            therapist_mass_kg=ctx.therapist_mass_kg,
            client={k: float(v) for k, v in ctx.client.items()},
            screening=dict(ctx.screening),
            recording_path=ctx.recording_path,
            recordings_dir=self.recordings_dir,
            speed=speed,
            duration_s=duration_s,
            scale_kpa=self.scale_kpa,
            marker_stream=marker_stream_name(ctx.room) if ctx.room else None,
            tare_first_s=tare_first_s,
            calibration=(
                None if calibration is None else {"name": calibration[0], "text": calibration[1]}
            ),
            sim_options=dict(sim_options or {}),
        )

    def store_outcome(self, session_id: int, outcome: SessionOutcome) -> None:
        """Store a finished live session's outcome (status ``ended``).

        A database that cannot be reached (restarting, a lost connection) is tried again every
        second for up to ``outcome_retry_s`` s: the outcome is stored once it is back. Any
        other error is raised at once."""
        deadline = time.monotonic() + self.outcome_retry_s
        while True:
            try:
                with self.new_uow() as uow:
                    treatments.finish_session(uow, session_id, outcome, self.recordings_dir)
                return
            except Exception as exc:
                if not _unreachable(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(1.0)

    def status(self, session_id: int) -> str | None:
        """The treatment session's status (None: no such session)."""
        with self.new_uow() as uow:
            try:
                return str(treatments.get_session(uow, session_id).status)
            except NotFound:
                return None

    def end_orphans(self, is_running: Callable[[int], bool], error: str) -> list[int]:
        """Mark ``live`` sessions that nothing runs as ended with ``error``, then analyse the
        recording each one left and store its alarms and summary (the recording is kept)."""
        with self.new_uow() as uow:
            ended = treatments.end_orphaned_sessions(uow, is_running, error)
            left = {sid: treatments.left_recording(uow, sid, self.recordings_dir) for sid in ended}
        for sid, (path, screening) in left.items():
            self.store_outcome(sid, left_recording_outcome(path, screening, error))
        return ended


class LiveSessions:
    """All live sessions as one web process sees them.

    Parameters
    ----------
    store : RecordStore
        The clinic record (treatment sessions).
    broker : Broker
        Carries messages from the sessions to this process's viewers.
    launcher : SessionLauncher
        Runs the sessions (child processes or workers).
    speed : float
        Pacing of simulator and replay sources (1 = real time; tests run faster).

    Attributes
    ----------
    sim_options : dict
        Options of simulated sources (``offset_kpa``, ``unloaded_s``; the demo and tests).
    """

    def __init__(
        self,
        store: RecordStore,
        broker: Broker,
        launcher: SessionLauncher,
        speed: float = 1.0,
        reaper: Any = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.launcher = launcher
        self.speed = speed
        self.sim_options: dict[str, Any] = {}
        self._closing = threading.Event()
        self._reaper_thread: threading.Thread | None = None
        if reaper is not None:  # sessions of lost workers are ended here too (broker mode)

            def sweep() -> None:
                while not self._closing.wait(1.0):
                    with contextlib.suppress(Exception):  # the broker restarting: next turn
                        reaper.sweep()

            self._reaper_thread = threading.Thread(target=sweep, name="reaper", daemon=True)
            self._reaper_thread.start()

    # ------------------------------------------------------------------ sources
    def source_choices(self) -> list[tuple[str, str]]:
        """(value, label) of the frame sources a session can use."""
        return source_choices(self.store.recordings_dir)

    def check_source(self, spec: str) -> str:
        """Validate a source: ``sim[:SCENARIO]``, ``replay:FILE``, ``lsl:NAME``."""
        return check_source(spec, self.store.recordings_dir)

    @property
    def calibrations_dir(self) -> Path:
        """Where the clinic keeps its calibration files (``DATA_DIR/calibrations``)."""
        return calibrations.calibrations_dir(self.store.recordings_dir)

    def calibration_choices(self) -> list[tuple[str, str]]:
        """(file name, label) of the clinic's calibration files."""
        return calibrations.calibration_choices(self.calibrations_dir)

    def zeroing_options(
        self, source: str, tare_first_s: float | str | None = "", calibration: str = ""
    ) -> tuple[float | None, tuple[str, str] | None]:
        """The zeroing window and the calibration file of a session about to start, checked.

        ``tare_first_s``: seconds (0: no zeroing); ``""`` or None picks the default,
        :data:`DEFAULT_TARE_S` for a sensor (``lsl:``), none for the simulator (it has no
        offsets unless asked) or a replay (a recording keeps the zeroing it was made with).
        ``calibration``: a file name in :attr:`calibrations_dir` (``""``: none).
        """
        if tare_first_s is None or (isinstance(tare_first_s, str) and not tare_first_s.strip()):
            window = DEFAULT_TARE_S if source.startswith("lsl:") else None
        else:
            try:
                value = float(tare_first_s)
            except (TypeError, ValueError):
                raise InputError(
                    f"tare_first_s: must be a number of seconds, got {str(tare_first_s)[:20]!r}"
                ) from None
            if not (value == 0 or 0.2 <= value <= MAX_TARE_S):
                raise InputError(
                    f"tare_first_s: must be 0 (no zeroing) or between 0.2 and "
                    f"{MAX_TARE_S:g} s, got {value:g}"
                )
            window = value or None
        cal = None
        if calibration and calibration.strip():
            cal = calibrations.read_calibration(self.calibrations_dir, calibration.strip())
        return window, cal

    # ------------------------------------------------------------------ control
    def start(
        self,
        session_id: int,
        duration_s: float | None = None,
        timeout: float = 30.0,
        *,
        tare_first_s: float | None = None,
        calibration: tuple[str, str] | None = None,
    ) -> bool:
        """Start the live session of a stored ``live`` treatment session; True once it runs.
        ``tare_first_s`` and ``calibration`` as :meth:`zeroing_options` gives them."""
        if duration_s is not None and not (0 < duration_s <= 24 * 3600):
            raise InputError(f"duration_s: must be between 0 and 86400 s, got {duration_s}")
        spec = self.store.spec(
            session_id,
            speed=self.speed,
            duration_s=duration_s,
            tare_first_s=tare_first_s,
            calibration=calibration,
            sim_options=self.sim_options,
        )
        return self.launcher.launch(spec, timeout)

    def stop(self, session_id: int, timeout: float = 30.0) -> None:
        """End a live session and wait until its recording, alarms and summary are stored."""
        self.launcher.command(session_id, "stop")
        if not self.launcher.wait(session_id, timeout):
            return
        deadline = time.monotonic() + timeout
        while self.store.status(session_id) == "live" and time.monotonic() < deadline:
            time.sleep(0.05)

    def acknowledge(self, session_id: int, alarm_id: int) -> bool:
        """Acknowledge an active alarm (False: the session is not running or the alarm is not
        in its active list). Every viewer sees the change in the next ``alarm`` message."""
        if alarm_id not in self.broker.active_alarm_ids(session_id):
            return False
        return self.launcher.command(session_id, "ack", int(alarm_id))

    def acknowledge_all(self, session_id: int) -> list[int]:
        """Acknowledge every alarm of the session's active list not yet acknowledged;
        returns their ids (empty: nothing to acknowledge, or the session is not running)."""
        ids = sorted(self.broker.active_alarm_ids(session_id))
        if not ids or not self.launcher.command(session_id, "ack_all"):
            return []
        return ids

    def marker(self, session_id: int, kind: str, text: str, who: str) -> bool:
        """Mark this moment of a running session (False: it is not running)."""
        text = check_marker(kind, text)
        return self.launcher.command(session_id, "marker", kind, text, who)

    def zero(self, session_id: int, who: str, duration_s: float | None = None) -> bool:
        """Ask a running session to zero its sheet again ("zero now") on the next
        ``duration_s`` s (its own window by default); False: it is not running. The session
        refuses while the sheet is loaded: its viewers see the reason (``status.tare``)."""
        if duration_s is not None and not (0.2 <= duration_s <= MAX_TARE_S):
            raise InputError(
                f"duration_s: must be between 0.2 and {MAX_TARE_S:g} s, got {duration_s:g}"
            )
        return self.launcher.command(session_id, "tare", str(who)[:64], duration_s)

    def is_live(self, session_id: int) -> bool:
        return self.launcher.running(session_id)

    def recover(self) -> list[int]:
        """Sessions left ``live`` with nothing running them (a stopped server, a lost worker)
        are marked ended, with the reason."""
        return self.store.end_orphans(self.is_live, "server stopped during the session")

    def stop_all(self) -> None:
        """Stop the sessions this process runs itself (its child processes)."""
        self._closing.set()
        self.launcher.close()

    # ------------------------------------------------------------------ viewers
    def subscribe(self, session_id: int) -> Subscription:
        return self.broker.subscribe(session_id)

    def unsubscribe(self, session_id: int, sub: Subscription) -> None:
        self.broker.unsubscribe(session_id, sub)
