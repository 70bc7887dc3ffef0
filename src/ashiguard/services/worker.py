"""``ashiguard worker``: runs the live sessions that any web process starts, over a broker.

A worker takes start requests from the work queue, runs the sessions on its session hosts
(:class:`~ashiguard.services.session_host.SessionHosts`: one process per core, each running
many sessions on one tick), relays their messages to the broker a tick's worth at a time,
forwards stop and acknowledge commands, and stores each outcome in the clinic database. It
states its heartbeat every second; a session whose worker's heartbeat has lapsed is ended by
:class:`Reaper` (in every worker and every web process on the broker) within
``HEARTBEAT_TTL_S`` + 2 s: status ``ended`` with ``error`` set, the recording kept and
analysed, every viewer told.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

from ashiguard.domain.live_messages import EndedMessage, SessionOutcome
from ashiguard.services.live_sessions import RecordStore
from ashiguard.services.ports import Broker
from ashiguard.services.session_host import SessionHosts, outcome_from_recording
from ashiguard.services.session_process import SessionSpec

__all__ = ["Reaper", "WorkQueue", "Worker", "worker_id"]


class WorkQueue(Protocol):
    """What a worker needs of the broker besides publishing (see ``RedisWorkQueue``)."""

    def claim(self, worker_id: str, timeout_s: float) -> dict[str, Any] | None: ...
    def take(self, session_id: int, worker_id: str) -> None: ...
    def set_ready(self, session_id: int, state: str = "ok") -> None: ...
    def heartbeat(self, worker_id: str, session_ids: list[int]) -> None: ...
    def read_commands(
        self, last_ids: dict[int, str], timeout_s: float
    ) -> list[tuple[int, tuple[Any, ...]]]: ...
    def newest_command_id(self, session_id: int) -> str: ...
    def finished(self, session_id: int) -> None: ...
    def live_ids(self) -> list[int]: ...
    def owner(self, session_id: int) -> str | None: ...
    def worker_alive(self, worker_id: str) -> bool: ...
    def claim_orphan(self, session_id: int, worker_id: str) -> bool: ...
    def spec(self, session_id: int) -> dict[str, Any] | None: ...


def worker_id() -> str:
    """A worker id unique across machines: host, process and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _log(msg: str) -> None:
    print(f"ashiguard worker: {msg}", file=sys.stderr, flush=True)


class Reaper:
    """Ends the sessions whose worker stopped answering (heartbeat lapsed).

    The recording the lost worker's session host wrote is kept: it is analysed (the
    session host closes it cleanly when its parent dies; if it died too, the crash-safe
    file is read up to its last flush) and the outcome stored with ``error`` set.
    """

    def __init__(self, queue: WorkQueue, broker: Broker, store: RecordStore, me: str) -> None:
        self.queue = queue
        self.broker = broker
        self.store = store
        self.me = me
        self._first_seen_unowned: dict[int, float] = {}

    def orphans(self) -> list[tuple[int, str | None]]:
        out = []
        now = time.monotonic()
        for sid in self.queue.live_ids():
            owner = self.queue.owner(sid)
            if owner is not None and self.queue.worker_alive(owner):
                self._first_seen_unowned.pop(sid, None)
                continue
            if owner is None:  # between a claim and the first heartbeat, or after a restart
                first = self._first_seen_unowned.setdefault(sid, now)
                if now - first < 5.0:
                    continue
            out.append((sid, owner))
        return out

    def sweep(self) -> list[int]:
        """End every orphaned session this process wins the right to end."""
        ended = []
        for sid, owner in self.orphans():
            if not self.queue.claim_orphan(sid, self.me):
                continue
            who = owner or "unknown"
            error = f"worker {who} stopped answering; the session was ended by {self.me}"
            _log(f"session {sid}: {error}")
            outcome = self._analyse(sid, error)
            try:
                self.store.store_outcome(sid, outcome)
            finally:
                self.broker.publish(sid, EndedMessage(error=error, frames=outcome.frames))
                self.queue.finished(sid)
            ended.append(sid)
        return ended

    def _analyse(self, sid: int, error: str) -> SessionOutcome:
        d = self.queue.spec(sid)
        if d is None:
            return SessionOutcome(error=error)
        return outcome_from_recording(SessionSpec.from_json(d), error)


