"""Session hosts: a few processes that each run many live sessions on one shared tick.

A *session host* is a ``spawn``\\ ed process that runs every live session given to it on one
thread, the *tick*: every ``TICK_S`` (10 ms) it takes each session's due frames, runs the
alarm engine on them (alarms go out at once), then hands them to the recording and publishes
the views, and sends everything the tick produced to its parent in one pipe message, already
turned into JSON (:func:`~ashiguard.domain.live_messages.encode`, once). Its parent
(``ashiguard serve`` through :class:`LocalLauncher`, or ``ashiguard worker``) keeps one relay
thread per host (:class:`HostProcess`) that hands those messages to the broker in one batch.

:class:`SessionHosts` starts at most ``hosts`` of them (one per core by default) and gives a
new session to the one running the fewest. One process per session (until 2026-12-05) cost a
source thread, a pipe hand-off per message and a cold engine on every frame; on one tick the
engines of the sessions run back to back (0.21 against 0.36 ms per frame), simulated and
replayed frames are taken on the tick with no thread, queue or pacer (their due times fall on
the tick), and the parent wakes once per tick and host instead of once per message.

Notes
-----
- A paced source (simulator, replay) is opened unpaced and paced by the tick: frame 0 is due
  when the tick that takes it was scheduled, every later one ``t / speed`` after it (on the
  tick grid: each frame is taken by the tick scheduled for it). A frame more than a queue's
  worth (512 frames) late is dropped and counted in ``overflowed``, as a sensor's queue would.
  A sensor (LSL) keeps its own reading thread; the tick drains its queue (at most 10 ms late).
- A session that fails (its source, its engine step, its recording) is ended alone: its
  recording is closed and analysed, its outcome and ``ended`` message carry the error, the
  other sessions of the host go on. A host process that dies (killed, out of memory, a crash
  in native code) takes its sessions with it: its parent stores each of them as ended with
  ``error`` "session host ended unexpectedly (exit code N)", analyses the recording each left
  (crash-safe, flushed every 0.25 s) and tells their viewers. Nothing is ended silently.
- A host whose parent disappears (the pipe closes) ends its sessions cleanly.
- Ending a session (closing the recording, the offline analysis) runs on a thread of its own,
  never on the tick.
- A busy tick (its work taking 60 % of its period or more, over a second) slows the views of
  its sessions to ``VIEW_HZ_BUSY`` (10 a second) until it is down to 35 % (:class:`ViewGovernor`):
  the heatmap gives way, the alarms, the recording and the stream never do.
- A host process turns the automatic garbage collector off: the tick runs the young
  collections between its steps, a session's end the rest of what was not frozen, and the
  end of the last running session one full collection (with the frozen objects, which holds
  every thread 60-100 ms: never while another session runs). Left automatic, a
  collection ran on whichever thread allocated, e.g. a recording thread at niceness 10, which
  the operating system could keep off a busy processor while it held the interpreter lock.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ashiguard.adapters.sources.base import Frame, FrameSource
from ashiguard.domain.errors import InputError
from ashiguard.domain.live_messages import (
    Encoded,
    EndedMessage,
    LiveMessage,
    SessionOutcome,
    encode,
)
from ashiguard.services.ports import OutcomeHandler
from ashiguard.services.session_process import SessionSpec, open_live_source

__all__ = [
    "RECORDING_NICE",
    "SWITCH_INTERVAL_S",
    "TICK_S",
    "VIEW_HZ_BUSY",
    "BatchPublisher",
    "HostProcess",
    "HostedSession",
    "LocalLauncher",
    "SessionHost",
    "SessionHosts",
    "ViewGovernor",
    "outcome_from_recording",
    "session_host_main",
]

TICK_S = 0.01
"""The shared tick of a session host, s (100 Hz: one frame per tick of a 100 Hz sensor)."""

SWITCH_INTERVAL_S = 0.001
"""The interpreter's thread switch interval in a host (the default 5 ms would let a session's
start-up or end-of-session analysis hold the tick back that long)."""

RECORDING_NICE = 10
"""Niceness of the threads that write and compress a hosted session's recording. The tick
(alarms first) keeps the process's priority; the recording is written with the CPU left, its
frames waiting in their buffer meanwhile (on a machine busy beyond its cores, a crash could then
lose more than the usual at most 1 s of frames; no frame is dropped while the host runs)."""

VIEW_HZ_BUSY = 10.0
"""View frames per second of a host's sessions while its tick is busy (:class:`ViewGovernor`);
:data:`~ashiguard.services.live_session.VIEW_HZ` otherwise."""

_YOUNG_ALLOCATIONS = 700  # the interpreter's own threshold for a young collection
_EARLY_S = 0.0005  # a frame due this little after the tick is taken on it (float rounding)
_QUEUE_FRAMES = 512  # as FrameSource.start's queue: frames a late consumer may owe a sensor

Items = list[tuple[int, Encoded, bool]]
"""Messages of a tick: (session id, (type, JSON text), view frame)."""


class BatchPublisher(Protocol):
    """Where a host's parent puts the messages of a tick (a broker)."""

    def publish_batch(self, items: Items) -> None: ...

    def publish(self, session_id: int, msg: LiveMessage, view: bool = False) -> None: ...


