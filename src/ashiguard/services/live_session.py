"""The live session use case: frame source -> alarm engine -> recording -> analysis.

One class, :class:`LiveSession`, runs every live session ashiguard has: ``ashiguard record``,
``ashiguard monitor``, a web session on a session host and a session on an
``ashiguard worker``. It takes a frame source, the client's limits (an :class:`AlarmConfig`
already tightened by the screening; the zone map comes from the source's client height), a
recording sink and a publisher, and returns a :class:`SessionOutcome`.

Notes
-----
- Stream time is re-based to the first frame (``/mat/time`` starts at 0) before the engine sees
  a frame, so alarm times, the recording and the analysis share one clock.
- A reordered frame whose time is not after the last one recorded cannot go into a
  time-ordered recording: it still reaches the alarm engine, and is counted (``skipped_late``).
- Recording writes happen on a writer thread, never on the thread that runs the engine.
- With ``duration_s`` the session ends at that much stream time; ``request_stop`` ends it early.
- A source with ground truth (the simulator) has its events in the recorded window written to
  ``/truth/events``.
"""

from __future__ import annotations

import base64
import dataclasses
import errno
import json
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ashiguard.adapters.recording import RecordingWriter, lower_thread_priority
from ashiguard.adapters.sources.base import Frame, FrameSource, SourceInfo
from ashiguard.domain.alarms import AlarmConfig
from ashiguard.domain.live_messages import (
    AlarmMessage,
    AlarmNotice,
    EndedMessage,
    FrameMessage,
    InitMessage,
    LiveMessage,
    Marker,
    MarkerMessage,
    SessionOutcome,
    StatusMessage,
    ZoneReading,
    ZoneTarget,
)
from ashiguard.domain.live_view import (
    KIND_WORDS,
    RECORDING_FAULT_WORDS,
    AlarmBook,
    DeliveryMeter,
    check_marker,
    find_contacts,
)
from ashiguard.domain.zeroing import LiveZeroing, TareEvent, parse_calibration
from ashiguard.domain.zone_names import ZONE_WORDS, zone_words
from ashiguard.services.monitor import LiveMonitor

__all__ = [
    "TARE_WINDOW_S",
    "VIEW_HZ",
    "LiveSession",
    "NullPublisher",
    "Publisher",
    "RecordingSink",
    "SinkFactory",
    "hdf5_sink",
    "plan_targets",
    "quantize",
]

TARE_WINDOW_S = 2.0
"""Seconds a "zero now" measures when the session set no window of its own."""

VIEW_HZ = 20.0
"""View frames a live session publishes per second of stream time (alarms are never thinned)."""


class Publisher(Protocol):
    """Where a live session's messages go (a broker, a pipe to the app, the terminal)."""

    def publish(self, msg: LiveMessage, view: bool = False) -> None:
        """Deliver ``msg``; ``view`` marks a frame a slow viewer may skip."""


class NullPublisher:
    """A publisher that drops every message (``ashiguard record``)."""

    def publish(self, msg: LiveMessage, view: bool = False) -> None:
        return None


class RecordingSink(Protocol):
    """Where a live session's frames are stored (contract section 4)."""

    path: Path | None

    def append(
        self, times: np.ndarray, pressure: np.ndarray, counters: np.ndarray, bars: np.ndarray | None
    ) -> None: ...

    def annotate(self, notes: list[dict[str, Any]]) -> None: ...

    def set_attrs(self, attrs: dict[str, Any]) -> None: ...

    def finish(self, truth: list[dict[str, Any]] | None, dropped: int, reordered: int) -> None: ...

    def abort(self) -> None: ...


SinkFactory = Callable[[SourceInfo, float | None], RecordingSink]
"""Opens the sink of a stream: ``(source info, therapist mass kg) -> sink``."""


class _Hdf5Sink:
    """A crash-safe HDF5 recording (SWMR, flushed at least every 0.25 s)."""

    def __init__(
        self,
        path: Path,
        info: SourceInfo,
        therapist_mass_kg: float | None,
        background_nice: int = 0,
    ) -> None:
        self.path: Path | None = Path(path)
        self.background_nice = int(background_nice)  # of the threads that write the file
        mat_attrs: dict[str, object] = {"source": info.name}
        for key, value in info.extra.items():
            if key == "units":
                continue  # a writer argument, not a free attribute
            mat_attrs[key] = value if isinstance(value, str | int | float) else json.dumps(value)
        self._writer = RecordingWriter(
            path,
            rows=info.rows,
            cols=info.cols,
            pitch_mm=info.pitch_mm,
            origin_mm=info.origin_mm,
            placement=info.placement,
            side=info.side,
            therapist_mass_kg=therapist_mass_kg,
            client=info.client or None,
            mat_attrs=mat_attrs,
            counter=True,
            bars=info.has_bars,
            units=str(info.extra.get("units", "kPa")),
            flush_nice=self.background_nice,
        )

    def append(
        self, times: np.ndarray, pressure: np.ndarray, counters: np.ndarray, bars: np.ndarray | None
    ) -> None:
        self._writer.append(times, pressure, counters)
        if bars is not None:
            self._writer.append_bars(times, bars)

    def annotate(self, notes: list[dict[str, Any]]) -> None:
        """Store the session's markers so far in ``/annotations`` (rewritten each time)."""
        self._writer.write_annotations(notes)

    def set_attrs(self, attrs: dict[str, Any]) -> None:
        """Set ``/mat`` attrs now (the tare in use and the tare events)."""
        self._writer.set_mat_attrs(attrs)

    def finish(self, truth: list[dict[str, Any]] | None, dropped: int, reordered: int) -> None:
        if truth is not None:  # a source with ground truth: its events, even none
            self._writer.write_truth(truth)
        self._writer.set_stream_stats(dropped_frames=dropped, reordered_frames=reordered)
        self._writer.close()

    def abort(self) -> None:
        self._writer.close()  # what was written stays readable