class Worker:
    """Runs live sessions from a work queue until :meth:`stop`.

    Parameters
    ----------
    queue : WorkQueue
        Start requests, commands, heartbeats.
    broker : Broker
        Where the sessions' messages go.
    store : RecordStore
        The clinic database (outcomes are stored by the worker that ran the session).
    recordings_dir : Path
        Where this worker writes recordings (a data directory every web process can read).
    ident : str or None
        This worker's id (default: host-pid-random).
    """

    def __init__(
        self,
        queue: WorkQueue,
        broker: Broker,
        store: RecordStore,
        recordings_dir: Path,
        ident: str | None = None,
        hosts: int | None = None,
    ) -> None:
        self.queue = queue
        self.broker = broker
        self.store = store
        self.recordings_dir = Path(recordings_dir)
        self.id = ident or worker_id()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.hosts = SessionHosts(broker, self._store, hosts)
        self._cmd_ids: dict[int, str] = {}
        self.reaper = Reaper(queue, broker, store, self.id)

    def running_ids(self) -> list[int]:
        return self.hosts.running_ids()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Serve until :meth:`stop`; then stop the sessions and wait for their outcomes."""
        threads = [
            threading.Thread(target=self._heartbeats, name="heartbeat", daemon=True),
            threading.Thread(target=self._commands, name="commands", daemon=True),
            threading.Thread(target=self._reap, name="reaper", daemon=True),
        ]
        self.queue.heartbeat(self.id, [])
        import gc

        gc.freeze()  # as ``serve``: no full collection of the imports stalls the alarm relay
        for t in threads:
            t.start()
        _log(f"{self.id} ready")
        try:
            while not self._stop.is_set():
                try:
                    d = self.queue.claim(self.id, 1.0)
                except Exception as exc:  # the broker restarting: try again
                    _log(f"waiting for the broker: {exc}")
                    self._stop.wait(1.0)
                    continue
                if d is not None:
                    self._launch(SessionSpec.from_json(d))
        finally:
            self.hosts.close(60.0)
            self._stop.set()

    def _launch(self, spec: SessionSpec) -> None:
        sid = spec.session_id
        if self.store.status(sid) != "live":
            _log(f"session {sid}: not live in the clinic record; not started")
            self.queue.set_ready(sid, "not live")
            return
        spec = SessionSpec.from_json({**spec.to_json(), "recordings_dir": str(self.recordings_dir)})
        self.queue.take(sid, self.id)
        with self._lock:
            self._cmd_ids[sid] = self.queue.newest_command_id(sid)
        _log(f"session {sid}: started ({spec.source})")

        def start() -> None:
            try:
                self.hosts.launch(spec, 60.0)
            finally:
                self.queue.set_ready(sid)

        threading.Thread(target=start, name=f"start-{sid}", daemon=True).start()

    def _store(self, sid: int, outcome: SessionOutcome) -> None:
        try:
            self.store.store_outcome(sid, outcome)
        finally:
            self.queue.finished(sid)
            with self._lock:
                self._cmd_ids.pop(sid, None)
            _log(f"session {sid}: ended ({outcome.frames} frames, error {outcome.error})")

    def _heartbeats(self) -> None:
        while not self._stop.is_set():
            try:
                self.queue.heartbeat(self.id, self.running_ids())
            except Exception as exc:
                _log(f"heartbeat failed: {exc}")
            self._stop.wait(1.0)

    def _commands(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                last = dict(self._cmd_ids)
            try:
                got = self.queue.read_commands(last, 0.5)
            except Exception:
                self._stop.wait(0.5)
                continue
            with self._lock:
                for sid, ident in last.items():
                    if sid in self._cmd_ids:
                        self._cmd_ids[sid] = ident
            for sid, cmd in got:
                self.hosts.command(sid, *cmd)

    def _reap(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.reaper.sweep()
            except Exception as exc:
                _log(f"reaper: {exc}")
