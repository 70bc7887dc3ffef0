"""Training attempts run live for the web app: the same loop as ``ashiguard train``
(:func:`~ashiguard.services.training.run_attempt`: source -> :class:`AttemptScorer` ->
recording with the exercise attached), run in a thread of the web process, its latest view
kept for the page to read, and at the end the recording scored and stored in the
practitioner's training record (:func:`~ashiguard.services.training.store_recorded_attempt`).

Why not a session host: a session host runs a :class:`~ashiguard.services.live_session.
LiveSession` of a stored treatment session (client, screening, room, alarm engine, outcome
stored on the treatment session). An attempt has none of these; its only engine is the
scorer loop of ``run_attempt``, shared with the CLI. Running that loop here keeps one frame
loop for attempts (docs/training.md, "Why attempts run in the web process").
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ashiguard.adapters.db.models import Practitioner, TrainingExercise
from ashiguard.domain.errors import Conflict, DomainError, InputError, NotFound
from ashiguard.domain.training import AttemptScorer, Exercise, score_criteria
from ashiguard.domain.zone_names import zone_words
from ashiguard.services import training
from ashiguard.services.uow import Actor, UnitOfWork, fetch, parse_record_id

__all__ = [
    "KEEP_FINISHED",
    "MAX_CHANGES",
    "MAX_RUNS",
    "LiveAttempt",
    "PlannedAttempt",
    "TrainingRuns",
    "plan_live_attempt",
]

MAX_RUNS = 4
"""Attempts one web process runs at once (each is one frame loop on a shared machine)."""

KEEP_FINISHED = 100
"""Finished attempts whose view (the result page) this process keeps; older ones are
forgotten (their stored attempt stays in the record)."""

MAX_CHANGES = 200
"""Guidance changes (too light / on target / too heavy / no contact) kept per attempt."""


@dataclass(frozen=True)
class PlannedAttempt:
    """A live attempt checked and ready to start: who, which stored exercise, which source."""

    practitioner_id: int
    practitioner_name: str
    exercise_row_id: int
    exercise: Exercise
    source: str


def plan_live_attempt(
    uow: UnitOfWork,
    practitioner_id: object,
    exercise_id: object,
    source: str,
    actor: Actor | None,
    check_source: Callable[[str], str],
) -> PlannedAttempt:
    """Check a live attempt before it runs: the practitioner (active; the actor may record
    for them: :func:`~ashiguard.services.training.check_recorder`), the stored exercise
    (active) and the source (``check_source``: the session start form's checks). Each
    :class:`InputError` names its field."""
    pid = parse_record_id(practitioner_id, "practitioner_id")
    eid = parse_record_id(exercise_id, "exercise_id")
    try:
        pr: Practitioner = fetch(uow, Practitioner, pid)
    except NotFound:
        raise InputError(f"practitioner_id: no practitioner {pid}") from None
    if not pr.active:
        raise InputError(f"practitioner_id: {pr.name} is not active")
    training.check_recorder(actor, pr)
    row = uow.session.get(TrainingExercise, eid)
    if row is None or not row.active:
        raise InputError(f"exercise_id: no stored exercise {eid}")
    checked = check_source(source)
    return PlannedAttempt(pr.id, pr.name, row.id, training.exercise_of_row(row), checked)


@dataclass
class LiveAttempt:
    """One attempt running (or finished) in this process; :meth:`view` is what the page shows.

    ``status``: ``starting``, ``running``, ``scoring``, ``ended`` (stored as ``attempt_id``),
    ``error`` (``error`` says why; nothing stored).
    """

    id: str
    plan: PlannedAttempt
    actor: Actor
    recording: Path
    status: str = "starting"
    t: float = 0.0
    state: str = "idle"
    value_kpa: float | None = None
    in_band_s: float = 0.0
    overshoot_kpa_s: float = 0.0
    forbidden_now: tuple[str, ...] = ()
    frames: int = 0
    attempt_id: int | None = None
    score: dict[str, Any] | None = None
    criteria: list[dict[str, Any]] = field(default_factory=list)
    changes: list[tuple[float, str]] = field(default_factory=list)
    error: str = ""
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def on_frame(self, scorer: AttemptScorer, t: float) -> None:
        """``run_attempt``'s callback: keep the latest view (plain assignments: readers on
        other threads see one frame's values or the next one's)."""
        if not self.changes or self.changes[-1][1] != scorer.state:
            self.changes.append((round(t, 2), scorer.state))
            del self.changes[:-MAX_CHANGES]
        self.status = "running"
        self.t = t
        self.state = scorer.state
        self.value_kpa = scorer.value_kpa
        self.in_band_s = scorer.in_band_s
        self.overshoot_kpa_s = scorer.overshoot
        self.forbidden_now = scorer.forbidden_now
        self.frames += 1

    def view(self) -> dict[str, Any]:
        """The live view as JSON: band, value, state, time in band, time left, forbidden
        zones loaded now (in words); at the end the stored attempt's score and criteria."""
        ex = self.plan.exercise
        return {
            "id": self.id,
            "status": self.status,
            "exercise": ex.id,
            "version": ex.version,
            "practitioner": self.plan.practitioner_name,
            "band_kpa": [ex.low_kpa, ex.high_kpa],
            "duration_s": ex.duration_s,
            "t": round(min(self.t, ex.duration_s), 2),
            "time_left_s": round(max(0.0, ex.duration_s - self.t), 2),
            "state": self.state,
            "value_kpa": None if self.value_kpa is None else round(self.value_kpa, 1),
            "in_band_s": round(self.in_band_s, 2),
            "overshoot_kpa_s": round(self.overshoot_kpa_s, 1),
            "forbidden_now": [zone_words(z) for z in self.forbidden_now],
            "frames": self.frames,
            "attempt_id": self.attempt_id,
            "passed": None if self.score is None else self.score["passed"],
            "criteria": self.criteria,
            "changes": [{"t": t, "state": st} for t, st in list(self.changes)],
            "error": self.error,
        }