def hdf5_sink(path: Path | str, background_nice: int = 0) -> SinkFactory:
    """A sink factory that records into the HDF5 file ``path``; ``background_nice`` > 0 gives
    the threads that write (and compress) it that niceness, below the alarm engine's."""

    def open_sink(info: SourceInfo, therapist_mass_kg: float | None) -> RecordingSink:
        return _Hdf5Sink(Path(path), info, therapist_mass_kg, background_nice)

    return open_sink


_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def _view_phase(session_id: int) -> float:
    """Where a session's views fall in their period (0 to 1): consecutive session ids spread
    over it (the golden ratio), so the sessions a host starts together do not all take their
    view on the same tick (a view costs about a frame's alarm work)."""
    return (session_id * _GOLDEN) % 1.0


def quantize(pressure: np.ndarray) -> tuple[str, float, float]:
    """A frame as base64 uint8 (255 = no reading), its kPa per step and its peak, kPa."""
    p = np.asarray(pressure, dtype=np.float32)
    peak = float(np.fmax.reduce(p, axis=None))  # NaN only when no sensel reports
    if not np.isfinite(peak):  # no reading at all (or an infinite one: as before, below)
        finite = np.isfinite(p)
        peak = float(p[finite].max()) if finite.any() else 0.0
    scale = max(peak / 254.0, 0.5)
    # the same operations as on the finite cells alone (maximum, divide, rint, clip), on the
    # whole frame at once; the cells without a reading are set to 255 afterwards
    v = np.maximum(p, np.float32(0.0))
    v /= np.float32(scale)
    np.rint(v, out=v)
    np.clip(v, 0, 254, out=v)
    with np.errstate(invalid="ignore"):
        q = v.astype(np.uint8)
    q[~np.isfinite(p)] = 255
    return base64.b64encode(q.tobytes()).decode("ascii"), scale, peak


class _Batches:
    """Frames buffered for the recording, handed to a writer thread in batches of 48."""

    # a multiple of the recording's 16-frame HDF5 chunks: every chunk is compressed once,
    # none is written partly filled and compressed again with the next batch (about a third
    # less writer CPU than batches of 50)
    FRAMES = 48

    def __init__(
        self, sink: RecordingSink, on_error: Callable[[BaseException, float], None] | None = None
    ) -> None:
        self.sink = sink
        self.on_error = on_error
        self.failed = False
        self.stored_until = 0.0  # stream time, s, of the last frame the writer took
        self._t: list[float] = []
        self._p: list[np.ndarray] = []
        self._c: list[int] = []
        self._b: list[np.ndarray] = []
        self._queue: queue.Queue[Any] = queue.Queue()
        self.error: str | None = None
        self.written = 0
        self._lock = threading.Lock()  # frames come from the engine's thread, markers not
        self._thread = threading.Thread(target=self._write, name="live-recording", daemon=True)
        self._thread.start()

    def add(self, frame: Frame) -> None:
        with self._lock:
            self._t.append(frame.t)
            self._p.append(frame.pressure)
            self._c.append(frame.counter)
            if frame.bars is not None:
                self._b.append(frame.bars)
            full = len(self._t) >= self.FRAMES
        if full:
            self.flush()

    def flush(self) -> None:
        """Hand the buffered frames to the writer thread (any thread)."""
        with self._lock:
            if not self._t:
                return
            t, p, c, b = self._t, self._p, self._c, self._b
            self._t, self._p, self._c, self._b = [], [], [], []
            # the frames are stacked on the writer thread, not on the one running the engine
            self._queue.put(("frames", t, p, c, b))
            self.written += len(t)

    def annotate(self, notes: list[dict[str, Any]]) -> None:
        """Queue the markers for the writer thread (in order with the frames)."""
        self.flush()
        self._queue.put(("annotate", notes))

    def set_attrs(self, attrs: dict[str, Any]) -> None:
        """Queue ``/mat`` attrs for the writer thread (in order with the frames)."""
        self.flush()
        self._queue.put(("attrs", attrs))

    def _write(self) -> None:
        lower_thread_priority(int(getattr(self.sink, "background_nice", 0)))
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self.error is not None:
                continue  # keep draining; the error is reported when the session ends
            try:
                if batch[0] == "annotate":
                    self.sink.annotate(batch[1])
                elif batch[0] == "attrs":
                    self.sink.set_attrs(batch[1])
                else:
                    _, t, p, c, b = batch
                    self.sink.append(
                        np.asarray(t, dtype=np.float64),
                        np.stack(p).astype(np.float32, copy=False),  # frames are float32
                        np.asarray(c, dtype=np.int64),
                        np.stack(b).astype(np.float32, copy=False) if len(b) == len(t) else None,
                    )
                    self.stored_until = float(t[-1])
            except Exception as exc:
                self.failed = True
                kept = self.stored_until
                if getattr(exc, "errno", None) == errno.ENOSPC:
                    self.error = f"recording stopped at {kept:.1f} s: the disk is full"
                else:
                    self.error = f"recording stopped at {kept:.1f} s: {type(exc).__name__}: {exc}"
                if self.on_error is not None:
                    self.on_error(exc, kept)

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._thread.join()