# ====================================================================== inside a host
class _Outbox:
    """A host's messages to its parent: encoded once, sent once per tick; an alarm at once."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        self._send = send
        self._lock = threading.Lock()
        self._items: Items = []

    def put(self, session_id: int, msg: LiveMessage, view: bool) -> None:
        enc = encode(msg)
        with self._lock:
            self._items.append((session_id, enc, view))
        if enc[0] == "alarm":  # never held back for the rest of the tick
            self.flush()

    def flush(self) -> None:
        with self._lock:
            items, self._items = self._items, []
            if items:
                self._send(("msgs", items))


class _Publisher:
    """One hosted session's publisher (into the host's outbox)."""

    def __init__(self, outbox: _Outbox, session_id: int) -> None:
        self._outbox = outbox
        self._sid = session_id

    def publish(self, msg: LiveMessage, view: bool = False) -> None:
        self._outbox.put(self._sid, msg, view)


class HostedSession:
    """One live session on a host's tick: where its frames come from and when they are due.

    Parameters
    ----------
    session : LiveSession
        The use case (its source opened unpaced when ``paced`` is True).
    speed : float
        Pacing (1 = real time); 0 takes every frame at once (tests, replays as fast as they go).
    paced : bool
        True: the tick takes the source's frames synchronously when due (simulator, replay).
        False: the source reads on its own thread (a sensor); the tick drains its queue.
    on_end : callable or None
        Called (on the host's end thread) once the session has ended, with its outcome.
    """

    def __init__(
        self,
        session: Any,
        *,
        speed: float = 1.0,
        paced: bool = True,
        on_end: Callable[[SessionOutcome], None] | None = None,
        closers: tuple[Callable[[], None], ...] = (),
    ) -> None:
        self.session = session
        self.source: FrameSource = session.source
        self.speed = float(speed)
        self.paced = paced
        self.on_end = on_end
        self.closers = closers
        self.session_id: int = session.session_id
        self.view_hz = float(getattr(session, "view_hz", 0.0))  # its own (the host may slow it)
        self._it: Iterator[Frame] | None = None
        self._pending: Frame | None = None
        self._base: float | None = None  # monotonic time stream time ``_t_first`` is due
        self._t_first = 0.0
        self._per_s = 0.0  # 1 / speed
        self._backlog_s = 0.0
        self._gap = session.monitor.engine.config.max_frame_gap_s
        self._last_frame = time.monotonic()
        self._last_check = self._last_frame
        self._failed: Exception | None = None
        self.exhausted = False
        self.error: str | None = None

    def open(self) -> None:
        """Start the session (init, recording) and its source (off the tick)."""
        self.session.begin()
        if self.paced:
            self._it = iter(self.source.frames())
            self._pending = next(self._it, None)
            self.exhausted = self._pending is None
            if self.speed > 0:
                self._per_s = 1.0 / self.speed
                self._backlog_s = _QUEUE_FRAMES / (self.source.info.rate_hz * self.speed)
        else:
            self.source.start(overflow="drop_oldest")

    def _next(self) -> Frame | None:
        """The source's next frame; what stops it is kept for after the frames before it."""
        it = self._it
        if it is None:
            return None
        try:
            return next(it, None)
        except Exception as exc:
            self._failed = exc
            return None

    def _due(self, now: float, max_batch: int, tick_t: float | None = None) -> list[Frame]:
        """The paced source's frames due by ``now`` (each stamped with its due time).

        The first frame is due at ``tick_t``, the time the tick that takes it was scheduled
        for (``now`` when not given), and every later one on the same grid: each is then
        taken by the tick scheduled for its due time, however late that tick begins. Set to
        the moment the tick happened to begin instead, every frame fell a fraction of a tick
        after its own tick's schedule and waited for the next one (5 ms on average)."""
        if self._failed is not None:
            raise self._failed  # the frames before it were processed on earlier ticks
        pending = self._pending
        if pending is None:
            return []
        out: list[Frame] = []
        if self.speed == 0:  # unpaced: a backlog's worth per tick
            while pending is not None and len(out) < max_batch:
                out.append(Frame(pending.counter, pending.t, pending.pressure, pending.bars, now))
                pending = self._next()
        else:
            if self._base is None:
                self._base = now if tick_t is None else min(tick_t, now)
                self._t_first = pending.t
            base, t1, per_s = self._base, self._t_first, self._per_s
            late = now - self._backlog_s
            stats = self.source.stats
            while pending is not None:
                due = base + (pending.t - t1) * per_s
                if due > now + _EARLY_S or len(out) >= max_batch:
                    break
                if due < late:  # a sensor's queue would have dropped it
                    stats.overflowed += 1
                else:
                    out.append(
                        Frame(pending.counter, pending.t, pending.pressure, pending.bars, due)
                    )
                pending = self._next()
        self._pending = pending
        if pending is None and self._failed is None:
            self.exhausted = True
        return out

    def _queued(self, max_batch: int) -> list[Frame]:
        """A sensor's frames waiting in its queue (the end of its stream: ``exhausted``)."""
        import queue

        out: list[Frame] = []
        while len(out) < max_batch:
            try:
                fr = self.source.get(timeout=0)
            except queue.Empty:
                break
            if fr is None:
                self.exhausted = True
                break
            out.append(fr)
        return out

    def take(self, now: float, tick_t: float | None = None) -> list[Frame]:
        """The frames this tick processes; checks for silence when there are none.
        ``tick_t``: when the tick was scheduled (``now`` is when it began)."""
        mon = self.session.monitor
        frames = (
            self._due(now, mon.max_batch, tick_t) if self.paced else self._queued(mon.max_batch)
        )
        if frames:
            self._last_frame = now
        elif now - max(self._last_frame, self._last_check) >= self._gap / 2:
            self._last_check = now
            mon.check_silence()
        return frames

    def close_source(self) -> None:
        if self.paced:
            it, self._it = self._it, None
            if it is not None and hasattr(it, "close"):
                it.close()
        else:
            self.source.stop()
        with contextlib.suppress(Exception):
            self.source.close()
        for close in self.closers:
            with contextlib.suppress(Exception):
                close()


class ViewGovernor:
    """Slows the views of a host's sessions while its tick is busy, so that alarms stay on time.

    The alarms of a tick wait for the engines of the sessions before theirs, and a tick that
    overruns its period delays the next one's frames; the views (a heatmap frame, its contacts
    and zones, 20 times a second per session) are the work that can give way. Every ``window``
    ticks the governor takes the mean share of the tick period the tick's work took, in wall
    time (a tick kept off the processor by other processes counts as busy): at ``high`` or more
    the views go to at most ``busy_hz``, at ``low`` or less back to each session's own rate
    (between the two nothing changes, so that the rate does not flap). Alarms, recordings and
    the stream are never thinned.
    """

    def __init__(
        self,
        *,
        busy_hz: float = VIEW_HZ_BUSY,
        high: float = 0.6,
        low: float = 0.35,
        window: int = 100,
    ) -> None:
        self.busy_hz = float(busy_hz)
        self.high, self.low, self.window = float(high), float(low), int(window)
        self.busy = False
        self.busy_windows = 0  # windows judged busy so far
        self.load = 0.0  # the last window's mean share of the tick period
        self._sum = 0.0
        self._n = 0

    def update(self, step_s: float, tick_s: float) -> bool | None:
        """Count one tick whose work took ``step_s`` of ``tick_s``; at the end of a window that
        changes the state, returns the new state (True: busy), else None."""
        self._sum += step_s / tick_s
        self._n += 1
        if self._n < self.window:
            return None
        self.load = self._sum / self._n
        self._sum, self._n = 0.0, 0
        if self.load >= self.high:
            self.busy_windows += 1
            busy = True
        elif self.load <= self.low:
            busy = False
        else:
            return None
        if busy == self.busy:
            return None
        self.busy = busy
        return busy

    def view_hz(self, own_hz: float) -> float:
        """The view rate of a session whose own rate is ``own_hz``, now."""
        return min(own_hz, self.busy_hz) if self.busy else own_hz


class SessionHost:
    """The sessions of one host and the tick that runs them (see the module notes).

    ``add`` a :class:`HostedSession` whose session has begun; the tick runs it until its
    source ends, its duration is reached, it is stopped or it fails; then it is ended on a
    thread of its own (``on_end`` gets its outcome). ``close`` stops every session; ``join``
    waits until all have ended.
    """

    def __init__(
        self,
        flush: Callable[[], None] = lambda: None,
        tick_s: float = TICK_S,
        views: ViewGovernor | None = None,
        collect: bool = False,
    ) -> None:
        self.tick_s = float(tick_s)
        self.views = views if views is not None else ViewGovernor()
        self.collect = collect  # run the process's young collections on the tick (see _run)
        self.collections = 0
        self._flush = flush
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._sessions: list[HostedSession] = []
        self._new: list[HostedSession] = []
        self._ending: list[threading.Thread] = []
        self._closing = False
        self.ticks = 0
        self.late_ticks = 0  # ticks that began after the next one was due (a busy machine)
        self._thread = threading.Thread(target=self._run, name="session-host-tick", daemon=True)
        self._thread.start()

    def add(self, hosted: HostedSession) -> None:
        with self._wake:
            if self._closing:
                hosted.session.request_stop()
            self._new.append(hosted)
            self._wake.notify()

    def count(self) -> int:
        with self._lock:
            return len(self._sessions) + len(self._new)

    def close(self) -> None:
        """Stop every session (each is ended cleanly: recording closed and analysed)."""
        with self._wake:
            self._closing = True
            for h in self._sessions + self._new:
                h.session.request_stop()
            self._wake.notify()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
        with self._lock:
            ending = list(self._ending)
        for t in ending:
            t.join(timeout)

    def _end(self, hosted: HostedSession, error: str | None) -> None:
        def finish() -> None:
            hosted.close_source()
            outcome = hosted.session.finish(error)
            if hosted.on_end is not None:
                hosted.on_end(outcome)

        t = threading.Thread(target=finish, name=f"end-session-{hosted.session_id}", daemon=True)
        with self._lock:
            self._ending = [x for x in self._ending if x.is_alive()]
            self._ending.append(t)
        t.start()

    def _run(self) -> None:
        tick = self.tick_s
        next_t = time.monotonic()
        while True:
            with self._wake:
                while not self._sessions and not self._new and not self._closing:
                    self._wake.wait()
                    next_t = time.monotonic()
                self._set_views(self._new)
                self._sessions += self._new
                self._new = []
                sessions = list(self._sessions)
                if self._closing and not sessions:
                    return
            began = time.monotonic()
            self._step(sessions, began, next_t)
            self._flush()
            if self.views.update(time.monotonic() - began, tick) is not None:
                self._set_views(sessions)
            if self.collect:
                self._young_collection()
            self.ticks += 1
            next_t += tick
            now = time.monotonic()
            if next_t > now:
                time.sleep(next_t - now)
            else:  # late: the frames due meanwhile are taken at once, and the grid kept
                self.late_ticks += 1
                next_t += int((now - next_t) / tick) * tick

    def _young_collection(self) -> None:
        """The collector's young generations, on the tick after its step (the host turned
        the automatic collector off): as often as the interpreter would (700 allocations, the
        middle generation every 10th time). Left automatic, a collection ran on whichever
        thread allocated: on a recording thread (niceness 10) kept off a busy processor it
        held the interpreter lock, and so every session's tick, for up to 65 ms. The old
        generation is collected when a session ends (:func:`_ended_collection`)."""
        if gc.get_count()[0] < _YOUNG_ALLOCATIONS:
            return
        self.collections += 1
        gc.collect(1 if self.collections % 10 == 0 else 0)

    def _set_views(self, sessions: list[HostedSession]) -> None:
        for h in sessions:
            if h.view_hz > 0:
                h.session.view_hz = self.views.view_hz(h.view_hz)

    def _step(self, sessions: list[HostedSession], now: float, tick_t: float) -> None:
        done: list[tuple[HostedSession, str | None]] = []
        fed: list[tuple[HostedSession, list[Frame], bool]] = []
        # first every engine (alarms go out as they are raised), then recordings and views
        for h in sessions:
            s = h.session
            if s.stopping:
                done.append((h, None))
                continue
            try:
                frames = h.take(now, tick_t)
                batch, ended = s.process(frames) if frames else (frames, False)
            except Exception as exc:  # this session alone ends, with the reason
                done.append((h, f"{type(exc).__name__}: {exc}"))
                continue
            fed.append((h, batch, ended or h.exhausted))
        for h, batch, ended in fed:
            try:
                h.session.record_and_view(batch)
            except Exception as exc:
                done.append((h, f"{type(exc).__name__}: {exc}"))
                continue
            if ended:
                done.append((h, None))
        if done:
            with self._lock:
                gone = {id(h) for h, _ in done}
                self._sessions = [h for h in self._sessions if id(h) not in gone]
            for h, error in done:
                self._end(h, error)


def _alarm_outlet(spec: SessionSpec) -> Any:
    """The session's ``ashiguard-alarms`` LSL outlet (None when liblsl cannot be loaded:
    the session runs all the same, and says so on stderr)."""
    try:
        from ashiguard.adapters.sources.lsl_markers import AlarmOutlet

        return AlarmOutlet(spec.session_id)
    except RuntimeError as exc:
        print(f"ashiguard: session {spec.session_id}: no LSL alarm outlet: {exc}", file=sys.stderr)
        return None


class _MarkerInlets:
    """One LSL marker inlet per stream name in a host, shared by the sessions that listen to
    it (each inlet looks for its stream every 2 s: one per session made every outlet on the
    machine answer every session's queries). Every sample goes to every session listening."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inlets: dict[str, tuple[Any, list[Callable[[str, str], None]]]] = {}

    def listen(self, name: str, on_marker: Callable[[str, str], None]) -> Callable[[], None]:
        """Hand the stream's samples to ``on_marker``; returns the function that stops it."""
        with self._lock:
            entry = self._inlets.get(name)
            if entry is None:
                from ashiguard.adapters.sources.lsl_markers import MarkerInlet

                listeners: list[Callable[[str, str], None]] = []

                def fan(kind: str, text: str) -> None:
                    with self._lock:
                        targets = list(listeners)
                    for target in targets:
                        target(kind, text)

                entry = self._inlets[name] = (MarkerInlet(name, fan), listeners)
            entry[1].append(on_marker)

        def stop() -> None:
            with self._lock:
                inlet, listeners = self._inlets.get(name, (None, []))
                if on_marker in listeners:
                    listeners.remove(on_marker)
                if inlet is None or listeners:
                    return
                del self._inlets[name]
            inlet.close()

        return stop


_MARKER_INLETS = _MarkerInlets()
"""The marker inlets of this process (a session host)."""


_LIVE: set[int] = set()
"""The sessions of this process built and not yet ended (``_hosted``, ``_ended_collection``)."""
_LIVE_LOCK = threading.Lock()


def _ended_collection(session_id: int) -> None:
    """The collection after a session's end. What the session froze at its start may now be
    garbage in reference cycles (a few dozen objects): the collector sees it in a full
    collection (unfreeze, collect, freeze: 60-100 ms with 16 sessions, every thread of the
    process held that long), run only once the process runs no other session, so that no
    session's alarms wait for it. Until then the unfrozen generations are collected (what was
    made since the last start: milliseconds)."""
    with _LIVE_LOCK:
        _LIVE.discard(session_id)
        idle = not _LIVE
    if idle:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
    else:
        gc.collect()


def _hosted(spec: SessionSpec, outbox: _Outbox, send: Callable[[Any], None]) -> HostedSession:
    """Build a clinic session for a host (the source opened unpaced when the tick paces it)."""
    from ashiguard.services.analyze import limits_from_files
    from ashiguard.services.live_session import LiveSession, hdf5_sink, plan_targets

    sid = spec.session_id
    paced = spec.source.split(":", 1)[0] in ("sim", "replay")
    config = limits_from_files(screening=spec.screening)
    source = open_live_source(
        spec.source,
        speed=0.0 if paced else spec.speed,
        seed=spec.session_id,
        duration_s=spec.duration_s,
        therapist_mass_kg=spec.therapist_mass_kg,
        client=spec.client,
        recordings_dir=spec.recordings_dir,
        sim_options=spec.sim_options,
        tare_first_s=spec.tare_first_s,
    )
    outlet = _alarm_outlet(spec) if spec.alarm_outlet else None
    session = LiveSession(
        source,
        config,
        sink=hdf5_sink(spec.recording_path, background_nice=RECORDING_NICE),
        publisher=_Publisher(outbox, sid),
        session_id=sid,
        therapist_mass_kg=spec.therapist_mass_kg,
        duration_s=spec.duration_s,
        speed=spec.speed,
        source_label=spec.source,
        on_notice=outlet.push if outlet is not None else None,
        targets=plan_targets(spec.screening, spec.therapist_mass_kg),
        scale_kpa=spec.scale_kpa,
        tare_first_s=spec.tare_first_s,
        calibration=(
            (spec.calibration["name"], spec.calibration["text"]) if spec.calibration else None
        ),
        tare_refused="alarm",  # the clinic's page can zero again ("Zero now")
        tare_label="zeroing",
    )
    closers: list[Callable[[], None]] = []
    if outlet is not None and hasattr(outlet, "close"):
        closers.append(outlet.close)
    if spec.marker_stream:

        def from_lsl(kind: str, text: str) -> None:
            with contextlib.suppress(InputError):  # a button's bad sample: ignored
                session.add_marker(kind, text, "lsl")

        closers.append(_MARKER_INLETS.listen(spec.marker_stream, from_lsl))

    def ended(outcome: SessionOutcome) -> None:
        outbox.flush()  # its ``ended`` message first
        send(("outcome", sid, outcome))
        _ended_collection(sid)

    with _LIVE_LOCK:
        _LIVE.add(sid)
    return HostedSession(
        session, speed=spec.speed, paced=paced, on_end=ended, closers=tuple(closers)
    )


def session_host_main(conn: Any) -> None:
    """Entry point of a session host process: ``("start", spec)`` starts a session,
    ``("cmd", session_id, ...)`` passes ``stop``, ``ack``, ``ack_all``, ``marker``, ``tare``
    (zero now: who, window s) to it,
    ``("close",)`` (or the parent going away) ends them all."""
    import signal

    # Ctrl-C in the terminal reaches the whole process group: the parent stops its sessions
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    # collections run on the tick, between its steps (SessionHost._young_collection), and in
    # full when a session ends: never on a thread that happened to allocate
    gc.disable()
    lock = threading.Lock()

    def send(msg: Any) -> None:
        with lock, contextlib.suppress(OSError, ValueError):  # the parent is gone
            conn.send(msg)

    outbox = _Outbox(send)
    host = SessionHost(outbox.flush, collect=True)
    sessions: dict[int, HostedSession] = {}
    stops: set[int] = set()  # stop commands that came before their session was built
    starting: list[threading.Thread] = []

    def start(spec: SessionSpec) -> None:
        sid = spec.session_id
        try:
            hosted = _hosted(spec, outbox, send)
        except Exception as exc:  # the session cannot start: say why, never hide it
            error = f"{type(exc).__name__}: {exc}"
            outbox.put(sid, EndedMessage(error=error, frames=0), False)
            outbox.flush()
            send(("ready", sid))
            send(("outcome", sid, SessionOutcome(error=error)))
            return
        sessions[sid] = hosted
        # what a session keeps for its whole life (its engine, plan, layout) leaves the
        # collector's generations: full collections then scan only what the tick makes and
        # drops, instead of pausing the tick for every session's setup again (a full
        # collection of the imports alone took 21 ms); unfrozen when a session ends
        gc.freeze()
        if sid in stops:
            hosted.session.request_stop()
        try:
            hosted.open()
        except Exception as exc:
            hosted.error = f"{type(exc).__name__}: {exc}"
        send(("ready", sid))
        if hosted.error is not None:
            hosted.close_source()
            outcome = hosted.session.finish(hosted.error)
            outbox.flush()
            send(("outcome", sid, outcome))
            _ended_collection(sid)
            return
        host.add(hosted)

    while True:
        try:
            cmd = conn.recv()
        except (EOFError, OSError):
            break  # the parent went away: end every session and keep the recordings
        if cmd[0] == "close":
            break
        if cmd[0] == "start":
            spec = SessionSpec.from_json(cmd[1])
            t = threading.Thread(target=start, args=(spec,), name=f"start-{spec.session_id}")
            starting = [x for x in starting if x.is_alive()] + [t]
            t.start()
            continue
        hosted = sessions.get(int(cmd[1]))
        if hosted is None:
            if cmd[2] == "stop":
                stops.add(int(cmd[1]))
            continue
        s, what = hosted.session, cmd[2]
        if what == "stop":
            s.request_stop()
        elif what == "ack":
            s.acknowledge(int(cmd[3]))
        elif what == "ack_all":
            s.acknowledge_all()
        elif what == "marker":
            with contextlib.suppress(InputError):  # checked by the web app already
                s.add_marker(str(cmd[3]), str(cmd[4]), str(cmd[5]))
        elif what == "tare":  # the refusal, if any, reaches the viewers in ``status``
            with contextlib.suppress(InputError):
                s.request_tare(str(cmd[3]), float(cmd[4]) if cmd[4] else None)
    for t in starting:
        t.join()
    host.close()
    host.join()
    outbox.flush()
    send(("closed",))


# ====================================================================== the parent's side
def outcome_from_recording(spec: SessionSpec, error: str, wait_s: float = 5.0) -> SessionOutcome:
    """The outcome of a session whose runner was lost: its recording as it stands, analysed,
    with ``error`` (the file may still be closing: retried for ``wait_s``)."""
    from ashiguard.adapters.recording import open_recording
    from ashiguard.services.analyze import analyze_recording, limits_from_files

    path = Path(spec.recording_path)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if not path.is_file():
                return SessionOutcome(error=error)
            analysis = analyze_recording(path, limits_from_files(screening=spec.screening))
            with open_recording(path) as rec:
                frames = int(rec.meta.frames)
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


@dataclass
class _Slot:
    """A session on a host, as its parent sees it."""

    spec: SessionSpec
    ready: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    outcome_seen: bool = False


class HostProcess(threading.Thread):
    """The parent's side of one session host: relays its messages to the broker in batches,
    stores each outcome (on a thread of its own) and reports the sessions of a host that died."""

    def __init__(self, index: int, broker: BatchPublisher, on_outcome: OutcomeHandler) -> None:
        super().__init__(name=f"session-host-{index}", daemon=True)
        import multiprocessing

        self.index = index
        self._broker = broker
        self._on_outcome = on_outcome
        self._lock = threading.Lock()
        self._slots: dict[int, _Slot] = {}
        self._send_lock = threading.Lock()
        self.dead = threading.Event()
        mp = multiprocessing.get_context("spawn")
        self._conn, child = mp.Pipe()
        self._proc = mp.Process(
            target=session_host_main, args=(child,), name=f"ashiguard-host-{index}", daemon=True
        )
        self._proc.start()
        child.close()  # the child holds its end: EOF here when it exits
        self.start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def count(self) -> int:
        with self._lock:
            return sum(not s.finished.is_set() for s in self._slots.values())

    def slot(self, session_id: int) -> _Slot | None:
        with self._lock:
            return self._slots.get(session_id)

    def launch(self, spec: SessionSpec) -> _Slot:
        slot = _Slot(spec)
        with self._lock:
            self._slots[spec.session_id] = slot
        if not self._send(("start", spec.to_json())):
            self._lost(slot, "session host is not running")
        return slot

    def command(self, session_id: int, *cmd: Any) -> bool:
        return self._send(("cmd", session_id, *cmd))

    def _send(self, msg: Any) -> bool:
        if self.dead.is_set():
            return False
        with self._send_lock:
            try:
                self._conn.send(msg)
            except (OSError, ValueError):
                return False
        return True

    def close(self) -> None:
        """Ask the host to end its sessions and exit (their outcomes still come back)."""
        self._send(("close",))

    def run(self) -> None:
        try:
            while True:
                try:
                    msg = self._conn.recv()
                except (EOFError, OSError):
                    break
                kind = msg[0]
                if kind == "msgs":
                    try:
                        self._broker.publish_batch(msg[1])
                    except Exception as exc:  # never lose the relay over one bad batch
                        print(f"ashiguard: error: relaying live messages: {exc}", file=sys.stderr)
                elif kind == "ready":
                    slot = self.slot(msg[1])
                    if slot is not None:
                        slot.ready.set()
                elif kind == "outcome":
                    slot = self.slot(msg[1])
                    if slot is not None:
                        slot.outcome_seen = True
                        self._store(slot, msg[2])
                elif kind == "closed":
                    break
        finally:
            self._proc.join(30.0)
            self.dead.set()
            code = self._proc.exitcode
            with self._lock:
                lost = [s for s in self._slots.values() if not s.outcome_seen]
            for slot in lost:  # the host died: say so for each of its sessions, never hide it
                slot.outcome_seen = True
                self._lost(slot, f"session host ended unexpectedly (exit code {code})")
            self._conn.close()

    def _lost(self, slot: _Slot, error: str) -> None:
        def report() -> None:
            sid = slot.spec.session_id
            with contextlib.suppress(Exception):
                self._broker.publish(sid, EndedMessage(error=error))
            self._store_now(slot, outcome_from_recording(slot.spec, error))

        slot.ready.set()
        threading.Thread(target=report, name="session-lost", daemon=True).start()

    def _store(self, slot: _Slot, outcome: SessionOutcome) -> None:
        threading.Thread(
            target=self._store_now, args=(slot, outcome), name="store-outcome", daemon=True
        ).start()

    def _store_now(self, slot: _Slot, outcome: SessionOutcome) -> None:
        sid = slot.spec.session_id
        try:
            self._on_outcome(sid, outcome)
        except Exception as exc:  # never lose the relay thread over a database hiccup
            print(f"ashiguard: error: storing session {sid}: {exc}", file=sys.stderr)
        finally:
            slot.ready.set()
            slot.finished.set()


def _default_hosts() -> int:
    return max(1, int(os.environ.get("ASHIGUARD_SESSION_HOSTS", "0")) or (os.cpu_count() or 1))


class SessionHosts:
    """Live sessions on at most ``hosts`` session host processes (one per core by default,
    ``ASHIGUARD_SESSION_HOSTS`` to change it), each new one on the host running the fewest.

    Parameters
    ----------
    broker : BatchPublisher
        Where the sessions' messages go (``publish_batch``; ``publish`` for a lost session).
    on_outcome : callable
        Stores a finished session's outcome (called on a thread of its own).
    hosts : int or None
        Most host processes.
    """

    def __init__(
        self, broker: BatchPublisher, on_outcome: OutcomeHandler, hosts: int | None = None
    ) -> None:
        self._broker = broker
        self._on_outcome = on_outcome
        self.hosts = max(1, int(hosts or _default_hosts()))
        self._lock = threading.Lock()
        self._procs: list[HostProcess] = []
        self._where: dict[int, HostProcess] = {}
        self._made = 0

    def _pick(self) -> HostProcess:
        self._procs = [p for p in self._procs if not p.dead.is_set()]
        if len(self._procs) < self.hosts:
            self._made += 1
            proc = HostProcess(self._made, self._broker, self._on_outcome)
            self._procs.append(proc)
            return proc
        return min(self._procs, key=lambda p: p.count())

    def launch(self, spec: SessionSpec, timeout: float = 30.0) -> bool:
        with self._lock:
            old = self._where.get(spec.session_id)
            if old is not None and self._running(old, spec.session_id):
                raise InputError(f"session {spec.session_id}: already running")
            proc = self._pick()
            self._where[spec.session_id] = proc
            slot = proc.launch(spec)
        return slot.ready.wait(timeout)

    def slot(self, session_id: int) -> _Slot | None:
        with self._lock:
            proc = self._where.get(session_id)
        return None if proc is None else proc.slot(session_id)

    @staticmethod
    def _running(proc: HostProcess, session_id: int) -> bool:
        slot = proc.slot(session_id)
        return slot is not None and not slot.finished.is_set() and not proc.dead.is_set()

    def command(self, session_id: int, *cmd: Any) -> bool:
        with self._lock:
            proc = self._where.get(session_id)
        if proc is None or not self._running(proc, session_id):
            return False
        return proc.command(session_id, *cmd)

    def running(self, session_id: int) -> bool:
        with self._lock:
            proc = self._where.get(session_id)
        return proc is not None and self._running(proc, session_id)

    def running_ids(self) -> list[int]:
        with self._lock:
            where = dict(self._where)
        return [sid for sid, p in where.items() if self._running(p, sid)]

    def wait(self, session_id: int, timeout: float) -> bool:
        slot = self.slot(session_id)
        if slot is None:
            return True
        done = slot.finished.wait(timeout)
        if done:
            with self._lock:
                proc = self._where.get(session_id)
                if proc is not None and proc.slot(session_id) is slot:
                    del self._where[session_id]
        return done

    def host_pids(self) -> list[int]:
        """The process ids of the running hosts."""
        with self._lock:
            return [p.pid for p in self._procs if p.pid is not None and not p.dead.is_set()]

    def close(self, timeout: float = 60.0) -> None:
        """End every session (recordings closed and analysed, outcomes stored) and the hosts."""
        ids = self.running_ids()
        with self._lock:
            procs = list(self._procs)
        for p in procs:
            p.close()
        for sid in ids:
            self.wait(sid, timeout)
        for p in procs:
            p.join(timeout)


class LocalLauncher(SessionHosts):
    """Runs the live sessions of this process on session hosts it starts (the embedded
    default; ``ashiguard worker`` uses :class:`SessionHosts` the same way)."""
