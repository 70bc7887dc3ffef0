"""Live sessions: a process per session feeds frames to the monitor; the app fans out to browsers.

Each live session runs in its own process (:class:`_SessionProcess`, ``spawn``): a
:class:`_Worker` there reads frames from the session's frame source, hands them to the monitor
service, records them and sends its messages over a pipe; a thread of the app publishes them to
every subscribed WebSocket and stores the outcome. Eight sessions at 100 Hz would otherwise
share one interpreter lock with the web server: in one process they kept that lock 80-100 %
busy, and alarms waited behind frames of other sessions (docs/webapp.md). Browser views
are thinned to at most ``VIEW_HZ`` frames per second (a client more than ``VIEW_BUFFER``
frames behind skips the oldest); alarm messages are queued and never thinned.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ashiguard.adapters.db import Database
from ashiguard.domain.errors import InputError
from ashiguard.settings import Settings

__all__ = [
    "VIEW_BUFFER",
    "VIEW_HZ",
    "Encoded",
    "LiveHub",
    "SessionContext",
    "Subscriber",
    "encode",
]

VIEW_HZ = 20.0
VIEW_BUFFER = 5  # view frames a client may lag behind (0.25 s) before it skips the oldest


def _scenarios() -> tuple[str, ...]:
    from ashiguard.domain.simulation import SCENARIOS

    return tuple(SCENARIOS)


Encoded = tuple[str, str]
"""A message as (type, JSON text)."""


def encode(msg: dict[str, Any]) -> Encoded:
    return str(msg["type"]), json.dumps(msg, separators=(",", ":"))


@dataclass
class Subscriber:
    """One WebSocket client: up to ``VIEW_BUFFER`` view frames and every pending alarm message."""

    loop: asyncio.AbstractEventLoop
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    events: deque[Encoded] = field(default_factory=deque)
    views: deque[Encoded] = field(default_factory=deque)
    replaced: int = 0

    def _push(self, msg: Encoded, is_view: bool) -> None:
        if is_view:
            if len(self.views) >= VIEW_BUFFER:  # a client this far behind skips its oldest
                self.views.popleft()
                self.replaced += 1
            self.views.append(msg)
        else:
            self.events.append(msg)
        self.wake.set()

    def offer(self, msg: Encoded, is_view: bool) -> None:
        """Thread-safe: queue ``msg`` for this client."""
        with contextlib.suppress(RuntimeError):  # a closed loop: the client is gone
            self.loop.call_soon_threadsafe(self._push, msg, is_view)

    async def next_batch(self) -> list[Encoded]:
        """Pending alarm messages first, then the pending view frames (oldest first)."""
        await self.wake.wait()
        self.wake.clear()
        out = list(self.events) + list(self.views)
        self.events.clear()
        self.views.clear()
        return out


class _Channel:
    """Subscribers of one session plus the messages a newcomer needs (init, active alarms)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subs: list[Subscriber] = []
        self.init: dict[str, Any] | None = None
        self.status: dict[str, Any] | None = None
        self.last_view_t = -1e9
        self.view_seq = 0

    def publish(self, msg: dict[str, Any], is_view: bool = False) -> None:
        with self.lock:
            subs = list(self.subs)
        if not subs:
            return
        encoded = encode(msg)  # once, on the worker thread, not on the event loop
        for sub in subs:
            sub.offer(encoded, is_view)

    def publish_view(self, msg: dict[str, Any], t: float) -> bool:
        """Publish a frame unless one went out less than 1/VIEW_HZ s ago (frame time)."""
        if t - self.last_view_t < 1.0 / VIEW_HZ - 1e-9:
            return False
        self.last_view_t = t
        self.view_seq += 1
        msg["seq"] = self.view_seq  # a gap at the client = a view the web layer dropped
        self.publish(msg, is_view=True)
        return True


