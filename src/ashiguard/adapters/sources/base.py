"""The frame-source contract: frames with timestamps and a frame counter.

Every live source (replay of a recording, the simulator, a Lab Streaming Layer inlet) is a
:class:`FrameSource`. An adapter implements one method, :meth:`FrameSource._produce`, that
yields raw :class:`Frame` values; the base class validates each frame (shape, dtype, finite
time, bar shape), counts dropped frames (a gap in the counter) and reordered frames (the counter
going back) and exposes them in :attr:`FrameSource.stats`, never hiding them. It also offers a
non-blocking consumer for other threads: :meth:`FrameSource.start`, :meth:`FrameSource.get`,
:meth:`FrameSource.stop` (a bounded queue filled by a producer thread).

Pacing (real time or faster) is shared too: :class:`Pacer` sleeps until a frame's time divided
by the ``speed`` factor has passed on a monotonic clock (``speed=0``: no pacing).
"""

from __future__ import annotations

import abc
import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ashiguard.domain.errors import InputError

__all__ = [
    "PLACEMENTS",
    "Frame",
    "FrameSource",
    "Pacer",
    "SourceInfo",
    "StreamStats",
]

PLACEMENTS = ("on_client", "under_client", "foot", "other")


@dataclass(frozen=True)
class Frame:
    """One frame of a pressure grid.

    Parameters
    ----------
    counter : int
        Frame counter of the producer; consecutive frames differ by one. Gaps mean dropped
        frames, a counter going back means reordered frames.
    t : float
        Time of the frame, s since the start of the stream.
    pressure : ndarray
        float32 ``[rows, cols]``, kPa; NaN = sensel not reporting.
    bars : ndarray or None
        float32 ``[2]``: load on the left and right overhead bar, N (None: no bar sensors).
    arrived : float or None, s
        :func:`time.monotonic` when the frame entered the consumer's queue
        (:meth:`FrameSource.start`); None for frames read directly with ``frames()``.
    """

    counter: int
    t: float
    pressure: np.ndarray
    bars: np.ndarray | None = None
    arrived: float | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SourceInfo:
    """What a source streams: grid geometry, rate and the session's people.

    Parameters
    ----------
    rows, cols : int
        Grid size, sensels.
    pitch_mm : float
        Sensel spacing, mm.
    origin_mm : tuple of float or None
        Body-frame position (x, y) of the centre of sensel [0, 0], mm (contract section 4).
    placement : str
        ``on_client``, ``under_client``, ``foot`` or ``other``.
    rate_hz : float
        Nominal frame rate, Hz.
    therapist_mass_kg : float or None
        Therapist's body mass, kg.
    client : dict
        Client attributes (``height_cm``, ``weight_kg``, optional ``landmarks_mm``).
    has_bars : bool
        Whether frames carry bar forces.
    name : str
        Human-readable description of the source.
    extra : dict
        Further attributes a recording of this stream should keep (e.g. ground truth
        restrictions of a simulated scenario).
    side : str or None
        ``left`` or ``right`` for a ``foot`` placement (the grid under that foot).
    """

    rows: int
    cols: int
    pitch_mm: float
    origin_mm: tuple[float, float] | None
    placement: str
    rate_hz: float
    therapist_mass_kg: float | None = None
    client: dict[str, Any] = field(default_factory=dict)
    has_bars: bool = False
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    side: str | None = None

    def __post_init__(self) -> None:
        if self.rows < 1 or self.cols < 1:
            raise InputError(f"source.rows/cols: must be positive, got {self.rows}x{self.cols}")
        if not self.pitch_mm > 0:
            raise InputError(f"source.pitch_mm: must be positive, got {self.pitch_mm}")
        if not self.rate_hz > 0:
            raise InputError(f"source.rate_hz: must be positive, got {self.rate_hz}")
        if self.placement not in PLACEMENTS:
            raise InputError(
                f"source.placement: {self.placement!r} is not one of {', '.join(PLACEMENTS)}"
            )
        if self.side not in (None, "left", "right"):
            raise InputError(f"source.side: must be left or right, got {self.side!r}")


@dataclass
class StreamStats:
    """Counts of what a source delivered; dropped and reordered frames are never hidden.

    Attributes
    ----------
    frames : int
        Frames delivered.
    dropped : int
        Frames missing according to the counter (sum of the gaps, less the frames of a gap
        that arrived late).
    reordered : int
        Frames whose counter was not above the highest one so far (late or repeated).
    overflowed : int
        Frames the background queue discarded because its consumer was too slow.
    first_counter, last_counter : int or None
        Counters of the first and of the highest frame seen.
    """

    frames: int = 0
    dropped: int = 0
    reordered: int = 0
    overflowed: int = 0
    first_counter: int | None = None
    last_counter: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        """The counts as a plain dict."""
        return {
            "frames": self.frames,
            "dropped": self.dropped,
            "reordered": self.reordered,
            "overflowed": self.overflowed,
            "first_counter": self.first_counter,
            "last_counter": self.last_counter,
        }


