"""The clinic's live sessions: start, stop, acknowledge and watch, wherever they run.

:class:`LiveSessions` is what the web app (``app.state.live``) and the API talk to. It reads a
treatment session from the clinic record, hands it to a :class:`SessionLauncher` (child
processes of this web process, or workers over Redis), and lets viewers subscribe through a
:class:`Broker`. The outcome of each session (recording size, alarms, summary, error) is
stored by whoever runs it, through :func:`store_outcome`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ashiguard.domain.errors import InputError
from ashiguard.domain.live_messages import SessionOutcome
from ashiguard.services.ports import Broker, SessionLauncher, Subscription
from ashiguard.services.session_process import SessionSpec, check_source, source_choices

__all__ = ["LiveSessions", "RecordStore"]


class RecordStore:
    """The treatment-session records a live session reads and writes (over the clinic DB)."""

    def __init__(self, db: Any, recordings_dir: Path) -> None:
        self.db = db
        self.recordings_dir = Path(recordings_dir)

    def spec(self, session_id: int, *, speed: float, duration_s: float | None) -> SessionSpec:
        """What the session process needs, from the stored session (status must be live)."""
        from ashiguard.adapters.db.models import Intake, Practitioner, Screening, TreatmentSession

        with self.db.session() as s:
            t = s.get(TreatmentSession, session_id)
            if t is None or t.status != "live":
                raise InputError(f"session {session_id}: no live session to run")
            pr = s.get(Practitioner, t.practitioner_id)
            sc = s.get(Screening, t.screening_id)
            if pr is None or sc is None:
                raise InputError(f"session {session_id}: its practitioner or screening is gone")
            intake = s.get(Intake, sc.intake_id)
            person = dict((intake.payload if intake else {}).get("client") or {})
            name = f"session-{session_id:06d}.h5"
            t.recording_path = f"recordings/{name}"
            return SessionSpec(
                session_id=session_id,
                source=t.source,
                therapist_mass_kg=pr.mass_kg,
                client={k: float(person[k]) for k in ("height_cm", "weight_kg") if person.get(k)},
                screening=dict(sc.payload),
                recording_path=self.recordings_dir / name,
                recordings_dir=self.recordings_dir,
                speed=speed,
                duration_s=duration_s,
            )

    def store_outcome(self, session_id: int, outcome: SessionOutcome) -> None:
        """Store a finished live session's outcome (status ``ended``; a signed session keeps
        its status)."""
        from ashiguard.adapters.db import repo
        from ashiguard.adapters.db.models import TreatmentSession

        with self.db.session() as s:
            t = s.get(TreatmentSession, session_id)
            if t is None:
                return
            if t.status == "live":
                t.status = "ended"
                t.ended_at = repo.utcnow()
            t.alerts = list(outcome.alarms)
            t.summary = outcome.summary
            path = self.recordings_dir / Path(t.recording_path or "-").name
            size = outcome.recording_bytes or (path.stat().st_size if path.is_file() else 0)
            t.recording_meta = {
                "frames": outcome.frames,
                "bytes": size,
                "skipped_late": outcome.skipped_late,
                "dropped": outcome.dropped,
                "overflowed": outcome.overflowed,
                "error": outcome.error,
            }
            if not size:
                t.recording_path = None  # nothing was recorded (the source never started)

    def status(self, session_id: int) -> str | None:
        from ashiguard.adapters.db.models import TreatmentSession

        with self.db.session() as s:
            t = s.get(TreatmentSession, session_id)
            return None if t is None else str(t.status)

    def live_ids(self) -> list[int]:
        from sqlalchemy import select

        from ashiguard.adapters.db.models import TreatmentSession

        with self.db.session() as s:
            q = select(TreatmentSession.id).where(TreatmentSession.status == "live")
            return [int(i) for i in s.scalars(q)]

    def end_orphans(self, is_running: Callable[[int], bool], error: str) -> list[int]:
        """Mark ``live`` sessions that nothing runs as ended with ``error``."""
        from ashiguard.adapters.db import repo
        from ashiguard.adapters.db.models import TreatmentSession

        ended = []
        for sid in self.live_ids():
            if is_running(sid):
                continue
            with self.db.session() as s:
                t = s.get(TreatmentSession, sid)
                if t is None or t.status != "live":
                    continue
                t.status = "ended"
                t.ended_at = t.ended_at or repo.utcnow()
                t.recording_meta = {**(t.recording_meta or {}), "error": error}
            ended.append(sid)
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

    # ------------------------------------------------------------------ control
    def start(
        self, session_id: int, duration_s: float | None = None, timeout: float = 30.0
    ) -> bool:
        """Start the live session of a stored ``live`` treatment session; True once it runs."""
        if duration_s is not None and not (0 < duration_s <= 24 * 3600):
            raise InputError(f"duration_s: must be between 0 and 86400 s, got {duration_s}")
        spec = self.store.spec(session_id, speed=self.speed, duration_s=duration_s)
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