class LiveHub:
    """All live sessions of one app."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._lock = threading.Lock()
        self._channels: dict[int, _Channel] = {}
        self._workers: dict[int, Any] = {}
        self.speed = 1.0  # pacing of simulator and replay sources (1 = real time)

    def channel(self, session_id: int) -> _Channel:
        with self._lock:
            return self._channels.setdefault(session_id, _Channel())

    def subscribe(self, session_id: int) -> Subscriber:
        sub = Subscriber(asyncio.get_running_loop())
        ch = self.channel(session_id)
        with ch.lock:
            ch.subs.append(sub)
            for msg in (ch.init, ch.status):
                if msg is not None:
                    sub._push(encode(msg), is_view=False)
        return sub

    def unsubscribe(self, session_id: int, sub: Subscriber) -> None:
        ch = self.channel(session_id)
        with ch.lock:
            if sub in ch.subs:
                ch.subs.remove(sub)

    def source_choices(self) -> list[tuple[str, str]]:
        """(value, label) of the frame sources a session can use."""
        from ashiguard.domain.simulation import SCENARIOS

        order = ["mixed", "baseline"] + [k for k in SCENARIOS if k not in ("mixed", "baseline")]
        out = [(f"sim:{k}", f"Simulator: {SCENARIOS[k]}") for k in order]
        rec = self.settings.recordings_dir
        if rec.is_dir():
            for p in sorted(rec.glob("*.h5"))[-20:]:
                out.append((f"replay:{p.name}", f"Replay {p.name}"))
        return out

    def check_source(self, spec: str) -> str:
        """Validate a form source: ``sim[:SCENARIO]``, ``replay:FILE``, ``lsl:NAME``."""
        spec = spec.strip()
        if spec == "sim" or (spec.startswith("sim:") and spec[4:] in _scenarios()):
            return spec
        if spec.startswith("replay:"):
            name = spec[7:]
            path = self.settings.recordings_dir / name
            if (
                not name
                or "/" in name
                or "\\" in name
                or name.startswith(".")
                or not path.is_file()
            ):
                raise InputError(f"source: no recording {name!r} in the data directory")
            return spec
        if spec.startswith("lsl:") and 0 < len(spec[4:]) <= 100:
            return spec
        raise InputError(
            f"source: must be sim, sim:SCENARIO, replay:FILE or lsl:NAME, got {spec[:40]!r}"
        )

    def start(self, session_id: int, **sim_opts: Any) -> None:
        """Start the worker of a stored ``live`` session (source, monitor, recording)."""
        ctx = self._context(session_id)
        ch = self.channel(session_id)
        worker = _SessionProcess(self, ctx, ch, sim_opts)
        with self._lock:
            if session_id in self._workers:
                raise InputError(f"session {session_id}: already running")
            self._workers[session_id] = worker
        worker.start()
        worker._ready.wait(30.0)

    def _context(self, session_id: int) -> SessionContext:
        from ashiguard.adapters.db.models import Intake, Practitioner, Screening, TreatmentSession

        with self.db.session() as s:
            t = s.get(TreatmentSession, session_id)
            if t is None or t.status != "live":
                raise InputError(f"session {session_id}: no live session to run")
            pr = s.get(Practitioner, t.practitioner_id)
            sc = s.get(Screening, t.screening_id)
            assert pr is not None and sc is not None
            intake = s.get(Intake, sc.intake_id)
            person = dict((intake.payload if intake else {}).get("client") or {})
            name = f"session-{session_id:06d}.h5"
            t.recording_path = f"recordings/{name}"
            return SessionContext(
                session_id=session_id,
                source=t.source,
                therapist_mass_kg=pr.mass_kg,
                client={k: person[k] for k in ("height_cm", "weight_kg") if person.get(k)},
                screening=dict(sc.payload),
                recording_path=self.settings.recordings_dir / name,
            )

    def _finish(self, ctx: SessionContext, result: dict[str, Any]) -> None:
        """Store the outcome of a finished live session (status ``ended``)."""
        from ashiguard.adapters.db import repo
        from ashiguard.adapters.db.models import TreatmentSession

        with self.db.session() as s:
            t = s.get(TreatmentSession, ctx.session_id)
            if t is None:
                return
            t.status = "ended"
            t.ended_at = repo.utcnow()
            t.alerts = result.get("alerts", [])
            t.summary = result.get("summary")
            path = ctx.recording_path
            t.recording_meta = {
                "frames": result.get("frames", 0),
                "bytes": path.stat().st_size if path.exists() else 0,
                "skipped_late": result.get("skipped_late", 0),
                "error": result.get("error"),
            }
            if not path.exists():
                t.recording_path = None
        with self._lock:
            self._workers.pop(ctx.session_id, None)

    def acknowledge(self, session_id: int, alarm_id: int) -> bool:
        """Acknowledge an alarm of a running session (False: not running or not active)."""
        with self._lock:
            w = self._workers.get(session_id)
        if w is None:
            return False
        return w.acknowledge(alarm_id)

    def recover(self) -> int:
        """Sessions left ``live`` by a stopped server have no worker: mark them ``ended``."""
        from sqlalchemy import select

        from ashiguard.adapters.db import repo
        from ashiguard.adapters.db.models import TreatmentSession

        with self.db.session() as s:
            rows = s.scalars(
                select(TreatmentSession).where(TreatmentSession.status == "live")
            ).all()
            for t in rows:
                if not self.is_live(t.id):
                    t.status = "ended"
                    t.ended_at = t.ended_at or repo.utcnow()
                    t.recording_meta = {
                        **(t.recording_meta or {}),
                        "error": "server stopped during the session",
                    }
            return len(rows)

    def is_live(self, session_id: int) -> bool:
        with self._lock:
            w = self._workers.get(session_id)
        return w is not None and w.is_alive()

    def stop_all(self) -> None:
        with self._lock:
            ids = list(self._workers)
        for sid in ids:
            self.stop(sid)

    def stop(self, session_id: int, timeout: float = 30.0) -> None:
        """End a live session and wait until its recording, alerts and summary are stored."""
        with self._lock:
            w = self._workers.pop(session_id, None)
        if w is not None:
            w.request_stop()
            deadline = time.monotonic() + timeout
            w.join(max(0.0, deadline - time.monotonic()))


def _quantize(pressure: Any) -> tuple[str, float, float]:
    """A frame as base64 uint8 (255 = no reading), its kPa per step and its peak, kPa."""
    import base64

    import numpy as np

    p = np.asarray(pressure, dtype=np.float32)
    finite = np.isfinite(p)
    peak = float(p[finite].max()) if finite.any() else 0.0
    scale = max(peak / 254.0, 0.5)
    q = np.full(p.shape, 255, dtype=np.uint8)
    q[finite] = np.clip(np.rint(np.maximum(p[finite], 0.0) / scale), 0, 254).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii"), scale, peak


@dataclass
class SessionContext:
    """What a live session needs from the database (read once, at the start)."""

    session_id: int
    source: str
    therapist_mass_kg: float
    client: dict[str, Any]
    screening: dict[str, Any]
    recording_path: Any


class _Worker:
    """One live session, run in its session process (:func:`_session_main`): source -> monitor
    -> recording + messages for the browsers -> the outcome for the app to store."""

    def __init__(
        self,
        hub: _ProcessHub,
        ctx: SessionContext,
        channel: _Channel,
        sim_opts: dict[str, Any],
        ready: _ReadySignal,
    ) -> None:
        self.name = f"live-session-{ctx.session_id}"
        self.hub = hub
        self.ctx = ctx
        self.channel = channel
        self.sim_opts = sim_opts
        self.monitor: Any = None
        self.error: str | None = None
        self._stop_requested = threading.Event()
        self._ready = ready
        self._writer: Any = None
        self._batches: queue.Queue[Any] = queue.Queue()
        self._write_thread: threading.Thread | None = None
        self._write_error: str | None = None
        self._buf_t: list[float] = []
        self._buf_p: list[Any] = []
        self._buf_b: list[Any] = []
        self._buf_c: list[int] = []
        self._last_t = -float("inf")
        self.skipped_late = 0
        self._wall0: float | None = None
        self._started_wall = 0.0

    def request_stop(self) -> None:
        self._stop_requested.set()
        if self.monitor is not None:
            self.monitor.stop(timeout=0)

    def _open_source(self) -> Any:
        from ashiguard.adapters.sources import open_source

        spec = self.ctx.source
        if spec.startswith("sim"):
            c = self.ctx.client
            opts = {
                "speed": self.hub.speed,
                "therapist_mass_kg": self.ctx.therapist_mass_kg,
                "client_height_cm": float(c.get("height_cm") or 172.0),
                "client_weight_kg": float(c.get("weight_kg") or 74.0),
                "duration_s": 3600.0,
                "seed": self.ctx.session_id,
                **self.sim_opts,
            }
            return open_source(spec if ":" in spec else "sim:mixed", **opts)
        if spec.startswith("replay:"):
            path = self.hub.settings.recordings_dir / spec[7:]
            return open_source(f"replay:{path}", speed=self.hub.speed)
        return open_source(spec)

    def _init_message(self, info: Any, config: Any) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "init",
            "session_id": self.ctx.session_id,
            "rows": info.rows,
            "cols": info.cols,
            "pitch_mm": info.pitch_mm,
            "origin_mm": list(info.origin_mm) if info.origin_mm else None,
            "placement": info.placement,
            "rate_hz": info.rate_hz,
            "view_hz": VIEW_HZ,
            "therapist_weight_n": round(self.monitor.engine.weight_n, 2),
            "allowed_share": config.max_load_fraction,
            "avoid_zones": sorted(config.avoid_zones),
            "source": self.ctx.source,
            "outline": None,
            "zones": {},
        }
        height = (info.client or {}).get("height_cm")
        if height and info.placement == "on_client":
            from ashiguard.domain.zones import ZONES, ZoneMap

            zm = ZoneMap.from_height(float(height) * 10.0)
            msg["outline"] = [[round(x, 1), round(y, 1)] for x, y in zm.outline()]
            msg["zones"] = {
                z: [[[round(x, 1), round(y, 1)] for x, y in poly] for poly in zm.polygons(z)]
                for z in ZONES
            }
        return msg

    def _on_frame(self, frame: Any, feats: Any) -> None:
        if self._wall0 is None and self.hub.speed > 0:
            # the paced source starts its clock with its first frame: that frame is due when
            # it arrives, every later one t / speed after it (the source's start-up, e.g.
            # building the simulation, is not frame latency)
            arrived = self._started_wall
            if frame.arrived is not None:
                arrived = time.time() - (time.monotonic() - frame.arrived)
            self._wall0 = arrived - frame.t / self.hub.speed
        if frame.t > self._last_t:  # a late (reordered) frame cannot go into the recording
            self._last_t = frame.t
            self._buf_t.append(frame.t)
            self._buf_p.append(frame.pressure)
            self._buf_c.append(frame.counter)
            if frame.bars is not None:
                self._buf_b.append(frame.bars)
            if len(self._buf_t) >= 50:
                self._flush()
        else:
            self.skipped_late += 1
        ch = self.channel
        if frame.t - ch.last_view_t < 1.0 / VIEW_HZ - 1e-9:
            return
        snap = self.monitor.snapshot()
        data, scale, peak = _quantize(frame.pressure)
        msg = {
            "type": "frame",
            "counter": frame.counter,
            "t": round(frame.t, 3),
            "q": data,
            "scale_kpa": round(scale, 4),
            "peak_kpa": round(peak, 1),
            "load_n": snap["load_n"],
            "share": snap["share"],
            "allowed_share": snap["allowed_share"],
            "state": snap["state"],
            "hottest": snap["hottest_zones"],
            "frames_dropped": snap["frames_dropped"],
            "sent": time.time(),
        }
        ch.publish_view(msg, frame.t)

    def _frame_wall(self, t: float) -> float | None:
        """Wall-clock time (epoch s) a paced source was due to deliver frame time ``t``."""
        if self._wall0 is None or not self.hub.speed > 0:
            return None
        return self._wall0 + t / self.hub.speed

    def _on_alert(self, ev: dict[str, Any]) -> None:
        active = self.monitor.snapshot()["active_alarms"] if self.monitor is not None else []
        t = ev.get("t")
        msg = {
            "type": "alarm",
            "event": ev,
            "active": active,
            "sent": time.time(),
            "frame_wall": self._frame_wall(float(t)) if isinstance(t, int | float) else None,
        }
        status = {"type": "status", "active": active}
        with self.channel.lock:
            self.channel.status = status
        self.channel.publish(msg)

    def _flush(self) -> None:
        """Hand the buffered frames to the writer thread (HDF5 writes stay off the monitor)."""
        import numpy as np

        if not self._buf_t:
            return
        t = np.asarray(self._buf_t, dtype=np.float64)
        counters = np.asarray(self._buf_c, dtype=np.int64)
        pressure = np.stack(self._buf_p).astype(np.float32)
        bars = None
        if self._buf_b and len(self._buf_b) == len(self._buf_t):
            bars = np.stack(self._buf_b).astype(np.float32)
        self._batches.put((t, pressure, counters, bars))
        self._buf_t, self._buf_p, self._buf_b, self._buf_c = [], [], [], []

    def _write_batches(self) -> None:
        """Writer thread: append batches to the recording until the ``None`` sentinel."""
        while True:
            batch = self._batches.get()
            if batch is None:
                return
            if self._write_error is not None:
                continue  # keep draining; the error is reported when the session ends
            t, pressure, counters, bars = batch
            try:
                self._writer.append(t, pressure, counters)
                if bars is not None:
                    self._writer.append_bars(t, bars)
            except Exception as exc:
                self._write_error = f"recording: {type(exc).__name__}: {exc}"

    def _finish_writing(self) -> None:
        self._flush()
        self._batches.put(None)
        if self._write_thread is not None:
            self._write_thread.join()
            self._write_thread = None

    def run(self) -> None:
        from ashiguard.adapters.recording import RecordingWriter
        from ashiguard.services.analyze import limits_from_files
        from ashiguard.services.monitor import LiveMonitor

        result: dict[str, Any] = {}
        try:
            config = limits_from_files(screening=self.ctx.screening)
            source = self._open_source()
            info = source.info
            self.monitor = LiveMonitor(
                source,
                config,
                on_alert=self._on_alert,
                on_frame=self._on_frame,
                therapist_mass_kg=self.ctx.therapist_mass_kg,
                depth_stress=False,
            )
            init = self._init_message(info, config)
            with self.channel.lock:
                self.channel.init = init
            self.channel.publish(init)
            client = {
                k: v for k, v in (info.client or {}).items() if k in ("height_cm", "weight_kg")
            }
            self._writer = RecordingWriter(
                self.ctx.recording_path,
                rows=info.rows,
                cols=info.cols,
                pitch_mm=info.pitch_mm,
                origin_mm=info.origin_mm,
                placement=info.placement,
                therapist_mass_kg=self.ctx.therapist_mass_kg,
                client=client,
                bars=info.has_bars,
                counter=True,
                mat_attrs={"source": info.name or self.ctx.source},
            )
            self._write_thread = threading.Thread(
                target=self._write_batches, name=f"{self.name}-writer", daemon=True
            )
            self._write_thread.start()
            self._ready.set()
            self._started_wall = time.time()  # the pacer starts its clock with the stream
            if not self._stop_requested.is_set():
                self.monitor.run()
            self._finish_writing()
            if self._write_error is not None:
                raise RuntimeError(self._write_error)
            self._writer.set_stream_stats(
                dropped_frames=source.stats.dropped, reordered_frames=source.stats.reordered
            )
            self._writer.close()
            self._writer = None
            result = self._analyze(config)
        except Exception as exc:  # reported on the session and to the browsers, never hidden
            self.error = f"{type(exc).__name__}: {exc}"
            result = {"error": self.error}
            self._finish_writing()
            if self._writer is not None:
                try:
                    self._writer.close()
                except Exception as close_exc:
                    result["error"] += f"; closing the recording: {close_exc}"
        finally:
            self._ready.set()
            self.hub._finish(self.ctx, result)
            self.channel.publish({"type": "ended", "error": self.error})

    def _analyze(self, config: Any) -> dict[str, Any]:
        from ashiguard.services.analyze import analyze_recording

        path = self.ctx.recording_path
        frames = self.monitor.snapshot()["frames"] if self.monitor is not None else 0
        if frames == 0:
            return {"alerts": [], "summary": None, "frames": 0}
        analysis = analyze_recording(path, config)
        return {
            "alerts": [a.to_json() for a in analysis.alerts],
            "summary": analysis.summary,
            "frames": frames,
            "skipped_late": self.skipped_late,
        }


class _PipeChannel(_Channel):
    """The worker's channel inside a session process: messages go to the app over the pipe."""

    def __init__(self, send: Any) -> None:
        super().__init__()
        self._send = send

    def publish(self, msg: dict[str, Any], is_view: bool = False) -> None:
        self._send(("publish", msg, is_view))