class TrainingRuns:
    """The live attempts of one web process.

    Parameters
    ----------
    new_uow : callable
        Opens a unit of work over the clinic database (the attempt is stored in its own).
    recordings_dir : Path
        Where recordings go (``training-<random>.h5``) and ``replay:NAME`` sources are found.
    speed : callable
        Pacing of simulator and replay sources, read at each start (the live sessions' speed:
        1 = real time).
    """

    def __init__(
        self,
        new_uow: Callable[[], UnitOfWork],
        recordings_dir: Path,
        speed: Callable[[], float] = lambda: 1.0,
    ) -> None:
        self.new_uow = new_uow
        self.recordings_dir = Path(recordings_dir)
        self.speed = speed
        self._runs: dict[str, LiveAttempt] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, plan: PlannedAttempt, actor: Actor, ip: str) -> LiveAttempt:
        """Start a checked attempt in a thread; :class:`Conflict` when :data:`MAX_RUNS`
        attempts run already."""
        with self._lock:
            running = [r for r in self._runs.values() if not r.done.is_set()]
            if len(running) >= MAX_RUNS:
                raise Conflict(f"{MAX_RUNS} attempts are running: wait for one to end")
            finished = [k for k, r in self._runs.items() if r.done.is_set()]
            for k in finished[: max(0, len(finished) - KEEP_FINISHED)]:  # oldest first
                del self._runs[k]
                self._threads.pop(k, None)
            run_id = secrets.token_hex(8)
            self.recordings_dir.mkdir(parents=True, exist_ok=True)
            path = self.recordings_dir / f"training-{secrets.token_hex(12)}.h5"
            run = LiveAttempt(run_id, plan, actor, path)
            self._runs[run_id] = run
            thread = threading.Thread(
                target=self._run, args=(run, ip, self.speed()), name=f"attempt-{run_id}"
            )
            self._threads[run_id] = thread
        thread.start()
        return run

    def _run(self, run: LiveAttempt, ip: str, speed: float) -> None:
        plan = run.plan
        try:
            training.run_attempt(
                plan.exercise,
                plan.source,
                run.recording,
                speed=speed,
                timeout_s=5.0,
                on_frame=run.on_frame,
                recordings_dir=self.recordings_dir,
                should_stop=run.stop.is_set,
            )
            run.status = "scoring"
            with self.new_uow() as uow:
                row = training.store_recorded_attempt(
                    uow,
                    plan.practitioner_id,
                    run.recording,
                    run.actor,
                    ip,
                    on=date.today(),
                    source=plan.source,
                )
                run.attempt_id = int(row.id)
                run.score = dict(row.score)
            score = training.score_from_json(run.score)
            run.criteria = [c.to_json() for c in score_criteria(plan.exercise, score)]
            run.status = "ended"
        except (DomainError, OSError) as exc:
            run.error = str(exc)
            run.status = "error"
            run.recording.unlink(missing_ok=True)
        except Exception as exc:  # a broken source: shown on the page, never a dead thread
            run.error = f"the attempt stopped: {type(exc).__name__}: {exc}"
            run.status = "error"
            run.recording.unlink(missing_ok=True)
        finally:
            run.done.set()

    def get(self, run_id: str) -> LiveAttempt:
        """A run of this process (:class:`NotFound` otherwise)."""
        run = self._runs.get(run_id)
        if run is None:
            raise NotFound(f"attempt run {run_id[:16]} not found (it runs in another process?)")
        return run

    def stop(self, run_id: str) -> LiveAttempt:
        """Ask a run to end now (it is scored and stored as cut short)."""
        run = self.get(run_id)
        run.stop.set()
        return run

    def wait(self, run_id: str, timeout: float) -> bool:
        """Wait until the run has ended and is stored (or failed); False on timeout."""
        return self.get(run_id).done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Stop every run and wait for them (a server shutting down)."""
        for run in list(self._runs.values()):
            run.stop.set()
        for thread in list(self._threads.values()):
            thread.join(timeout)
