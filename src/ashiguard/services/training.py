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
from ashiguard.domain.errors import Conflict, Forbidden, InputError
from ashiguard.domain.practice import Check
from ashiguard.domain.training import (
    AttemptScore,
    AttemptScorer,
    Exercise,
    PassedAssessment,
    SkillStanding,
    TrainingPolicy,
    assessment_checks,
    attempt_row,
    parse_exercise,
    parse_training_policy,
    skill_standing,
)
from ashiguard.services.uow import Actor, UnitOfWork, fetch, parse_record_id, require_role

__all__ = [
    "INSTRUCTOR_ROLES",
    "PARQUET_TYPES",
    "RECORD_ROLES",
    "AttemptRun",
    "ClassOverview",
    "ClassRow",
    "Progress",
    "ProgressReport",
    "attempts_of",
    "attempts_parquet",
    "attempts_progress",
    "check_recorder",
    "class_overview",
    "exercise_for_attempt",
    "exercise_of_recording",
    "exercise_of_row",
    "is_self_recorded",
    "list_exercises",
    "progress_report",
    "progress_report_pdf",
    "research_attempt_rows",
    "run_attempt",
    "save_exercise",
    "score_from_json",
    "score_of_attempt",
    "score_recording",
    "sensor_seconds",
    "sensor_time_words",
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
    recordings_dir: Path | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AttemptRun:
    """Run an attempt from a frame source spec (``sim:good_student``, ``replay:FILE``,
    ``lsl:NAME``) for the exercise's duration; record it to ``output`` when given.

    ``on_frame(scorer, t)`` is called after every frame (``t`` s since the first frame): the
    live view reads the scorer's ``value_kpa``, ``state``, ``in_band_s``, ``forbidden_now``.
    ``replay:NAME`` names a recording in ``recordings_dir`` when one is given (the clinic's
    sources), else a path. ``should_stop()`` is asked after every frame: True ends the
    attempt there (a Stop button; the score then says it was cut short).
    """
    from ashiguard.adapters.recording import RecordingWriter
    from ashiguard.domain.zones import ZONES
    from ashiguard.services.session_process import open_live_source

    src = open_live_source(
        source,
        speed=speed,
        seed=seed,
        duration_s=exercise.duration_s,
        timeout_s=timeout_s,
        recordings_dir=recordings_dir,
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
            if should_stop is not None and should_stop():
                break
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


def check_recorder(actor: Actor | None, practitioner: Practitioner) -> None:
    """Who may record an attempt for ``practitioner``: an owner or instructor for anyone, a
    therapist for their own practitioner record only (practice: :func:`is_self_recorded`);
    :class:`Forbidden` otherwise."""
    if actor is None or actor.role in INSTRUCTOR_ROLES:
        return
    if actor.role == "therapist" and practitioner.user_id == actor.id:
        return
    if actor.role == "therapist":
        raise Forbidden("role 'therapist' may record training attempts for themselves only")
    require_role(actor, INSTRUCTOR_ROLES, "record training attempts")


def is_self_recorded(attempt: TrainingAttempt, practitioner: Practitioner) -> bool:
    """Whether the practitioner recorded this attempt themselves (logged in as their own
    user): practice, shown in the record but never an assessment for the clinic's policy."""
    return attempt.recorded_by is not None and attempt.recorded_by == practitioner.user_id


def sensor_seconds(attempts: Sequence[TrainingAttempt]) -> float:
    """Time on the sensor: the scored stream time of the attempts summed, s."""
    return float(sum(float(a.score.get("scored_s") or 0.0) for a in attempts))


def sensor_time_words(seconds: float) -> str:
    """Time on the sensor as people read it: hours, and minutes when under 2 hours
    (``0.05 h (3.0 min)``)."""
    text = f"{seconds / 3600:.2f} h"
    minutes = seconds / 60
    if minutes < 10:
        text += f" ({minutes:.1f} min)"
    elif minutes < 120:
        text += f" ({minutes:.0f} min)"
    return text


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
    pr: Practitioner = fetch(uow, Practitioner, parse_record_id(practitioner_id, "practitioner_id"))
    check_recorder(actor, pr)
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
    pid = parse_record_id(practitioner_id, "practitioner_id")
    check_recorder(actor, fetch(uow, Practitioner, pid))
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
    return assessment_checks(policy, _passes(uow, practitioner_id), on)


def _passes(uow: UnitOfWork, practitioner_id: int) -> list[PassedAssessment]:
    """The practitioner's passed assessments (self-recorded practice left out)."""
    pr = uow.session.get(Practitioner, practitioner_id)
    rows = uow.session.scalars(
        select(TrainingAttempt).where(
            TrainingAttempt.practitioner_id == practitioner_id,
            TrainingAttempt.passed.is_(True),
        )
    )
    return [
        PassedAssessment(r.exercise.skill, r.exercise.slug, r.taken_on)
        for r in rows
        if pr is None or not is_self_recorded(r, pr)
    ]


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
    return score_from_json(attempt.score)


def score_from_json(data: dict[str, Any]) -> AttemptScore:
    """A score from its JSON (:meth:`AttemptScore.to_json`)."""
    from ashiguard.domain.training import ForbiddenLoad

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


# -- a student's progress report, the instructor's class overview, the researchers' Parquet


@dataclass(frozen=True)
class ProgressReport:
    """What a student's progress report shows (:func:`progress_report`).

    ``attempts`` are oldest first, each a dict: ``day``, ``exercise``, ``version``, ``title``,
    ``skill``, ``passed``, ``practice`` (self-recorded), ``score`` (the score's JSON);
    ``scores`` the same attempts' :class:`AttemptScore` (for the plot); ``standings`` one per
    skill tried or asked for; ``checks`` the policy's checks on ``on``; ``sensor_s`` the time on
    the sensor (s).
    """

    practitioner: dict[str, Any]
    on: date
    policy: TrainingPolicy | None
    attempts: tuple[dict[str, Any], ...]
    scores: tuple[AttemptScore, ...]
    standings: tuple[SkillStanding, ...]
    checks: tuple[Check, ...]
    sensor_s: float


def _standings(
    attempts: Sequence[TrainingAttempt],
    pr: Practitioner,
    skills: Sequence[str],
    policy: TrainingPolicy | None,
    on: date,
) -> dict[str, SkillStanding]:
    out = {}
    for skill in skills:
        mine = [a for a in attempts if a.exercise.skill == skill and not is_self_recorded(a, pr)]
        passes = [PassedAssessment(skill, a.exercise.slug, a.taken_on) for a in mine if a.passed]
        fails = [a.taken_on for a in mine if not a.passed]
        out[skill] = skill_standing(skill, passes, fails, policy, on)
    return out


def _skills(policy: TrainingPolicy | None, more: Sequence[str]) -> tuple[str, ...]:
    from ashiguard.domain.training import SKILLS

    asked = policy.skills if policy is not None else ()
    rest = [k for k in SKILLS if k in set(more) and k not in asked]
    return (*asked, *rest)


def progress_report(
    uow: UnitOfWork, practitioner_id: object, actor: Actor | None, on: date | None = None
) -> ProgressReport:
    """A student's progress report: who, every attempt, the standing per skill, the time on
    the sensor and the policy's checks (read by owner, instructor, therapist)."""
    require_role(actor, RECORD_ROLES, "read training records")
    pr: Practitioner = fetch(uow, Practitioner, parse_record_id(practitioner_id, "practitioner_id"))
    day = on or date.today()
    attempts = list(reversed(attempts_of(uow, pr.id, actor)))
    policy = training_policy(uow)
    skills = _skills(policy, [a.exercise.skill for a in attempts])
    standings = _standings(attempts, pr, skills, policy, day)
    rows = tuple(
        {
            "day": a.taken_on,
            "exercise": a.exercise.slug,
            "version": a.exercise.version,
            "title": a.exercise.title,
            "skill": a.exercise.skill,
            "passed": a.passed,
            "practice": is_self_recorded(a, pr),
            "score": a.score,
        }
        for a in attempts
    )
    who = {
        "id": pr.id,
        "name": pr.name,
        "technique": pr.technique,
        "certification": pr.certification,
        "certified_on": pr.certified_on,
        "certified_until": pr.certified_until,
        "training_hours": pr.training_hours,
    }
    return ProgressReport(
        practitioner=who,
        on=day,
        policy=policy,
        attempts=rows,
        scores=tuple(score_of_attempt(a) for a in attempts),
        standings=tuple(standings.values()),
        checks=training_checks(uow, pr.id, day),
        sensor_s=sensor_seconds(attempts),
    )


@dataclass(frozen=True)
class ClassRow:
    """One practitioner of the class overview: their standing per skill of the overview,
    their attempts (count) and time on the sensor (s)."""

    practitioner_id: int
    name: str
    standings: dict[str, SkillStanding]
    attempts: int
    sensor_s: float


@dataclass(frozen=True)
class ClassOverview:
    """The class on a day: ``skills`` (the policy's first, then every other skill of a stored
    exercise), one :class:`ClassRow` per active practitioner, by name."""

    on: date
    policy: TrainingPolicy | None
    skills: tuple[str, ...]
    rows: tuple[ClassRow, ...]


def class_overview(uow: UnitOfWork, actor: Actor | None, on: date | None = None) -> ClassOverview:
    """Every active practitioner x skill: passed (day), expiring or expired against the
    clinic's policy, failed attempts, not attempted; plus hours on the sensor. Owner and
    instructor (the class's teachers)."""
    require_role(actor, INSTRUCTOR_ROLES, "see the class overview")
    day = on or date.today()
    policy = training_policy(uow)
    skills = _skills(policy, [e.skill for e in list_exercises(uow)])
    rows = []
    people = uow.session.scalars(
        select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.name)
    )
    for pr in people:
        attempts = attempts_of(uow, pr.id, actor)
        rows.append(
            ClassRow(
                pr.id,
                pr.name,
                _standings(attempts, pr, skills, policy, day),
                len(attempts),
                sensor_seconds(attempts),
            )
        )
    return ClassOverview(day, policy, skills, tuple(rows))


PARQUET_TYPES: dict[str, str] = {
    "attempt": "int64",
    "exercise": "string",
    "exercise_version": "int64",
    "skill": "string",
    "technique": "string",
    "contact": "string",
    "low_kpa": "float64",
    "high_kpa": "float64",
    "duration_s": "float64",
    "passed": "bool",
    "in_band_s": "float64",
    "in_band_fraction": "float64",
    "overshoot_kpa_s": "float64",
    "cv": "float64",
    "onset_s": "float64",
    "mean_kpa": "float64",
    "peak_kpa": "float64",
    "forbidden_zones": "string",
    "forbidden_s": "float64",
    "reasons": "string",
}
"""Column types of the de-identified attempts as Parquet (the CSV's columns; ``passed`` a
boolean, empty numbers null)."""


def attempts_parquet(rows: Sequence[dict[str, Any]]) -> bytes:
    """The de-identified attempt rows (:func:`research_attempt_rows`) as a Parquet file."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from ashiguard.domain.training import ATTEMPT_CSV_COLUMNS

    def value(col: str, v: Any) -> Any:
        if col == "passed":
            return v == "yes"
        if v == "" and PARQUET_TYPES[col] != "string":
            return None
        return v

    arrays = {
        col: pa.array(
            [value(col, r[col]) for r in rows], type=pa.type_for_alias(PARQUET_TYPES[col])
        )
        for col in ATTEMPT_CSV_COLUMNS
    }
    buf = io.BytesIO()
    pq.write_table(pa.table(arrays), buf)
    return buf.getvalue()


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * float(v):.0f} %"


def _num(v: Any, unit: str = "", spec: str = ".1f") -> str:
    return "-" if v is None else f"{format(float(v), spec)}{unit}"


def progress_report_pdf(report: ProgressReport) -> bytes:
    """The student's progress report as a PDF (``adapters/training_plot.py``): name,
    credentials, the policy and its checks, the standing per skill, the hours on the sensor,
    every attempt with its scores, and the progress plot; in the clinic's words."""
    import io

    from ashiguard.adapters.training_plot import PdfTable, progress_pdf
    from ashiguard.domain.training import plain_words, skill_words

    who = report.practitioner
    cert = who["certification"] or "no certification recorded"
    if who["certified_on"] is not None:
        cert += f", certified on {who['certified_on'].isoformat()}"
    if who["certified_until"] is not None:
        cert += f", valid until {who['certified_until'].isoformat()}"
    passed = sum(1 for a in report.attempts if a["passed"])
    lines = [
        f"Practitioner: {who['name']} (record {who['id']})",
        f"Technique: {who['technique']}",
        f"Credentials: {cert}",
        f"Training hours on record: {float(who['training_hours']):g} h",
        f"Hours on the sensor: {sensor_time_words(report.sensor_s)} "
        f"({len(report.attempts)} attempts, {passed} passed)",
        f"Report of {report.on.isoformat()}",
        "",
    ]
    if report.policy is None:
        lines.append("Clinic policy: none (the readiness gate asks nothing of training).")
    else:
        asked = ", ".join(skill_words(k) for k in report.policy.skills)
        lines.append(
            f"Clinic policy: a passed assessment within {report.policy.months} months "
            f"for each of: {asked}."
        )
        lines.append("Training checks against the policy today:")
        for c in report.checks:
            lines.append(f"    {'ok' if c.ok else 'MISSING'}: {plain_words(c.detail)}")
    lines.append("")
    lines.append("Attempts the practitioner recorded alone are practice: they never count")
    lines.append("as an assessment for the policy.")
    states = {
        "passed": "passed",
        "expiring": "passed, expiring soon",
        "expired": "expired",
        "failed": "failed so far",
        "not_attempted": "not attempted",
    }
    skill_rows = []
    for st in report.standings:
        attempts = [a for a in report.attempts if a["skill"] == st.skill]
        skill_rows.append(
            (
                skill_words(st.skill),
                "yes" if st.required else "no",
                states[st.state],
                str(sum(1 for a in attempts if a["passed"] and not a["practice"])),
                str(sum(1 for a in attempts if not a["passed"])),
                "-" if st.last_passed is None else st.last_passed.isoformat(),
                "-" if st.valid_until is None else st.valid_until.isoformat(),
            )
        )
    skills = PdfTable(
        "Passes per skill",
        ("Skill", "Policy asks", "Standing", "Passes", "Failed", "Last passed", "Valid until"),
        tuple(skill_rows),
    )
    attempt_rows = []
    reason_rows = []
    for n, a in enumerate(report.attempts, start=1):
        sc = a["score"]
        verdict = "passed" if a["passed"] else "failed"
        for reason in sc.get("reasons") or []:
            reason_rows.append((str(n), a["day"].isoformat(), plain_words(reason)))
        attempt_rows.append(
            (
                str(n),
                a["day"].isoformat(),
                f"{a['exercise']} v{a['version']}",
                skill_words(a["skill"]),
                verdict + (" (practice)" if a["practice"] else ""),
                _pct(sc.get("in_band_fraction")),
                _num(sc.get("overshoot_kpa_s"), " kPa·s", ".0f"),
                _num(sc.get("cv"), "", ".2f"),
                _num(sc.get("onset_s"), " s"),
                _num(sc.get("scored_s"), " s"),
            )
        )
    attempts = PdfTable(
        "Attempts, oldest first",
        (
            "#",
            "Date",
            "Exercise",
            "Skill",
            "Result",
            "In band",
            "Overshoot",
            "Variation",
            "Onset",
            "Length",
        ),
        tuple(attempt_rows),
        (0.05, 0.11, 0.2, 0.13, 0.15, 0.07, 0.09, 0.07, 0.06, 0.07),
    )
    reasons = PdfTable(
        "Why attempts failed (by attempt #)",
        ("#", "Date", "Reason"),
        tuple(reason_rows),
        (0.05, 0.12, 0.83),
    )
    buf = io.BytesIO()
    progress_pdf(
        buf,
        f"Training progress: {who['name']}",
        lines,
        (skills, attempts, reasons),
        report.scores,
        [a["day"].isoformat() for a in report.attempts],
    )
    return buf.getvalue()
