"""Training use cases: run a student's attempt from a live source, score a recorded attempt,
and the clinic's training record (stored exercises and attempts, the policy the readiness gate
checks, the researchers' de-identified attempts).

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
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import (
    Practitioner,
    TrainingAttempt,
    TrainingExercise,
    TrainingPolicyRow,
)
from ashiguard.domain.errors import Conflict, InputError
from ashiguard.domain.practice import Check
from ashiguard.domain.training import (
    AttemptScore,
    AttemptScorer,
    Exercise,
    PassedAssessment,
    TrainingPolicy,
    assessment_checks,
    attempt_row,
    parse_exercise,
    parse_training_policy,
)
from ashiguard.services.uow import Actor, UnitOfWork, fetch, parse_record_id, require_role

__all__ = [
    "INSTRUCTOR_ROLES",
    "RECORD_ROLES",
    "AttemptRun",
    "Progress",
    "attempts_of",
    "attempts_progress",
    "exercise_for_attempt",
    "exercise_of_recording",
    "exercise_of_row",
    "list_exercises",
    "research_attempt_rows",
    "run_attempt",
    "save_exercise",
    "score_of_attempt",
    "score_recording",
    "set_training_policy",
    "store_attempt",
    "store_recorded_attempt",
    "training_checks",
    "training_policy",
]

INSTRUCTOR_ROLES: tuple[str, ...] = ("owner", "instructor")
"""Who creates exercises and records attempts."""

RECORD_ROLES: tuple[str, ...] = ("owner", "instructor", "therapist")
"""Who reads training records."""


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


# -- the clinic's training record


def save_exercise(uow: UnitOfWork, text: str, actor: Actor | None, ip: str) -> TrainingExercise:
    """Store an exercise from its TOML (validated; :class:`InputError` names the key). An
    exercise id and version already stored is a :class:`Conflict`: raise the version to change
    it (attempts keep the version they were scored against)."""
    require_role(actor, INSTRUCTOR_ROLES, "create exercises")
    ex = parse_exercise(text)
    s = uow.session
    clash = s.scalar(
        select(TrainingExercise).where(
            TrainingExercise.slug == ex.id, TrainingExercise.version == ex.version
        )
    )
    if clash is not None:
        raise Conflict(
            f"exercise {ex.id} v{ex.version} exists: raise its version to store a change"
        )
    row = TrainingExercise(
        slug=ex.id,
        version=ex.version,
        title=ex.title,
        skill=ex.skill,
        definition=text,
        created_by=None if actor is None else actor.id,
        created_at=repo.utcnow(),
        active=True,
    )
    s.add(row)
    s.flush()
    repo.audit(
        s, actor, "create", "training_exercise", row.id, ip=ip, detail=f"{ex.id} v{ex.version}"
    )
    return row


def exercise_for_attempt(
    uow: UnitOfWork, practitioner_id: int, exercise: Exercise, text: str
) -> TrainingExercise:
    """Before an attempt from the CLI (the clinic's own administration): check the practitioner
    and find the stored exercise of this id and version, storing it when new. A stored one
    that differs is a :class:`Conflict` (raise the version of the file)."""
    fetch(uow, Practitioner, practitioner_id)
    row = uow.session.scalar(
        select(TrainingExercise).where(
            TrainingExercise.slug == exercise.id, TrainingExercise.version == exercise.version
        )
    )
    if row is None:
        return save_exercise(uow, text, None, "cli")
    if exercise_of_row(row) != exercise:
        raise Conflict(
            f"exercise {exercise.id} v{exercise.version} is stored with other content: "
            "raise the version in the file"
        )
    return row


def list_exercises(uow: UnitOfWork) -> list[TrainingExercise]:
    """Every stored exercise version, by id then newest version first."""
    return list(
        uow.session.scalars(
            select(TrainingExercise).order_by(
                TrainingExercise.slug, TrainingExercise.version.desc()
            )
        )
    )


def exercise_of_row(row: TrainingExercise) -> Exercise:
    """The stored exercise, parsed again from its TOML."""
    return parse_exercise(row.definition)


def store_attempt(
    uow: UnitOfWork,
    practitioner_id: object,
    exercise_id: object,
    score: AttemptScore,
    actor: Actor | None,
    ip: str,
    *,
    on: date | None = None,
    source: str = "",
    recording: str | None = None,
) -> TrainingAttempt:
    """Store a practitioner's scored attempt at a stored exercise (the score must be of that
    exercise id and version: :class:`InputError` ``exercise_id`` otherwise)."""
    require_role(actor, INSTRUCTOR_ROLES, "record training attempts")
    pr: Practitioner = fetch(uow, Practitioner, parse_record_id(practitioner_id, "practitioner_id"))
    ex: TrainingExercise = fetch(uow, TrainingExercise, parse_record_id(exercise_id, "exercise_id"))
    if (score.exercise_id, score.exercise_version) != (ex.slug, ex.version):
        raise InputError(
            f"exercise_id: the score is of {score.exercise_id} v{score.exercise_version}, "
            f"not of {ex.slug} v{ex.version}"
        )
    row = TrainingAttempt(
        practitioner_id=pr.id,
        exercise_id=ex.id,
        taken_on=on or date.today(),
        created_at=repo.utcnow(),
        passed=score.passed,
        score=score.to_json(),
        source=source[:200],
        recording=recording,
        recorded_by=None if actor is None else actor.id,
    )
    s = uow.session
    s.add(row)
    s.flush()
    verdict = "passed" if score.passed else "failed"
    repo.audit(
        s,
        actor,
        "create",
        "training_attempt",
        row.id,
        ip=ip,
        detail=f"practitioner {pr.id}: {ex.slug} v{ex.version} {verdict}",
    )
    return row


def store_recorded_attempt(
    uow: UnitOfWork,
    practitioner_id: object,
    path: str | Path,
    actor: Actor | None,
    ip: str,
    *,
    on: date | None = None,
    source: str = "upload",
) -> TrainingAttempt:
    """Score a recorded attempt (``ashiguard train -o``) against the exercise it carries and
    store it for a practitioner. The exercise must be stored under its id and version with the
    same content (:class:`InputError` ``recording`` otherwise: store the exercise first)."""
    require_role(actor, INSTRUCTOR_ROLES, "record training attempts")
    pid = parse_record_id(practitioner_id, "practitioner_id")
    fetch(uow, Practitioner, pid)
    try:
        ex = exercise_of_recording(path)
        score = score_recording(path, ex)
    except InputError as exc:
        raise InputError(f"recording: {str(exc).replace(str(path) + ': ', '')}") from None
    except OSError:
        raise InputError("recording: not a readable recording (.h5)") from None
    row = uow.session.scalar(
        select(TrainingExercise).where(
            TrainingExercise.slug == ex.id, TrainingExercise.version == ex.version
        )
    )
    if row is None or exercise_of_row(row) != ex:
        what = "is not stored" if row is None else "is stored with other content"
        raise InputError(f"recording: its exercise {ex.id} v{ex.version} {what}: store it first")
    return store_attempt(
        uow, pid, row.id, score, actor, ip, on=on, source=source, recording=Path(path).name
    )


def attempts_of(
    uow: UnitOfWork, practitioner_id: int, actor: Actor | None = None
) -> list[TrainingAttempt]:
    """A practitioner's attempts, newest first."""
    require_role(actor, RECORD_ROLES, "read training records")
    return list(
        uow.session.scalars(
            select(TrainingAttempt)
            .where(TrainingAttempt.practitioner_id == practitioner_id)
            .order_by(TrainingAttempt.taken_on.desc(), TrainingAttempt.id.desc())
        )
    )


