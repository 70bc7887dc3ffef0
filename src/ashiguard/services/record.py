"""Record a live frame source into a recording (``ashiguard record``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ashiguard.adapters.recording import RecordingWriter
from ashiguard.adapters.sources.base import Frame, FrameSource
from ashiguard.domain.errors import InputError

__all__ = ["RecordResult", "record_source"]


@dataclass(frozen=True)
class RecordResult:
    """What :func:`record_source` wrote; dropped/reordered as counted by the source."""

    path: str
    frames: int
    dropped: int
    reordered: int
    skipped_late: int
    duration_s: float
    elapsed_s: float


def record_source(
    source: FrameSource,
    path: str | Path,
    duration_s: float,
    *,
    progress: Callable[[float, float], None] | None = None,
    batch: int = 50,
) -> RecordResult:
    """Record ``duration_s`` seconds of ``source`` (stream time) into ``path``.

    Parameters
    ----------
    source : FrameSource
        Any source (simulator, replay, LSL inlet).
    path : str or Path
        Output ``.h5`` recording.
    duration_s : float
        Stream time to record, s, counted from the first frame.
    progress : callable, optional
        Called with (seconds recorded, duration_s) after each batch.
    batch : int
        Frames written per append.

    Notes
    -----
    Times are re-based to the first frame (``/mat/time`` starts at 0). Dropped frames
    (counter gaps) and reordered frames (counter going back) are counted by the source and
    stored in the ``/mat`` attrs ``dropped_frames`` / ``reordered_frames``. A reordered frame
    whose time is not after the last written one cannot be stored in a time-ordered
    recording: it is counted (``skipped_late``) and left out, never silently. A source with
    ground truth (the simulator) has its events inside the window written to ``/truth/events``.
    """
    if not (duration_s > 0 and np.isfinite(duration_s)):
        raise InputError(f"--duration: must be a positive number of seconds, got {duration_s}")
    info = source.info
    t_wall = time.perf_counter()
    mat_attrs: dict[str, object] = {"source": info.name}
    for key, value in info.extra.items():
        if key == "units":
            continue  # a writer argument, not a free attribute
        mat_attrs[key] = value if isinstance(value, str | int | float) else json.dumps(value)
    times: list[float] = []
    frames: list[np.ndarray] = []
    counters: list[int] = []
    bar_t: list[float] = []
    bar_f: list[np.ndarray] = []
    t_first: float | None = None
    last_t = -np.inf
    skipped = 0
    written = 0
    with RecordingWriter(
        path,
        rows=info.rows,
        cols=info.cols,
        pitch_mm=info.pitch_mm,
        origin_mm=info.origin_mm,
        placement=info.placement,
        side=info.side,
        therapist_mass_kg=info.therapist_mass_kg,
        client=info.client or None,
        mat_attrs=mat_attrs,
        counter=True,
        units=str(info.extra.get("units", "kPa")),
    ) as w:

        def flush() -> None:
            nonlocal written
            if times:
                w.append(np.array(times), np.stack(frames), np.array(counters))
                written += len(times)
            if bar_t:
                w.append_bars(np.array(bar_t), np.stack(bar_f))
            for buf in (times, frames, counters, bar_t, bar_f):
                buf.clear()
            if progress is not None:
                progress(min(max(last_t, 0.0), duration_s), duration_s)

        frame: Frame
        for frame in source.frames():
            if t_first is None:
                t_first = frame.t
            t = frame.t - t_first
            if t >= duration_s:
                break
            if t <= last_t:
                skipped += 1
                continue
            last_t = t
            times.append(t)
            frames.append(frame.pressure)
            counters.append(frame.counter)
            if frame.bars is not None:
                bar_t.append(t)
                bar_f.append(frame.bars)
            if len(times) >= batch:
                flush()
        flush()
        truth = getattr(source, "truth_events", None)
        if callable(truth) and t_first is not None:
            events = []
            for ev in truth():
                if ev["t_start"] - t_first < duration_s:
                    t0, t1 = ev["t_start"] - t_first, min(ev["t_end"] - t_first, duration_s)
                    events.append({**ev, "t_start": t0, "t_end": max(t0, t1)})
            w.write_truth(events)
        s = source.stats
        w.set_stream_stats(dropped_frames=s.dropped, reordered_frames=s.reordered)
    s = source.stats
    return RecordResult(
        path=str(path),
        frames=written,
        dropped=s.dropped,
        reordered=s.reordered,
        skipped_late=skipped,
        duration_s=max(last_t, 0.0),
        elapsed_s=time.perf_counter() - t_wall,
    )
