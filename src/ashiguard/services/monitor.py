"""The live monitor: the alarm engine on a frame source, in a thread, with a callback/queue API.

Usage (terminal, web app, benchmarks alike)::

    mon = LiveMonitor(source, config, on_alert=print)
    mon.start()                     # a thread reads frames and runs the engine
    mon.alerts.get(timeout=1.0)     # or consume alarm events from the bounded queue
    mon.snapshot()                  # state, load, share, hottest zones, active alarms
    mon.acknowledge(alarm_id)       # silence / clear a latched alarm
    mon.stop()

Notes
-----
Callbacks run on the monitor thread, right after the frame that caused them; they must be
fast and must not block (hand work to another thread). Alarm events are never dropped
silently: when the bounded queue is full the oldest event is discarded and counted in
``snapshot()["alerts_dropped"]``. When no frame arrives for ``max_frame_gap_s`` the state turns
``unknown`` (signal lost) and a ``signal_lost`` event is published.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ashiguard.adapters.sources.base import Frame, FrameSource
from ashiguard.domain.alarms import ActiveAlarm, AlarmConfig, AlarmEngine, AlarmEvent, ChunkFeatures
from ashiguard.domain.live_messages import AlarmNotice
from ashiguard.services.analyze import EngineSetup, plan_engine

__all__ = ["DEPTHS_MM", "LiveMonitor", "notice_of"]

DEPTHS_MM: tuple[float, ...] = (10.0, 30.0, 60.0)


def notice_of(ev: AlarmEvent) -> AlarmNotice:
    """The live notice of an engine event (rounded as the views show it)."""
    return AlarmNotice(
        action=ev.action,
        alarm_id=ev.alarm_id,
        kind=ev.kind,
        priority=ev.priority,
        zone=ev.zone,
        t=round(ev.t, 4),
        value=round(ev.value, 3),
        limit=round(ev.limit, 3),
        unit=ev.unit,
        rule=ev.rule,
        source=ev.source,
        depth_mm=ev.depth_mm,
    )


class LiveMonitor:
    """Run the alarm engine on a live :class:`FrameSource`.

    Parameters
    ----------
    source : FrameSource
        Where frames come from (``open_source("sim" | "replay:FILE" | "lsl:NAME")``).
    config : AlarmConfig or None
        Limits, already tightened by the client's screening (defaults when None).
    on_alert : callable or None
        Called with each alarm event dict (``raised``, ``cleared``, ``signal_lost``,
        ``acknowledged``) on the monitor thread.
    on_frame : callable or None
        Called with ``(newest frame, features of its chunk)`` after each frame, or after each
        backlog of frames processed together (zone peaks exact where ``zone_peak_exact``:
        wherever an alarm may depend on them; :meth:`snapshot` has the exact ones).
    therapist_mass_kg : float or None, kg
        Overrides the source's therapist mass.
    depth_stress : bool
        Also compute the stress at 10, 30 and 60 mm depth under each frame (contact sheets).
    queue_size : int
        Capacity of :attr:`alerts`, events.
    max_batch : int
        Frames waiting in the source's queue are processed together, at most this many.
    """

    def __init__(
        self,
        source: FrameSource,
        config: AlarmConfig | None = None,
        *,
        on_alert: Callable[[AlarmNotice], None] | None = None,
        on_frame: Callable[[Frame, ChunkFeatures], None] | None = None,
        therapist_mass_kg: float | None = None,
        depth_stress: bool = True,
        queue_size: int = 1024,
        max_batch: int = 64,
    ) -> None:
        info = source.info
        self.source = source
        self.setup: EngineSetup = plan_engine(
            placement=info.placement,
            rows=info.rows,
            cols=info.cols,
            pitch_mm=info.pitch_mm,
            origin_mm=info.origin_mm,
            client=info.client,
            therapist_mass_kg=therapist_mass_kg or info.therapist_mass_kg,
            has_bars=info.has_bars,
        )
        self.engine = AlarmEngine(
            self.setup.layout,
            config or AlarmConfig(),
            self.setup.therapist_mass_kg,
            client_mass_kg=self.setup.client_mass_kg,
            load_source=self.setup.load_source,
            symmetry_source=self.setup.symmetry_source,
        )
        self.on_alert = on_alert
        lay = self.setup.layout
        self._zone_names: tuple[str, ...] = (
            lay.zone_names if lay is not None and lay.labels is not None else ()
        )
        self.max_batch = max(1, int(max_batch))
        self.on_frame = on_frame
        self.alerts: queue.Queue[AlarmNotice] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._seen_events = 0
        self._alerts_dropped = 0
        self._frames = 0
        self._last: ChunkFeatures | None = None
        self._last_chunk: tuple[np.ndarray, np.ndarray] | None = None  # frames of ``_last``
        self._last_frame_wall: float | None = None
        self._signal_lost = False
        self._stress_max: list[float] | None = None
        self.error: BaseException | None = None
        self.latencies_ms: list[float] = []
        # arrival of the frame that raised an alarm (stamped when it entered the source's
        # queue) -> the alarm raised (just before on_alert), ms; frames without a stamp
        # (driven through process_frame directly) are not measured
        self.raise_latencies_ms: list[float] = []
        # the part of each raise latency spent before processing started (queue, wake-up)
        self.raise_waits_ms: list[float] = []
        self._stress = None
        if depth_stress and self.setup.layout is not None and self.setup.layout.has_zones:
            from ashiguard.domain.mechanics import DepthStress

            self._stress = DepthStress((info.rows, info.cols), info.pitch_mm, DEPTHS_MM)

    # ------------------------------------------------------------------ frames
    def process_frame(self, frame: Frame) -> list[AlarmNotice]:
        """Run one frame through the engine and publish its alarm events (any thread)."""
        return self.process_frames([frame])

    def process_frames(self, frames: list[Frame]) -> list[AlarmNotice]:
        """Run consecutive frames through the engine as one chunk and publish their events.

        The engine's alarms do not depend on chunking, so a backlog is processed in one
        vectorised step instead of frame by frame; the depth stress is computed for the
        newest frame (what the views show), after the alarm events are published.
        """
        if not frames:
            return []
        arrived = time.perf_counter()
        started = time.monotonic()
        last = frames[-1]
        times = np.array([fr.t for fr in frames], dtype=np.float64)
        bars = None
        if len(frames) == 1:  # the usual live case: views, no copies
            pressure = np.asarray(last.pressure, dtype=np.float32)[None]
            if last.bars is not None:
                bars = np.asarray(last.bars, dtype=np.float64)[None]
        else:
            pressure = np.stack([np.asarray(fr.pressure, dtype=np.float32) for fr in frames])
            if all(fr.bars is not None for fr in frames):
                bars = np.stack([np.asarray(fr.bars, dtype=np.float64) for fr in frames])
        with self._lock:
            # exact zone peaks only where an alarm may depend on them; a view asks for the
            # exact peaks of the frame it shows (snapshot), not every frame
            feats = self.engine.process(times, pressure, bars_n=bars)
            self._frames += len(frames)
            if feats.times.size:
                self._last = feats
                self._last_chunk = (times, pressure)
            self._last_frame_wall = arrived
            if self._signal_lost:
                self._signal_lost = False
                self.engine.note_silence(last.t)
            new = self.engine.events[self._seen_events :]
            self._seen_events = len(self.engine.events)
        out = [notice_of(ev) for ev in new]
        if out:
            self.latencies_ms.append((time.perf_counter() - arrived) * 1e3)
            for ev_obj in new:
                if ev_obj.action != "raised":
                    continue
                # the raising frame: the first of this chunk at or after the raise time
                fr = next((f for f in frames if f.t >= ev_obj.t - 1e-9), None)
                if fr is not None and fr.arrived is not None:
                    self.raise_latencies_ms.append((time.monotonic() - fr.arrived) * 1e3)
                    self.raise_waits_ms.append((started - fr.arrived) * 1e3)
        for ev in out:
            self._publish(ev)
        if self._stress is not None:
            # after the alarms are out: the depth stress only feeds the views.
            # fmax: negative readings and sensels not reporting (NaN) count as no load
            sig = self._stress(np.fmax(pressure[-1], np.float32(0.0)))
            peaks = [float(v) for v in sig.max(axis=(-2, -1))]
            with self._lock:
                self._stress_max = peaks
        if self.on_frame is not None:
            self.on_frame(last, feats)
        return out

    def _publish(self, ev: AlarmNotice) -> None:
        while True:
            try:
                self.alerts.put_nowait(ev)
                break
            except queue.Full:
                try:
                    self.alerts.get_nowait()
                    self._alerts_dropped += 1
                except queue.Empty:
                    continue
        if self.on_alert is not None:
            self.on_alert(ev)

    def check_silence(self) -> None:
        """Call when no frame came for a while: past the limit, the state turns ``unknown``
        and a ``signal_lost`` notice is published (once per silence)."""
        with self._lock:
            if self._last is None or self._last_frame_wall is None:
                return
            waited = time.perf_counter() - self._last_frame_wall
            last_t = float(self._last.times[-1]) if self._last.times.size else 0.0
            lost = self.engine.note_silence(last_t + waited)
            newly = lost and not self._signal_lost
            self._signal_lost = lost
        if newly:
            self._publish(
                AlarmNotice(
                    action="signal_lost",
                    kind="sensor_fault",
                    priority="medium",
                    zone=None,
                    t=round(last_t + waited, 4),
                    rule="sensor_fault:signal_lost",
                    value=round(waited, 3),
                    limit=self.engine.config.max_frame_gap_s,
                    unit="s",
                )
            )

    # ------------------------------------------------------------------ thread
    def run(self, duration_s: float | None = None) -> None:
        """Consume the source in the calling thread until it ends, ``stop()`` or the
        duration (wall clock, s) has passed."""
        gap = self.engine.config.max_frame_gap_s
        deadline = None if duration_s is None else time.monotonic() + duration_s
        self.source.start()
        try:
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                try:
                    frame = self.source.get(timeout=gap / 2)
                except queue.Empty:
                    self.check_silence()
                    continue
                if frame is None:
                    break
                batch, ended = [frame], False
                while len(batch) < self.max_batch:  # drain a backlog into one chunk
                    try:
                        nxt = self.source.get(timeout=0)
                    except queue.Empty:
                        break
                    if nxt is None:
                        ended = True
                        break
                    batch.append(nxt)
                self.process_frames(batch)
                if ended:
                    break
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.source.stop()

    def start(self, duration_s: float | None = None) -> None:
        """Run :meth:`run` in a background thread."""
        if self._thread is not None:
            raise RuntimeError("monitor already started")
        self._stop.clear()

        def target() -> None:
            with contextlib.suppress(BaseException):  # kept in self.error for the owner
                self.run(duration_s)

        self._thread = threading.Thread(target=target, name="live-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (at most ``timeout`` s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def join(self, timeout: float | None = None) -> None:
        """Wait until the source ends (or ``timeout`` s)."""
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the monitor thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ views
    def acknowledge(self, alarm_id: int) -> bool:
        """Acknowledge an alarm (a latched one leaves the active list). False if unknown."""
        with self._lock:
            ok = self.engine.acknowledge(alarm_id)
        if ok:
            self._publish(AlarmNotice(action="acknowledged", alarm_id=alarm_id))
        return ok

    def raise_technical(
        self, rule: str, t: float, source: str, priority: str = "medium"
    ) -> AlarmNotice:
        """Raise a ``sensor_fault`` technical alarm about the equipment rather than the data
        (e.g. ``recording:disk_full``): it stays active until the session ends, can be
        acknowledged, and does not make the readings untrusted. Published like any alarm."""
        with self._lock:
            ev = self.engine.raise_standing("sensor_fault", priority, t, rule, source)
            self._seen_events = len(self.engine.events)  # published here, not by a frame
        notice = AlarmNotice(
            action="raised",
            alarm_id=ev.alarm_id,
            kind=ev.kind,
            priority=ev.priority,
            zone=None,
            t=round(t, 4),
            rule=rule,
            source=source,
        )
        self._publish(notice)
        return notice

    def clear_technical(self, rule: str, t: float) -> list[int]:
        """Clear the standing technical alarms of ``rule`` (``tare:refused`` once the sheet is
        zeroed); returns their ids. Published like any cleared alarm."""
        with self._lock:
            ids = [a.alarm_id for a in self.engine.active.values() if a.rule == rule]
            events = [e for e in (self.engine.clear_standing(i, t) for i in ids) if e]
            self._seen_events = len(self.engine.events)
        for ev in events:
            self._publish(
                AlarmNotice(
                    action="cleared",
                    alarm_id=ev.alarm_id,
                    kind=ev.kind,
                    priority=ev.priority,
                    zone=None,
                    t=round(t, 4),
                    rule=rule,
                    source=ev.source,
                )
            )
        return [ev.alarm_id for ev in events]

    def acknowledge_all_latched(self) -> int:
        """Acknowledge every latched alarm; returns how many were cleared."""
        with self._lock:
            ids = [a.alarm_id for a in self.engine.active.values() if not a.condition_present]
        return sum(self.acknowledge(i) for i in ids)

    def active_alarms(self) -> tuple[ActiveAlarm, ...]:
        """Copies of the alarms in the active list now (safe to hand to another thread)."""
        with self._lock:
            return tuple(dataclasses.replace(a) for a in self.engine.active.values())

    @property
    def frames(self) -> int:
        """Frames processed so far."""
        return self._frames

    def _last_peaks(self, f: ChunkFeatures) -> np.ndarray:
        """The exact zone peaks of the newest frame processed (call with the lock held)."""
        if f.zone_peak_exact[-1].all() or self._last_chunk is None:
            newest: np.ndarray = f.zone_peak_kpa[-1]
            return newest
        times, pressure = self._last_chunk
        # the newest frame the engine kept: the first of the chunk with its time (a frame
        # the engine dropped is never later than one it kept)
        j = int(np.flatnonzero(times == f.times[-1])[0])
        return self.engine.exact_zone_peaks(pressure[j])

    def _hottest(self, f: ChunkFeatures, hottest: int) -> list[dict[str, Any]]:
        """The ``hottest`` zones of the newest frame, exact peaks (call with the lock held)."""
        zones: list[dict[str, Any]] = []
        zone_names = self._zone_names
        if not zone_names:
            return zones
        eng = self.engine
        peaks = self._last_peaks(f)
        order = np.argsort(np.nan_to_num(peaks, nan=-1.0))[::-1][:hottest]
        for zi in order:
            if np.isfinite(peaks[zi]) and peaks[zi] > 0:
                name = zone_names[zi]
                zones.append(
                    {
                        "zone": name,
                        "kpa": round(float(peaks[zi]), 2),
                        "limit_kpa": eng.config.zone_limit(name),
                    }
                )
        return zones

    def view_state(self, hottest: int = 3) -> dict[str, Any]:
        """What a view frame shows of :meth:`snapshot` (state, load and share, hottest zones,
        dropped frames), without the rest it builds (active alarms, checks, depth stress)."""
        with self._lock:
            eng = self.engine
            f = self._last
            zones: list[dict[str, Any]] = []
            load = None
            if f is not None and f.times.size:
                lv = float(f.load_n[-1])
                load = lv if np.isfinite(lv) else None
                zones = self._hottest(f, hottest)
            return {
                "state": eng.state(),
                "load_n": None if load is None else round(load, 2),
                "share": None if load is None else round(load / eng.weight_n, 4),
                "allowed_share": eng.config.max_load_fraction,
                "hottest_zones": zones,
                "frames_dropped": self.source.stats.dropped,
            }

    def snapshot(self, hottest: int = 3) -> dict[str, Any]:
        """State, load on the client and its share, hottest zones, active alarms, counts."""
        with self._lock:
            eng = self.engine
            f = self._last
            zones: list[dict[str, Any]] = []
            load = None
            if f is not None and f.times.size:
                lv = float(f.load_n[-1])
                load = lv if np.isfinite(lv) else None
                zones = self._hottest(f, hottest)
            stats = self.source.stats
            return {
                "state": eng.state(),
                "t": None if f is None or not f.times.size else float(f.times[-1]),
                "frames": self._frames,
                "load_n": None if load is None else round(load, 2),
                "share": None if load is None else round(load / eng.weight_n, 4),
                "allowed_share": eng.config.max_load_fraction,
                "load_source": eng.load_source,
                "hottest_zones": zones,
                "depth_stress_max_kpa": None
                if self._stress_max is None
                else dict(zip([f"{d:g}mm" for d in DEPTHS_MM], self._stress_max, strict=True)),
                "active_alarms": [a.to_json() for a in eng.active.values()],
                "frames_dropped": stats.dropped,
                "frames_overflowed": stats.overflowed,
                "alerts_dropped": self._alerts_dropped,
                "checks": self.setup.checks,
            }