class _ProcessHub:
    """What a :class:`_Worker` needs of the hub, inside a session process."""

    def __init__(self, settings: Settings, speed: float, send: Any) -> None:
        self.settings = settings
        self.speed = speed
        self._send = send

    def _finish(self, ctx: SessionContext, result: dict[str, Any]) -> None:
        self._send(("finish", result))


class _ReadySignal:
    """Stands in for the worker's ready event: tells the app once the session is set up."""

    def __init__(self, send: Any) -> None:
        self._send = send
        self._sent = False

    def set(self) -> None:
        if not self._sent:
            self._sent = True
            self._send(("ready",))


def _session_main(
    settings: Settings, ctx: SessionContext, speed: float, sim_opts: dict[str, Any], conn: Any
) -> None:
    """Entry point of a session process: run the worker; obey ``stop`` and ``ack`` commands."""
    import signal

    # Ctrl-C in the terminal reaches the whole process group: the app stops its sessions
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lock = threading.Lock()

    def send(msg: Any) -> None:
        with lock, contextlib.suppress(OSError, ValueError):  # the app is gone: nothing to tell
            conn.send(msg)

    worker = _Worker(
        _ProcessHub(settings, speed, send), ctx, _PipeChannel(send), sim_opts, _ReadySignal(send)
    )

    def commands() -> None:
        while True:
            try:
                cmd = conn.recv()
            except (EOFError, OSError):
                worker.request_stop()  # the app went away: end and keep the recording
                return
            if cmd[0] == "stop":
                worker.request_stop()
            elif cmd[0] == "ack":
                ok = worker.monitor is not None and bool(worker.monitor.acknowledge(cmd[2]))
                send(("ack", cmd[1], ok))

    threading.Thread(target=commands, name="commands", daemon=True).start()
    worker.run()
    send(("done",))


