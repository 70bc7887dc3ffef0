"""Replay a recording as a live frame source, in real time or faster (mne-lsl player style)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ashiguard.adapters.recording import open_recording
from ashiguard.adapters.sources.base import Frame, FrameSource, Pacer, SourceInfo
from ashiguard.domain.errors import InputError

__all__ = ["ReplaySource"]


class ReplaySource(FrameSource):
    """Frames of a recording (``ashiguard.recording/1``) played back at ``speed``.

    Parameters
    ----------
    path : str or Path
        The recording.
    speed : float
        1 = real time, 2 = twice as fast, 0 = as fast as possible.
    loop : bool
        Start again at the end, forever (counters and times keep increasing).
    chunk_frames : int
        Frames read from the file at a time.
    clock, sleep : callable
        Monotonic clock and sleep used for pacing (injected in tests).

    Notes
    -----
    Frame counters are the recording's ``/mat/counter`` when present (so gaps recorded from a
    live stream show again as dropped frames), else the frame index. Each frame carries the
    latest bar sample at or before its time (None before the first bar sample or without bars).
    """

    def __init__(
        self,
        path: str | Path,
        speed: float = 1.0,
        *,
        loop: bool = False,
        chunk_frames: int = 256,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = str(path)
        self._pacer = Pacer(speed, clock=clock, sleep=sleep)
        self.loop = bool(loop)
        self._chunk = int(chunk_frames)
        if self._chunk < 1:
            raise InputError(f"chunk_frames: must be positive, got {chunk_frames}")
        with open_recording(self.path) as rec:
            m = rec.meta
            if m.rows is None or m.cols is None or m.pitch_mm is None:
                raise InputError(f"{self.path}: has no /mat frames to replay")
            if m.frames == 0:
                raise InputError(f"{self.path}: /mat holds no frames")
            bars = rec.bars()
            self._counter = rec.counter()
            rate = m.rate_hz or 1.0
            info = SourceInfo(
                rows=m.rows,
                cols=m.cols,
                pitch_mm=m.pitch_mm,
                origin_mm=m.origin_mm,
                placement=m.placement or "on_client",
                rate_hz=rate,
                therapist_mass_kg=m.therapist_mass_kg,
                client=dict(m.client),
                has_bars=bars is not None,
                name=f"replay:{self.path}",
                extra={"units": m.units or "kPa"},
                side=m.side,
            )
        self._bars = bars
        self.frames_in_file = m.frames
        self.duration_s = m.duration_s
        super().__init__(info)

    @property
    def speed(self) -> float:
        """Replay speed factor (0 = unpaced)."""
        return self._pacer.speed

    def _produce(self) -> Iterator[Frame]:
        counter_base, t_base = 0, 0.0
        while True:
            last_c, last_t = -1, 0.0
            with open_recording(self.path) as rec:
                start = 0
                for times, pressure in rec.iter_chunks(self._chunk):
                    n = times.shape[0]
                    if self._counter is not None:
                        counters = self._counter[start : start + n]
                    else:
                        counters = np.arange(start, start + n, dtype=np.int64)
                    bars = self._bars_at(times)
                    for i in range(n):
                        t = float(times[i]) + t_base
                        self._pacer.wait(t)
                        b = None if bars is None or np.isnan(bars[i, 0]) else bars[i]
                        yield Frame(int(counters[i]) + counter_base, t, pressure[i], b)
                        if self._stop.is_set():
                            return
                    start += n
                    last_c, last_t = int(counters[-1]), float(times[-1])
            if not self.loop:
                return
            period = 1.0 / self.info.rate_hz
            counter_base += last_c + 1
            t_base += last_t + period

    def _bars_at(self, times: np.ndarray) -> np.ndarray | None:
        if self._bars is None:
            return None
        bt, bf = self._bars
        if bt.shape[0] == 0:
            return None
        idx = np.searchsorted(bt, times, side="right") - 1
        out = bf[np.clip(idx, 0, None)].astype(np.float32)
        out[idx < 0] = np.nan
        return out