def set_training_policy(
    uow: UnitOfWork, text: str, actor: Actor | None, ip: str
) -> TrainingPolicy | None:
    """Set the clinic's policy (``MONTHS:SKILL,SKILL``; empty: none). Owner only."""
    require_role(actor, ("owner",), "set the training policy")
    policy = parse_training_policy(text)
    s = uow.session
    row = s.get(TrainingPolicyRow, 1)
    if row is None:
        row = TrainingPolicyRow(id=1, months=12, skills="", updated_at=repo.utcnow())
        s.add(row)
    row.months = policy.months if policy else 12
    row.skills = ",".join(policy.skills) if policy else ""
    row.updated_at = repo.utcnow()
    row.updated_by = None if actor is None else actor.id
    s.flush()
    repo.audit(s, actor, "update", "training_policy", 1, ip=ip, detail=text.strip() or "none")
    return policy


def training_policy(uow: UnitOfWork) -> TrainingPolicy | None:
    """The clinic's policy (None: no policy set)."""
    row = uow.session.get(TrainingPolicyRow, 1)
    if row is None or not row.skills:
        return None
    return TrainingPolicy(tuple(row.skills.split(",")), row.months)


def training_checks(uow: UnitOfWork, practitioner_id: int, on: date) -> tuple[Check, ...]:
    """The readiness gate's training checks for a practitioner on a day: one per skill of the
    clinic's policy, naming what is missing (none without a policy)."""
    policy = training_policy(uow)
    if policy is None:
        return ()
    rows = uow.session.scalars(
        select(TrainingAttempt).where(
            TrainingAttempt.practitioner_id == practitioner_id,
            TrainingAttempt.passed.is_(True),
        )
    )
    passes = [PassedAssessment(r.exercise.skill, r.exercise.slug, r.taken_on) for r in rows]
    return assessment_checks(policy, passes, on)