class _SessionProcess(threading.Thread):
    """The app's side of one session process: relays its messages and stores its outcome."""

    def __init__(
        self, hub: LiveHub, ctx: SessionContext, channel: _Channel, sim_opts: dict[str, Any]
    ) -> None:
        super().__init__(name=f"live-session-{ctx.session_id}", daemon=True)
        import multiprocessing

        self.hub = hub
        self.ctx = ctx
        self.channel = channel
        self._ready = threading.Event()
        self._finished = False
        self._send_lock = threading.Lock()
        self._acks: dict[int, tuple[threading.Event, list[bool]]] = {}
        self._ack_seq = 0
        mp = multiprocessing.get_context("spawn")
        self._conn, child = mp.Pipe()
        self._proc = mp.Process(
            target=_session_main,
            args=(hub.settings, ctx, hub.speed, sim_opts, child),
            name=f"ashiguard-session-{ctx.session_id}",
            daemon=True,
        )
        self._child_conn = child

    def start(self) -> None:
        self._proc.start()
        self._child_conn.close()  # the child holds its end: EOF here when it exits
        super().start()

    def _command(self, *cmd: Any) -> bool:
        with self._send_lock:
            try:
                self._conn.send(cmd)
            except (OSError, ValueError):
                return False
        return True

    def request_stop(self) -> None:
        self._command("stop")

    def acknowledge(self, alarm_id: int, timeout: float = 5.0) -> bool:
        """Acknowledge an alarm in the session process (False: not active, or no answer)."""
        with self._send_lock:
            self._ack_seq += 1
            req = self._ack_seq
            waiter: tuple[threading.Event, list[bool]] = (threading.Event(), [])
            self._acks[req] = waiter
        if not self._command("ack", req, int(alarm_id)) or not waiter[0].wait(timeout):
            self._acks.pop(req, None)
            return False
        return bool(waiter[1] and waiter[1][0])

    def run(self) -> None:
        ch = self.channel
        try:
            while True:
                try:
                    msg = self._conn.recv()
                except (EOFError, OSError):
                    break
                kind = msg[0]
                if kind == "publish":
                    body, is_view = msg[1], msg[2]
                    if body.get("type") == "init":
                        with ch.lock:
                            ch.init = body
                    elif body.get("type") == "alarm":
                        with ch.lock:
                            ch.status = {"type": "status", "active": body.get("active", [])}
                    ch.publish(body, is_view)
                elif kind == "ack":
                    with self._send_lock:
                        waiter = self._acks.pop(msg[1], None)
                    if waiter is not None:
                        waiter[1].append(bool(msg[2]))
                        waiter[0].set()
                elif kind == "ready":
                    self._ready.set()
                elif kind == "finish":
                    self._finished = True
                    self.hub._finish(self.ctx, msg[1])
                elif kind == "done":
                    break
        finally:
            self._proc.join(30.0)
            if not self._finished:  # the process died: say so on the session, never hide it
                error = f"session process ended unexpectedly (exit code {self._proc.exitcode})"
                self.hub._finish(self.ctx, {"error": error})
                ch.publish({"type": "ended", "error": error})
            self._ready.set()
            self._conn.close()