def _frames_in(path: Path | None) -> int:
    """Frames a recording holds (0: none, or it cannot be opened)."""
    from ashiguard.adapters.recording import open_recording

    if path is None or not path.exists():
        return 0
    try:
        with open_recording(path) as rec:
            return int(rec.meta.frames)
    except Exception:
        return 0


def plan_targets(
    screening: dict[str, Any] | None, therapist_mass_kg: float | None
) -> tuple[ZoneTarget, ...]:
    """The target band of each zone from the session plan of a stored screening (none
    without a screening or a therapist mass, or when the plan allows no barefoot work)."""
    if not screening or not therapist_mass_kg:
        return ()
    from ashiguard.domain.plan import make_plan, target_band
    from ashiguard.domain.screening import parse_screening

    plan = make_plan(parse_screening(screening), float(therapist_mass_kg))
    out = []
    for z in plan.zones:
        band = target_band(z)
        if band is not None:
            out.append(ZoneTarget(z.zone, z.level, z.technique, band[0], band[1]))
    return tuple(out)


def _log_words(n: AlarmNotice) -> str:
    """One log line for an alarm notice, in the clinic's words."""
    what = RECORDING_FAULT_WORDS.get(n.rule or "") or KIND_WORDS.get(
        n.kind or "", (n.kind or "alarm").replace("_", " ")
    )
    where = f" ({zone_words(n.zone)})" if n.zone else ""
    if n.action == "acknowledged":
        return f"Alarm {n.alarm_id} acknowledged"
    if n.action == "cleared":
        return f"Cleared: {what}{where}"
    if n.action == "signal_lost":
        return f"No sensor data for {n.value} s: readings not trusted"
    seen = ""
    if n.value is not None and n.limit is not None:
        seen = f": {n.value:g} {n.unit or ''} (limit {n.limit:g})"
    return f"{(n.priority or '').upper()} {what}{where}{seen}"