def research_attempt_rows(uow: UnitOfWork, actor: Actor | None, ip: str) -> list[dict[str, Any]]:
    """Every stored attempt, de-identified
    (:data:`~ashiguard.domain.training.ATTEMPT_CSV_COLUMNS`: no practitioner, date or file),
    in the order they were stored; audited as ``export training_attempts``."""
    from ashiguard.services.research import RESEARCH_ROLES

    require_role(actor, RESEARCH_ROLES, "export research data")
    rows = []
    attempts = uow.session.scalars(select(TrainingAttempt).order_by(TrainingAttempt.id))
    for i, a in enumerate(attempts):
        ex = exercise_of_row(a.exercise)
        rows.append(attempt_row(i + 1, ex, score_of_attempt(a)))
    repo.audit(
        uow.session, actor, "export", "training_attempts", "", ip=ip, detail=f"{len(rows)} rows"
    )
    return rows


def score_of_attempt(attempt: TrainingAttempt) -> AttemptScore:
    """The stored attempt's score (from its JSON)."""
    from ashiguard.domain.training import ForbiddenLoad

    data = attempt.score
    return AttemptScore(
        exercise_id=data["exercise"],
        exercise_version=data["exercise_version"],
        passed=data["passed"],
        reasons=tuple(data["reasons"]),
        low_kpa=data["band_kpa"][0],
        high_kpa=data["band_kpa"][1],
        scored_s=data["scored_s"],
        contact_s=data["contact_s"],
        in_band_s=data["in_band_s"],
        under_s=data["under_s"],
        over_s=data["over_s"],
        in_band_fraction=data["in_band_fraction"],
        overshoot_kpa_s=data["overshoot_kpa_s"],
        cv=data["cv"],
        mean_kpa=data["mean_kpa"],
        peak_kpa=data["peak_kpa"],
        onset_s=data["onset_s"],
        forbidden=tuple(
            ForbiddenLoad(f["zone"], f["first_t"], f["loaded_s"], f["peak_kpa"])
            for f in data["forbidden"]
        ),
        frames=data["frames"],
    )