class Pacer:
    """Release frames at ``t / speed`` after the first one, on a monotonic clock.

    Parameters
    ----------
    speed : float
        1 = real time, 2 = twice as fast, 0 = as fast as possible (no waiting).
    clock, sleep : callable
        Injected for tests; default :func:`time.monotonic` and :func:`time.sleep`.
    """

    def __init__(
        self,
        speed: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not speed >= 0 or speed == float("inf"):
            raise InputError(f"speed: must be 0 (unpaced) or a positive factor, got {speed}")
        self.speed = float(speed)
        self._clock = clock
        self._sleep = sleep
        self._t0_stream: float | None = None
        self._t0_wall = 0.0

    def wait(self, t: float) -> None:
        """Block until the frame at stream time ``t`` (s) is due."""
        if self.speed == 0:
            return
        if self._t0_stream is None:
            self._t0_stream = t
            self._t0_wall = self._clock()
            return
        due = self._t0_wall + (t - self._t0_stream) / self.speed
        delay = due - self._clock()
        if delay > 0:
            self._sleep(delay)


_END = object()


class FrameSource(abc.ABC):
    """A stream of :class:`Frame` values with its :class:`SourceInfo`.

    Subclasses implement :meth:`_produce` only. Consume either with :meth:`frames` (an
    iterator, in the calling thread) or from another thread with :meth:`start`, :meth:`get`
    and :meth:`stop`.

    Notes
    -----
    A frame with the wrong shape, a non-finite time or malformed bar forces stops the stream
    with :class:`InputError` naming the frame counter: a monitor must not run on data it cannot
    interpret. Dropped and reordered frames are delivered as they come and counted in
    :attr:`stats` so that consumers (recorder, monitor) can report them.
    """

    def __init__(self, info: SourceInfo) -> None:
        self.info = info
        self.stats = StreamStats()
        self._missing: set[int] = set()
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue[Any] | None = None
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._overflow: Literal["drop_oldest", "block"] = "drop_oldest"

    # -- the one adapter method ---------------------------------------------------------
    @abc.abstractmethod
    def _produce(self) -> Iterator[Frame]:
        """Yield raw frames (validated and counted by :meth:`frames`)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most sources hold nothing
        """Release resources held by the source (files, network handles)."""

    # -- synchronous consumption -----------------------------------------------------
    def frames(self) -> Iterator[Frame]:
        """Validated frames; updates :attr:`stats` as it goes."""
        for raw in self._produce():
            frame = self._validate(raw)
            self._count(frame.counter)
            yield frame
            if self._stop.is_set():
                return

    def _validate(self, frame: Frame) -> Frame:
        shape = (self.info.rows, self.info.cols)
        pressure = np.asarray(frame.pressure, dtype=np.float32)
        if pressure.shape != shape:
            raise InputError(
                f"frame {frame.counter}: pressure shape {pressure.shape} != {shape} "
                f"declared by the source"
            )
        t = float(frame.t)
        if not np.isfinite(t):
            raise InputError(f"frame {frame.counter}: time is not finite ({frame.t})")
        bars = frame.bars
        if bars is not None:
            bars = np.asarray(bars, dtype=np.float32)
            if bars.shape != (2,):
                raise InputError(f"frame {frame.counter}: bars shape {bars.shape} != (2,)")
        if pressure is frame.pressure and bars is frame.bars and t == frame.t:
            return frame
        return Frame(int(frame.counter), t, pressure, bars)

    def _count(self, counter: int) -> None:
        s = self.stats
        s.frames += 1
        if s.last_counter is None:
            s.first_counter = s.last_counter = counter
            return
        if counter <= s.last_counter:
            s.reordered += 1
            if counter in self._missing:  # late, not lost: no longer dropped
                self._missing.discard(counter)
                s.dropped -= 1
            return
        gap = counter - s.last_counter - 1
        s.dropped += gap
        if 0 < gap <= 1024:
            if len(self._missing) > 65536:
                self._missing.clear()
            self._missing.update(range(s.last_counter + 1, counter))
        s.last_counter = counter

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.close()

    # -- consumption from another thread --------------------------------------------
    def start(
        self, maxsize: int = 512, overflow: Literal["drop_oldest", "block"] = "drop_oldest"
    ) -> None:
        """Produce frames in a background thread into a bounded queue.

        Parameters
        ----------
        maxsize : int
            Queue capacity, frames.
        overflow : str
            ``drop_oldest`` (live default: never stall the producer; discarded frames are
            counted in ``stats.overflowed``) or ``block`` (the producer waits for the consumer).
        """
        if self._thread is not None:
            raise RuntimeError("source already started")
        if maxsize < 1:
            raise InputError(f"maxsize: must be positive, got {maxsize}")
        self._overflow = overflow
        self._queue = queue.Queue(maxsize=maxsize)
        self._stop.clear()
        self._thread = threading.Thread(target=self._pump, name="frame-source", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self._queue is not None
        try:
            for frame in self.frames():
                # arrival stamp: the moment the frame is handed to the consumer's queue
                self._put(dataclasses.replace(frame, arrived=time.monotonic()))
                if self._stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer by get()
            self._error = exc
        finally:
            self._put(_END)

    def _put(self, item: object) -> None:
        q = self._queue
        assert q is not None
        end = item is _END
        while True:
            if self._stop.is_set() and not end:
                return
            if end or self._overflow == "block":
                # the end marker never pushes a frame out; it waits for room unless stopping
                try:
                    q.put(item, timeout=0.05)
                    return
                except queue.Full:
                    if not (end and self._stop.is_set()):
                        continue
            try:
                q.put_nowait(item)
                return
            except queue.Full:
                try:
                    dropped = q.get_nowait()
                except queue.Empty:
                    continue
                if dropped is not _END:
                    self.stats.overflowed += 1

    def get(self, timeout: float | None = None) -> Frame | None:
        """The next frame from the background thread; None once the stream has ended.

        Raises
        ------
        queue.Empty
            No frame arrived within ``timeout`` s.
        Exception
            Whatever stopped the producer (e.g. :class:`InputError` for a malformed frame).
        """
        if self._queue is None:
            raise RuntimeError("call start() before get()")
        item = self._queue.get(timeout=timeout)
        if item is _END:
            self._queue.put(_END)  # keep reporting the end to later calls
            if self._error is not None:
                raise self._error
            return None
        frame: Frame = item
        return frame

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread (if any) and wait for it, at most ``timeout`` s."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            self._thread = None