class LiveSession:
    """Run one live session (see the module notes).

    Parameters
    ----------
    source : FrameSource
        Where frames come from (simulator, replay, LSL inlet).
    config : AlarmConfig or None
        The client's limits, already tightened by the screening (defaults when None).
    sink : SinkFactory or None
        Opens the recording once the source's geometry is known (None: nothing recorded).
    publisher : Publisher or None
        Receives init, frame (thinned to ``view_hz``), alarm and ended messages.
    session_id : int
        The treatment session's number (0 outside the clinic).
    therapist_mass_kg : float or None, kg
        Overrides the source's therapist mass.
    duration_s : float or None, s
        Stream time after which the session ends by itself.
    speed : float or None
        Pacing of a simulator or replay source (1 = real time); used to tell when the frame
        that raised an alarm was due (``AlarmMessage.frame_wall``). None for live sensors.
    depth_stress : bool
        Also compute the stress at depth under the newest frame (sensor sheets on the client).
    analyze : bool
        Run the offline analysis on the recording when the session ends.
    source_label : str
        How the source is named to viewers (defaults to the source's own name).
    on_ready : callable or None
        Called once the source is open and the recording created (before the first frame).
    on_notice : callable or None
        Called with every alarm notice, on the engine's thread (the terminal bell, tests).
    view_hz : float
        View frames per second of stream time.
    targets : sequence of ZoneTarget
        The planned band of each zone (the view shows under / on / over).
    scale_kpa : float, kPa
        Top of the viewers' fixed colour scale.
    tare_first_s : float or None, s
        Zero the sheet on the first seconds of the stream (nothing on it): those frames are
        held back until the window is judged, then go on tared (or as they came when it is
        refused).
    calibration : (name, text) or None
        A calibration file (``ashiguard.calibration/1``) for a raw-count source: counts ->
        kPa before the tare; parsed for the source's grid.
    tare_refused : ``stop`` or ``alarm``
        A refused first window ends the session with the reason (the command line), or raises
        a low-priority ``sensor_fault`` alarm ``tare:refused`` and goes on not zeroed (the
        clinic, where "zero now" can try again).
    tare_label : str
        How refusals name the zeroing (``--tare-first`` on the command line).

    Notes
    -----
    Zeroing never hides load: a window in which the sheet was loaded is refused, and "zero
    now" is refused at once while the sheet is loaded (``domain.zeroing.LiveZeroing``).
    """

    def __init__(
        self,
        source: FrameSource,
        config: AlarmConfig | None = None,
        *,
        sink: SinkFactory | None = None,
        publisher: Publisher | None = None,
        session_id: int = 0,
        therapist_mass_kg: float | None = None,
        duration_s: float | None = None,
        speed: float | None = None,
        depth_stress: bool = False,
        analyze: bool = True,
        source_label: str = "",
        on_ready: Callable[[], None] | None = None,
        on_notice: Callable[[AlarmNotice], None] | None = None,
        view_hz: float = VIEW_HZ,
        targets: Sequence[ZoneTarget] = (),
        scale_kpa: float = 100.0,
        tare_first_s: float | None = None,
        calibration: tuple[str, str] | None = None,
        tare_refused: str = "stop",
        tare_label: str = "--tare-first",
    ) -> None:
        self.source = source
        self.config = config or AlarmConfig()
        self.publisher: Publisher = publisher or NullPublisher()
        self.session_id = int(session_id)
        self.duration_s = duration_s
        self.speed = speed
        self.analyze = analyze
        self.source_label = source_label or source.info.name
        self.on_ready = on_ready
        self.on_notice = on_notice
        self.view_hz = float(view_hz)
        self._sink_factory = sink
        self._stop = threading.Event()
        self._next_view_t: float | None = None  # stream time of the next view frame
        self._view_seq = 0
        self._wall0: float | None = None
        self._started_wall = 0.0
        self.skipped_late = 0
        self.recorded_until = 0.0
        self.monitor = LiveMonitor(
            source,
            self.config,
            on_alert=self._on_notice,
            therapist_mass_kg=therapist_mass_kg,
            depth_stress=depth_stress,
        )
        self.therapist_mass_kg = self.monitor.setup.therapist_mass_kg
        self.targets = tuple(targets)
        self.scale_kpa = float(scale_kpa)
        self.book = AlarmBook()
        self._book_lock = threading.RLock()
        self._batches: _Batches | None = None
        self._sink: RecordingSink | None = None
        self._t0: float | None = None
        self._last_t = -np.inf
        self._started_at = 0.0
        self._last_frame_t = 0.0
        layout = self.monitor.setup.layout
        self._layout = layout
        self._delivery = (
            DeliveryMeter(layout, self.targets)
            if layout is not None and layout.has_zones and self.targets
            else None
        )
        origin = source.info.origin_mm
        self._origin_x = origin[0] if origin is not None and layout is not None else None
        self.tare_refused = tare_refused
        self.tare_label = tare_label
        self.tare_window_s = float(tare_first_s) if tare_first_s else TARE_WINDOW_S
        self._zero_lock = threading.Lock()
        self._held: list[Frame] = []
        self._latest: tuple[float, np.ndarray] | None = None
        self._tare_error: str | None = None
        self._calibration_file = calibration[0] if calibration is not None else None
        self.zeroing: LiveZeroing | None = None
        if tare_first_s is not None or calibration is not None:
            info = source.info
            cal = None
            if calibration is not None:
                cal = parse_calibration(calibration[1], calibration[0], info.rows, info.cols)
            self.zeroing = self._new_zeroing(cal, tare_first_s)

    def _new_zeroing(self, cal: Any, first_s: float | None) -> LiveZeroing:
        info = self.source.info
        return LiveZeroing(
            info.rows,
            info.cols,
            units=str(info.extra.get("units", "kPa")),
            sensel_area_m2=(info.pitch_mm / 1000.0) ** 2 if info.pitch_mm else None,
            calibration=cal,
            first_s=first_s,
            what=self.tare_label,
        )

    # ------------------------------------------------------------------ control
    def request_stop(self) -> None:
        """End the session at the next frame (or within half the frame-gap limit)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def acknowledge(self, alarm_id: int) -> bool:
        """Acknowledge an active alarm (False: no such active alarm)."""
        return self.monitor.acknowledge(alarm_id)

    def acknowledge_all(self) -> list[int]:
        """Acknowledge every active alarm not yet acknowledged; returns their ids."""
        ids = [a.alarm_id for a in self.monitor.active_alarms() if not a.acknowledged]
        return [i for i in ids if self.monitor.acknowledge(i)]

    def request_tare(self, who: str = "", duration_s: float | None = None) -> TareEvent | None:
        """Zero the sheet again on the next ``duration_s`` seconds (the session's own window
        by default), frames going on with the offsets in use meanwhile. Returns the refusal
        when the sheet is loaded now or a zeroing is running (None: started); every viewer
        sees the zeroing's state in the next ``status`` message, its result when it ends."""
        with self._zero_lock:
            if self.zeroing is None:
                self.zeroing = self._new_zeroing(None, None)
                if self._latest is not None:
                    self.zeroing.note(*self._latest)
            refused = self.zeroing.request(
                duration_s or self.tare_window_s, str(who)[:64] or "unknown"
            )
        if refused is not None:
            self._store_tare(refused)
        self._publish_status()
        return refused

    def tare_state(self) -> dict[str, Any] | None:
        """The zeroing now (``LiveZeroing.state()``), None without zeroing or calibration."""
        with self._zero_lock:
            return None if self.zeroing is None else self.zeroing.state()

    def _sink_info(self) -> SourceInfo:
        """The source's description for the recording, with the calibration it applies."""
        info = self.source.info
        z = self.zeroing
        if z is None or z.calibration is None:
            return info
        cal = z.calibration
        extra: dict[str, Any] = {
            **info.extra,
            "units": "kPa",
            "source_units": str(info.extra.get("units", "raw")),
            "calibration": cal.to_json(),
            "calibration_file": self._calibration_file or "",
            "calibration_kpa_per_count": cal.kpa_per_count.tolist(),
        }
        if cal.is_global:
            extra["scale_to_kpa"] = float(cal.kpa_per_count.flat[0])
        return dataclasses.replace(info, extra=extra)

    def _store_tare(self, ev: TareEvent) -> None:
        """A zeroing ended (or was refused): into the recording's ``/mat`` attrs at once."""
        z = self.zeroing
        if z is None:
            return
        attrs: dict[str, Any] = {"tare_events": [e.to_json() for e in z.events]}
        if ev.status == "zeroed" and z.offsets is not None and ev.window_s is not None:
            attrs |= {
                "tare_window_s": list(ev.window_s),
                "tare_offsets": z.offsets.tolist(),
                "tare_units": z.units,
                "tare_frames": ev.frames,
            }
        with self._book_lock:
            if self._batches is not None:
                self._batches.set_attrs(attrs)

    def _tare_done(self, ev: TareEvent, t: float) -> None:
        """What a finished zeroing does: stored, shown; a refused first window stops the
        session or raises its alarm (``tare_refused``)."""
        self._store_tare(ev)
        if ev.status == "zeroed":  # a refused first zeroing's alarm: its cause is gone
            self.monitor.clear_technical("tare:refused", t)
        if ev.status == "refused" and ev.who == "start":
            if self.tare_refused == "stop":
                self._tare_error = ev.reason
                self.request_stop()
            else:
                self.monitor.raise_technical(
                    "tare:refused",
                    t=t,
                    source=f"{ev.reason}; readings include the sheet's offsets",
                    priority="low",
                )
        self._publish_status()

    def add_marker(self, kind: str, text: str = "", who: str = "") -> Marker:
        """Mark this moment (the client's "too much", a technique change, a label).

        The marker carries the stream time and the most loaded zone and load then; it goes
        to every viewer, into the recording's ``/annotations`` at once, and into the
        outcome. A "too much" also counts as a low-priority ``comfort`` alarm.
        """
        text = check_marker(kind, text)
        snap = self.monitor.snapshot()
        hottest = snap["hottest_zones"][0] if snap["hottest_zones"] else None
        marker = Marker(
            t=round(self._last_frame_t, 3),
            kind=kind,  # type: ignore[arg-type]  # checked against MARKER_KINDS above
            text=text,
            who=str(who)[:64] or "unknown",
            wall=time.time(),
            zone=hottest["zone"] if hottest else None,
            zone_kpa=hottest["kpa"] if hottest else None,
            load_n=snap["load_n"],
        )
        words = {
            "too_much": f"Client said too much ({zone_words(marker.zone)})",
            "technique_change": "Technique change",
            "label": f"Mark: {text}",
        }[kind]
        with self._book_lock:
            self.book.mark(marker, f"{words}, marked by {marker.who}")
            if self._batches is not None:
                self._batches.annotate([m.to_json() for m in self.book.markers])
        self.publisher.publish(MarkerMessage(marker))
        if kind == "too_much":
            notice = AlarmNotice(
                action="raised",
                kind="comfort",
                priority="low",
                zone=marker.zone,
                t=marker.t,
                value=marker.zone_kpa,
                unit="kPa" if marker.zone_kpa is not None else None,
                rule="comfort:too_much",
                source=f"marked by {marker.who}",
            )
            self.publisher.publish(AlarmMessage(notice, self.monitor.active_alarms(), time.time()))
            if self.on_notice is not None:
                self.on_notice(notice)
        self._publish_status()
        return marker

    # ------------------------------------------------------------------ messages
    def init_message(self) -> InitMessage:
        info = self.source.info
        outline = None
        zones: dict[str, list[list[list[float]]]] = {}
        height = (info.client or {}).get("height_cm")
        if height and info.placement == "on_client":
            from ashiguard.domain.zones import ZONES, ZoneMap

            zm = ZoneMap.from_height(float(height) * 10.0)
            outline = tuple((round(x, 1), round(y, 1)) for x, y in zm.outline())
            zones = {
                z: [[[round(x, 1), round(y, 1)] for x, y in poly] for poly in zm.polygons(z)]
                for z in ZONES
            }
        return InitMessage(
            session_id=self.session_id,
            rows=info.rows,
            cols=info.cols,
            pitch_mm=info.pitch_mm,
            origin_mm=info.origin_mm,
            placement=info.placement,
            rate_hz=info.rate_hz,
            view_hz=self.view_hz,
            therapist_weight_n=round(self.monitor.engine.weight_n, 2),
            allowed_share=self.config.max_load_fraction,
            avoid_zones=tuple(sorted(self.config.avoid_zones)),
            source=self.source_label,
            outline=outline,
            zones=zones,
            scale_kpa=self.scale_kpa,
            recording=self._sink_factory is not None,
            started_wall=self._started_at,
            targets=self.targets,
            zone_words=dict(ZONE_WORDS),
            kind_words=dict(KIND_WORDS),
        )

    def _frame_wall(self, t: float | None) -> float | None:
        """Wall-clock time (epoch s) a paced source was due to deliver stream time ``t``."""
        if t is None or self._wall0 is None or not self.speed:
            return None
        return self._wall0 + t / self.speed

    def _on_notice(self, notice: AlarmNotice) -> None:
        now = time.time()
        msg = AlarmMessage(
            event=notice,
            active=self.monitor.active_alarms(),
            sent=now,
            frame_wall=self._frame_wall(notice.t),
        )
        self.publisher.publish(msg)  # first: the alarm reaches the viewers before the rest
        with self._book_lock:
            self.book.note(notice, now, _log_words(notice))
        self._publish_status()
        if self.on_notice is not None:
            self.on_notice(notice)

    def status_message(self) -> StatusMessage:
        """The alarm groups, the log and the markers now (also for a viewer that joins)."""
        active = self.monitor.active_alarms()
        with self._book_lock:
            return StatusMessage(
                active=active,
                groups=self.book.groups(active),
                log=self.book.log(),
                markers=self.book.marker_list(),
                tare=self.tare_state(),
            )

    def _publish_status(self) -> None:
        self.publisher.publish(self.status_message())

    def _view(self, frame: Frame) -> None:
        period = 1.0 / self.view_hz
        nxt = self._next_view_t
        if nxt is None:  # the first frame: the grid starts at this session's place in it
            nxt = self._next_view_t = frame.t + _view_phase(self.session_id) * period
        if frame.t < nxt - 1e-9:
            return
        # the next view on the session's own grid of view times: a view taken a frame late
        # (a late tick hands the engine two frames, the view gets the last) does not move it.
        # Moved with each late tick, the views of a host's sessions drifted onto the same
        # ticks (all 16 on one tick in 10: a 6-10 ms burst that held the next alarms back).
        # After a stall (whole periods without a frame) the grid moves on by whole periods:
        # started again at the frame, every session of a stalled host had its views on the
        # same tick from then on (15 of 16 seen).
        nxt += max(0, math.floor((frame.t - nxt) / period + 1e-6)) * period
        self._next_view_t = nxt + period
        self._view_seq += 1
        snap = self.monitor.view_state()
        data, scale, peak = quantize(frame.pressure)
        self.publisher.publish(
            FrameMessage(
                counter=frame.counter,
                t=round(frame.t, 3),
                q=data,
                scale_kpa=round(scale, 4),
                peak_kpa=round(peak, 1),
                load_n=snap["load_n"],
                share=snap["share"],
                allowed_share=snap["allowed_share"],
                state=snap["state"],
                hottest=tuple(ZoneReading(**z) for z in snap["hottest_zones"]),
                frames_dropped=snap["frames_dropped"],
                sent=time.time(),
                seq=self._view_seq,  # a gap at the client = a view the web layer dropped
                contacts=(
                    find_contacts(frame.pressure, self._layout, self._origin_x)
                    if self._layout is not None
                    else ()
                ),
                delivery=(
                    self._delivery.measure(frame.pressure) if self._delivery is not None else ()
                ),
            ),
            view=True,
        )

    # ------------------------------------------------------------------ the loop
    def run(self) -> SessionOutcome:
        """Run until the source ends, ``request_stop`` or ``duration_s``; never raises for a
        failing source or recording: the outcome (and the ``ended`` message) carry the error."""
        error: str | None = None
        try:
            self.begin()
            if not self._stop.is_set():
                self._loop()
        except Exception as exc:  # reported on the session and to the viewers, never hidden
            error = f"{type(exc).__name__}: {exc}"
        finally:
            if self.on_ready is not None:
                self.on_ready()  # a session that failed to start must not leave anyone waiting
        return self.finish(error)

    def begin(self) -> None:
        """Publish ``init`` and ``status``, open the recording, call ``on_ready``: the session
        can take frames (:meth:`feed`). Raises what fails; :meth:`finish` then reports it."""
        self._started_at = time.time()
        self.publisher.publish(self.init_message())
        self._publish_status()
        if self._sink_factory is not None:
            self._sink = self._sink_factory(self._sink_info(), self.therapist_mass_kg)
            batches = _Batches(self._sink, on_error=self._recording_failed)
            with self._book_lock:
                self._batches = batches
        if self.on_ready is not None:
            self.on_ready()
        self._started_wall = time.time()  # the pacer starts its clock with the stream

    def feed(self, frames: list[Frame]) -> bool:
        """Consecutive frames (a backlog at most ``monitor.max_batch`` long) through the engine,
        into the recording and the view; True once the session has reached its duration."""
        batch, ended = self.process(frames)
        self.record_and_view(batch)
        return ended

    def process(self, frames: list[Frame]) -> tuple[list[Frame], bool]:
        """The engine step of :meth:`feed` (alarms are published here): returns the frames
        kept (stream time re-based, cut at ``duration_s``) and whether the duration is reached.
        A session host runs this for every session first, then :meth:`record_and_view`."""
        if not frames:
            return frames, False
        if self._t0 is None:
            self._t0 = frames[0].t
            if self.speed:
                arrived = self._started_wall
                if frames[0].arrived is not None:
                    arrived = time.time() - (time.monotonic() - frames[0].arrived)
                self._wall0 = arrived  # stream time 0 was due when frame 0 arrived
        t0 = self._t0
        batch = frames
        if t0:
            batch = [Frame(f.counter, f.t - t0, f.pressure, f.bars, f.arrived) for f in frames]
        ended = False
        if self.duration_s is not None and batch[-1].t >= self.duration_s:
            batch = [f for f in batch if f.t < self.duration_s]
            ended = True
        done: list[TareEvent] = []
        if self.zeroing is not None:
            batch = self._zeroed(batch, done)
        elif batch:
            self._latest = (batch[-1].t, batch[-1].pressure)  # for a first "zero now"
        if batch:
            self.monitor.process_frames(batch)
        for ev in done:
            self._tare_done(ev, batch[-1].t)
        return batch, ended

    def _zeroed(self, frames: list[Frame], done: list[TareEvent]) -> list[Frame]:
        """Frames through the calibration and the tare (the first window's are held back
        until it is judged); ``done`` gets the zeroings that ended."""
        out: list[Frame] = []
        with self._zero_lock:
            z = self.zeroing
            assert z is not None
            for f in frames:
                got, ev = z.take(f.t, f.pressure)
                if not got:
                    self._held.append(f)
                    continue
                sources = [*self._held, f] if len(got) > 1 else [f]
                self._held = []
                out.extend(
                    Frame(s.counter, t, p, s.bars, s.arrived)
                    for s, (t, p) in zip(sources, got, strict=True)
                )
                if ev is not None:
                    done.append(ev)
        return out

    def _release_held(self) -> None:
        """The session ends inside the first tare window: its frames go into the recording
        as they came (not zeroed), and the refusal is stored."""
        with self._zero_lock:
            z = self.zeroing
            if z is None or not z.holding:
                return
            got = z.release()
            sources, self._held = self._held, []
            ev = z.events[-1] if z.events else None
        frames = [
            Frame(s.counter, t, p, s.bars, s.arrived)
            for s, (t, p) in zip(sources, got, strict=True)
        ]
        self.record_and_view(frames)
        if ev is not None:
            self._store_tare(ev)

    def record_and_view(self, batch: list[Frame]) -> None:
        """Hand the frames of :meth:`process` to the recording and publish the view."""
        if not batch:
            return
        batches = self._batches
        last_t = self._last_t
        for f in batch:
            if f.t > last_t:
                last_t = f.t
                if batches is not None:
                    batches.add(f)
            else:
                self.skipped_late += 1
        self._last_t = last_t
        self.recorded_until = max(float(last_t), 0.0)
        self._last_frame_t = batch[-1].t
        self._view(batch[-1])

    def _recording_failed(self, exc: BaseException, kept_s: float) -> None:
        """The recording stopped (the writer thread): a technical alarm at once; the live
        view and the alarms go on, and what was recorded stays readable."""
        full = getattr(exc, "errno", None) == errno.ENOSPC
        rule = "recording:disk_full" if full else "recording:failed"
        self.monitor.raise_technical(
            rule,
            t=self._last_frame_t,
            source=f"recorded up to {kept_s:.1f} s is kept; the live view and alarms go on",
        )

    def _loop(self) -> None:
        source, mon = self.source, self.monitor
        gap = mon.engine.config.max_frame_gap_s
        # an unpaced source (speed 0: a replay or simulation as fast as it goes) waits for
        # the engine; a sensor never waits (frames it would lose are counted as overflowed)
        source.start(overflow="block" if self.speed == 0 else "drop_oldest")
        try:
            while not self._stop.is_set():
                try:
                    frame = source.get(timeout=gap / 2)
                except queue.Empty:
                    mon.check_silence()
                    continue
                if frame is None:
                    break
                batch, ended = [frame], False
                while len(batch) < mon.max_batch:  # drain a backlog into one chunk
                    try:
                        nxt = source.get(timeout=0)
                    except queue.Empty:
                        break
                    if nxt is None:
                        ended = True
                        break
                    batch.append(nxt)
                if self.feed(batch) or ended:
                    break
        finally:
            source.stop()

    def finish(self, error: str | None = None) -> SessionOutcome:
        """Close the recording (with the ground truth and stream counts), analyse it, publish
        ``ended``; ``error`` says why the session ended early (never raises)."""
        if self.zeroing is not None:
            try:
                self._release_held()
            except Exception as exc:
                error = error or f"{type(exc).__name__}: {exc}"
        if error is None and self._tare_error is not None:
            error = self._tare_error
        batches, sink = self._batches, self._sink
        truth: list[dict[str, Any]] | None = None
        if error is None:
            try:
                truth = self._truth(self._t0)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
        if batches is not None:
            with self._book_lock:
                self._batches = None  # markers set from now on go into the outcome only
                if self.book.markers:
                    batches.annotate([m.to_json() for m in self.book.markers])
            batches.close()
            if error is None and batches.error is not None:
                error = batches.error
        stats = self.source.stats
        if sink is not None:
            try:
                if error is None:
                    sink.finish(truth, stats.dropped, stats.reordered)
                else:
                    sink.abort()
            except Exception as exc:
                error = (error + "; " if error else "") + f"closing the recording: {exc}"
        outcome = self._outcome(sink, batches, error)
        self.publisher.publish(EndedMessage(error=outcome.error, frames=outcome.frames))
        return outcome

    def _truth(self, t0: float | None) -> list[dict[str, Any]] | None:
        """The source's ground-truth events inside the recorded window (None: no truth)."""
        truth = getattr(self.source, "truth_events", None)
        if not callable(truth):
            return None
        if t0 is None:
            return []
        end = self.duration_s if self.duration_s is not None else self.recorded_until + 1e-9
        events = []
        for ev in truth():
            if ev["t_start"] - t0 < end:
                a, b = ev["t_start"] - t0, min(ev["t_end"] - t0, end)
                events.append({**ev, "t_start": a, "t_end": max(a, b)})
        return events

    def _outcome(
        self, sink: RecordingSink | None, batches: _Batches | None, error: str | None
    ) -> SessionOutcome:
        frames = batches.written if batches is not None else self.monitor.frames
        path = sink.path if sink is not None else None
        if batches is not None and batches.failed:
            frames = _frames_in(path)  # what reached the file before it failed
        size = path.stat().st_size if path is not None and path.exists() else 0
        alarms: tuple[dict[str, Any], ...] = ()
        summary = None
        if self.analyze and path is not None and frames > 0 and path.exists():
            from ashiguard.services.analyze import analyze_recording

            try:
                analysis = analyze_recording(path, self.config)
                alarms = tuple(a.to_json() for a in analysis.alerts)
                summary = analysis.summary
            except Exception as exc:
                error = (error + "; " if error else "") + f"analysis: {exc}"
        with self._book_lock:
            markers = self.book.marker_list()
        comfort = tuple(
            {
                "kind": "comfort",
                "priority": "low",
                "t_start": m.t,
                "t_end": m.t,
                "zone": m.zone,
                "peak": None,
                "limit": None,
                "unit": None,
                "rule": "comfort:too_much",
                "value_seen": m.zone_kpa,
                "source": f"marked by {m.who}",
            }
            for m in markers
            if m.kind == "too_much"
        )
        if comfort:
            alarms = tuple(sorted(alarms + comfort, key=lambda a: float(a["t_start"])))
        return SessionOutcome(
            markers=markers,
            frames=frames,
            duration_s=round(self.recorded_until, 4),
            alarms=alarms,
            summary=summary,
            skipped_late=self.skipped_late,
            dropped=self.source.stats.dropped,
            overflowed=self.source.stats.overflowed,
            recording_bytes=size,
            error=error,
            tare=self._tare_outcome(),
        )

    def _tare_outcome(self) -> dict[str, Any] | None:
        with self._zero_lock:
            z = self.zeroing
            if z is None:
                return None
            return {
                "events": [e.to_json() for e in z.events],
                "calibration": None if z.calibration is None else z.calibration.to_json(),
                "calibration_file": self._calibration_file,
            }
