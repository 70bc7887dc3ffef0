"""Training use cases: run a student's attempt from a live source, score a recorded attempt.

An attempt is ``duration_s`` of stream time from the source's first frame, scored frame by
frame with :class:`~ashiguard.domain.training.AttemptScorer` and, when asked, recorded
(``ashiguard.recording/1``) with the exercise attached as the ``/mat`` attr ``exercise``
(the exercise's JSON, docs/training.md): a recorded attempt can be scored again later with
:func:`score_recording` and nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ashiguard.domain.errors import InputError
from ashiguard.domain.training import AttemptScore, AttemptScorer, Exercise, parse_exercise

__all__ = [
    "AttemptRun",
    "Progress",
    "attempts_progress",
    "exercise_of_recording",
    "run_attempt",
    "score_recording",
]


@dataclass(frozen=True)
class AttemptRun:
    """What a run attempt leaves: its score, the frames seen and where it was recorded."""

    score: AttemptScore
    frames: int
    recording: Path | None


def _labels(info: Any, where: str) -> Any:
    from ashiguard.services.delivery import zone_labels

    labels, reason = zone_labels(info)
    if labels is None:
        raise InputError(f"{where}: an attempt needs a contact sheet with a zone map: {reason}")
    return labels


def run_attempt(
    exercise: Exercise,
    source: str,
    output: str | Path | None = None,
    *,
    speed: float = 1.0,
    seed: int = 1,
    timeout_s: float | None = None,
    on_frame: Callable[[AttemptScorer, float], None] | None = None,
) -> AttemptRun:
    """Run an attempt from a frame source spec (``sim:good_student``, ``replay:FILE``,
    ``lsl:NAME``) for the exercise's duration; record it to ``output`` when given.

    ``on_frame(scorer, t)`` is called after every frame (``t`` s since the first frame): the
    live view reads the scorer's ``value_kpa``, ``state``, ``in_band_s``, ``forbidden_now``.
    """
    from ashiguard.adapters.recording import RecordingWriter
    from ashiguard.domain.zones import ZONES
    from ashiguard.services.session_process import open_live_source

    src = open_live_source(
        source, speed=speed, seed=seed, duration_s=exercise.duration_s, timeout_s=timeout_s
    )
    info = src.info
    if info.placement != "on_client":
        raise InputError(
            f"source: {info.placement} sensor: an attempt is scored on a sheet on the client"
        )
    scorer = AttemptScorer(exercise, _labels(info, "source"), ZONES)
    writer = None
    if output is not None:
        extra = {k: v for k, v in (info.extra or {}).items() if isinstance(v, str | int | float)}
        writer = RecordingWriter(
            output,
            rows=info.rows,
            cols=info.cols,
            pitch_mm=info.pitch_mm,
            origin_mm=info.origin_mm,
            placement=info.placement,
            therapist_mass_kg=info.therapist_mass_kg,
            client=info.client,
            mat_attrs={
                **extra,
                "source": source,
                "exercise": json.dumps(exercise.to_json(), sort_keys=True),
            },
            counter=True,
            bars=bool(info.has_bars),
        )
    frames = 0
    t0: float | None = None
    last = -1.0
    try:
        for frame in src.frames():
            if t0 is None:
                t0 = frame.t
            t = frame.t - t0
            if t > exercise.duration_s:
                break
            if t <= last:  # a late frame cannot enter a time-ordered attempt
                continue
            last = t
            scorer.add([t], frame.pressure[None])
            if writer is not None:
                writer.append(t, frame.pressure, counter=frame.counter)
                if frame.bars is not None:
                    writer.append_bars(t, frame.bars[None])
            frames += 1
            if on_frame is not None:
                on_frame(scorer, t)
    finally:
        stop = getattr(src, "stop", None)
        if callable(stop):
            stop()
        if writer is not None:
            stats = src.stats
            writer.set_stream_stats(dropped_frames=stats.dropped, reordered_frames=stats.reordered)
            writer.close()
    if frames == 0:
        raise InputError(f"source: {source} gave no frames")
    return AttemptRun(scorer.result(), frames, None if output is None else Path(output))


def exercise_of_recording(path: str | Path) -> Exercise:
    """The exercise a recorded attempt carries (``/mat`` attr ``exercise``)."""
    from ashiguard.adapters.recording import open_recording

    with open_recording(path) as rec:
        raw = rec.mat_attrs().get("exercise")
    if raw is None:
        raise InputError(f"{path}: /mat attr exercise: absent (not a recorded attempt)")
    try:
        data = json.loads(raw)
    except (TypeError, json.JSONDecodeError):
        raise InputError(f"{path}: /mat attr exercise: not valid JSON") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: /mat attr exercise: not a JSON object")
    target = data.get("target")
    if isinstance(target, dict) and "level" in target:  # the band follows from the level
        data = {**data, "target": {"level": target["level"]}}
    try:
        return parse_exercise(data)
    except InputError as exc:
        raise InputError(f"{path}: /mat attr exercise: {exc}") from None


def score_recording(path: str | Path, exercise: Exercise | None = None) -> AttemptScore:
    """Score a recording against ``exercise`` (default: the exercise it carries)."""
    from ashiguard.adapters.recording import open_recording
    from ashiguard.domain.zones import ZONES

    ex = exercise if exercise is not None else exercise_of_recording(path)
    with open_recording(path) as rec:
        meta = rec.meta
        if meta.placement != "on_client":
            raise InputError(f"{path}: {meta.placement} sensor: an attempt is scored on a sheet")
        scorer = AttemptScorer(ex, _labels(meta, str(path)), ZONES)
        for times, pressure in rec.iter_chunks():
            scorer.add(times, pressure)
            if scorer.done:
                break
        return scorer.result()


@dataclass(frozen=True)
class Progress:
    """Recorded attempts scored in order: the exercises, their scores, the de-identified CSV
    rows (:data:`~ashiguard.domain.training.ATTEMPT_CSV_COLUMNS`)."""

    exercises: tuple[Exercise, ...]
    scores: tuple[AttemptScore, ...]
    rows: tuple[dict[str, Any], ...]


def attempts_progress(paths: Sequence[str | Path]) -> Progress:
    """Score recorded attempts (each against the exercise it carries), in the given order."""
    from ashiguard.domain.training import attempt_row

    if not paths:
        raise InputError("attempts: give at least one recorded attempt")
    exercises: list[Exercise] = []
    scores: list[AttemptScore] = []
    for path in paths:
        ex = exercise_of_recording(path)
        exercises.append(ex)
        scores.append(score_recording(path, ex))
    rows = tuple(
        attempt_row(i + 1, ex, sc) for i, (ex, sc) in enumerate(zip(exercises, scores, strict=True))
    )
    return Progress(tuple(exercises), tuple(scores), rows)
