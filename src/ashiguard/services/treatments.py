"""Treatment-session use cases: the readiness gate and start, stop, notes, sign, acknowledge,
and the bookkeeping of the live-session runner (context, outcome, orphans).

The frames themselves are the live-session hub's business (``app.state.live``); these
functions only read and write the ``treatment_sessions`` rows and their audit entries, in the
caller's :class:`~ashiguard.services.uow.UnitOfWork`.

Notes
-----
A session is started only when the readiness gate
(:func:`ashiguard.domain.practice.ready_to_treat`) says go for today: a refusal is audited
(``refused session``, every reason) and raised as :class:`~ashiguard.domain.errors.Refused`;
nothing else is stored. A ``clearance_required`` screening passes the gate only when current
physician clearances cover every such finding (:mod:`ashiguard.services.clearances`); the
session then runs under the screening's restrictions, and the live session reads the
screening with that effective decision (the stored screening is never rewritten).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from ashiguard.adapters.db import repo
from ashiguard.adapters.db.models import (
    Client,
    Intake,
    Practitioner,
    Room,
    Screening,
    TreatmentSession,
)
from ashiguard.domain.errors import Conflict, InputError, NotFound, Refused
from ashiguard.domain.live_messages import SessionOutcome
from ashiguard.domain.training import with_assessments
from ashiguard.services import soap_notes
from ashiguard.services.clearances import screening_as_treated, state_for
from ashiguard.services.clinic import readiness
from ashiguard.services.consent import consent_missing
from ashiguard.services.training import training_checks
from ashiguard.services.uow import (
    MAX_RECORD_ID,
    Actor,
    UnitOfWork,
    fetch,
    parse_record_id,
    require_role,
)

__all__ = [
    "CLINICAL_ROLES",
    "MAX_NOTES",
    "SessionContext",
    "acknowledge_alarm",
    "acknowledge_all_alarms",
    "create_session",
    "end_orphaned_sessions",
    "finish_session",
    "get_session",
    "left_recording",
    "live_session",
    "mark_moment",
    "read_session",
    "record_stop",
    "session_context",
    "set_notes",
    "sign_session",
    "start_session",
    "zero_sheet",
]

CLINICAL_ROLES: tuple[str, ...] = ("owner", "therapist")
"""Roles that may start, watch, review and sign treatment sessions."""
MAX_NOTES = 20000


@dataclass(frozen=True)
class SessionContext:
    """What a live session needs from the clinic record (read once, at its start).

    ``therapist_mass_kg`` in kg; ``client`` holds the intake's ``height_cm`` and ``weight_kg``
    when given; ``screening`` is the ``ashiguard.screening/1`` object; ``recording_path`` is
    where the session's recording goes (``recordings_dir/session-000042.h5``).
    """

    session_id: int
    source: str
    therapist_mass_kg: float
    client: dict[str, Any]
    screening: dict[str, Any]
    recording_path: Path
    room: str = ""


def _pick(uow: UnitOfWork, model: Any, ident: Any, field: str) -> Any:
    if isinstance(ident, str):
        if not ident.strip():
            raise InputError(f"{field}: choose one")
        ident = parse_record_id(ident, field)
    if not isinstance(ident, int) or not 1 <= ident <= MAX_RECORD_ID:
        raise InputError(f"{field}: choose one")
    row = uow.session.get(model, ident)
    if row is None:
        raise InputError(f"{field}: no such record {ident}")
    return row


def start_session(
    uow: UnitOfWork,
    *,
    client_id: int,
    practitioner_id: int | str,
    room_id: int | str,
    source: str,
    actor: Actor | None,
    ip: str,
    on: date | None = None,
    check_source: Callable[[str], str] | None = None,
) -> TreatmentSession:
    """Apply the readiness gate and, when it says go, store a ``live`` treatment session.

    Parameters
    ----------
    client_id, practitioner_id, room_id : int
        The records (a form's strings of digits are accepted for the practitioner and room).
    source : str
        The frame source (``sim:SCENARIO``, ``replay:FILE``, ``lsl:NAME``), validated with
        ``check_source`` when given (it raises :class:`InputError`).
    on : date, optional
        The day of the session (today).

    Returns
    -------
    TreatmentSession
        The new row (status ``live``); the caller commits, then starts the live session.

    Raises
    ------
    NotFound
        No such client.
    InputError
        No such practitioner or room, no screening yet, a bad source, a room without bars.
    Refused
        The gate says no (``reasons``: every failed check); the refusal is audited and
        committed before the error is raised.
    """
    require_role(actor, CLINICAL_ROLES, "start sessions")
    s = uow.session
    client: Client = fetch(uow, Client, client_id)
    pr: Practitioner = _pick(uow, Practitioner, practitioner_id, "practitioner_id")
    room: Room = _pick(uow, Room, room_id, "room_id")
    sc = repo.latest_screening(s, client.id)
    if sc is None:
        raise InputError("screening: this client has no screening; fill the intake first")
    if check_source is not None:
        source = check_source(source)
    day = on or date.today()
    cleared = state_for(s, sc, day)
    ready = with_assessments(
        readiness(pr, room, sc, day, effective=cleared.screening),
        training_checks(uow, pr.id, day),
    )
    reasons = list(ready.reasons)
    if cleared.missing:
        reasons.append(
            "clearance: no current physician clearance covers "
            + ", ".join(f"rule {r!r}" for r in cleared.missing)
            + "; record the physician's letter on the client's page"
        )
    no_consent = consent_missing(s, sc.intake_id)
    if no_consent is not None:
        reasons.append(no_consent)
    reasons += _already_live(uow, client, pr, room)
    if reasons:
        repo.audit(
            s,
            actor,
            "refused",
            "session",
            "",
            ip=ip,
            detail=f"client {client.id}: " + "; ".join(reasons),
        )
        uow.commit()
        raise Refused(f"client {client.id}: not ready to treat", reasons)
    return create_session(
        uow,
        client_id=client.id,
        practitioner_id=pr.id,
        room_id=room.id,
        screening_id=sc.id,
        source=source,
        actor=actor,
        ip=ip,
    )


def _already_live(uow: UnitOfWork, client: Client, pr: Practitioner, room: Room) -> list[str]:
    """Why a new live session would overlap one that runs (one client, one therapist and one
    room are in one live session at a time). The three rows are locked first (PostgreSQL:
    until commit; SQLite takes its write lock), so two starts at once see each other."""
    s = uow.session
    for model, ident in ((Client, client.id), (Practitioner, pr.id), (Room, room.id)):
        repo.lock_row(s, model, ident)
    live = s.scalars(
        select(TreatmentSession).where(
            TreatmentSession.status == "live",
            or_(
                TreatmentSession.client_id == client.id,
                TreatmentSession.practitioner_id == pr.id,
                TreatmentSession.room_id == room.id,
            ),
        )
    ).all()
    out = []
    for t in live:
        if t.client_id == client.id:
            out.append(f"client: {client.name} is already in a live session (session {t.id})")
        if t.practitioner_id == pr.id:
            out.append(f"therapist: {pr.name} is already in a live session (session {t.id})")
        if t.room_id == room.id:
            out.append(f"room: {room.name} is in use by a live session (session {t.id})")
    return out


def create_session(
    uow: UnitOfWork,
    *,
    client_id: int,
    practitioner_id: int,
    room_id: int,
    screening_id: int,
    source: str,
    actor: Actor | None,
    ip: str,
    audit: bool = True,
) -> TreatmentSession:
    """Store a ``live`` treatment session *without* the readiness gate (the demo's own live
    session; :func:`start_session` after its gate). Audited as ``create session`` unless
    ``audit`` is False."""
    s = uow.session
    t = TreatmentSession(
        client_id=client_id,
        practitioner_id=practitioner_id,
        room_id=room_id,
        screening_id=screening_id,
        status="live",
        source=source,
        started_at=repo.utcnow(),
        notes="",
    )
    s.add(t)
    s.flush()
    if audit:
        repo.audit(
            s, actor, "create", "session", t.id, ip=ip, detail=f"client {client_id}, {source}"
        )
    return t


def get_session(
    uow: UnitOfWork, session_id: int, *, fresh: bool = False, lock: bool = False
) -> TreatmentSession:
    """A treatment session (:class:`NotFound` when missing); ``fresh`` reloads it from the
    database (after the live-session runner stored its outcome); ``lock`` reloads it under
    its row lock (to sign it or change its notes: see ``repo.lock_treatment_session``)."""
    if lock:
        t = repo.lock_treatment_session(uow.session, session_id)
    else:
        t = uow.session.get(TreatmentSession, session_id, populate_existing=fresh)
    if t is None:
        raise NotFound(f"treatment_session {session_id} not found")
    return t


def read_session(
    uow: UnitOfWork,
    session_id: int,
    actor: Actor | None,
    ip: str,
    note: str = "",
    *,
    name_client: bool = True,
) -> TreatmentSession:
    """A treatment session, audited as ``read session`` (detail: ``client N`` unless
    ``name_client`` is False, then ``note``)."""
    require_role(actor, CLINICAL_ROLES, "view sessions")
    t = get_session(uow, session_id)
    detail = " ".join(x for x in (f"client {t.client_id}" if name_client else "", note) if x)
    repo.audit(uow.session, actor, "read", "session", t.id, ip=ip, detail=detail)
    return t


def live_session(uow: UnitOfWork, session_id: int, actor: Actor | None) -> TreatmentSession:
    """The session to stop: :class:`Conflict` unless its status is ``live``."""
    require_role(actor, CLINICAL_ROLES, "stop sessions")
    t = get_session(uow, session_id)
    if t.status != "live":
        raise Conflict(f"session {t.id} is not live (status {t.status})")
    return t


def record_stop(uow: UnitOfWork, session_id: int, actor: Actor | None, ip: str) -> None:
    """Audit that ``actor`` stopped the session (after the live-session hub stopped it)."""
    repo.audit(uow.session, actor, "update", "session", session_id, ip=ip, detail="stopped")


def acknowledge_alarm(
    uow: UnitOfWork,
    session_id: int,
    alarm_id: int,
    acknowledge: Callable[[int, int], bool],
    actor: Actor | None,
    ip: str,
) -> None:
    """Acknowledge an active alarm through ``acknowledge(session_id, alarm_id)`` (the hub's)
    and audit it; :class:`Conflict` when the alarm is not active in a running session."""
    require_role(actor, CLINICAL_ROLES, "acknowledge alarms")
    t = get_session(uow, session_id)
    if not acknowledge(t.id, alarm_id):
        raise Conflict(f"alarm_id: alarm {alarm_id} is not active in session {t.id}")
    repo.audit(
        uow.session, actor, "acknowledge", "session", t.id, ip=ip, detail=f"alarm {alarm_id}"
    )


def acknowledge_all_alarms(
    uow: UnitOfWork,
    session_id: int,
    acknowledge_all: Callable[[int], list[int]],
    actor: Actor | None,
    ip: str,
) -> list[int]:
    """Acknowledge every active alarm of a running session (``acknowledge_all(session_id)``,
    the hub's) and audit it; returns the ids (empty when none was active)."""
    require_role(actor, CLINICAL_ROLES, "acknowledge alarms")
    t = get_session(uow, session_id)
    if t.status != "live":
        raise Conflict(f"session {t.id} is not live (status {t.status})")
    ids = acknowledge_all(t.id)
    if ids:
        detail = "alarms " + ", ".join(str(i) for i in ids)
        repo.audit(uow.session, actor, "acknowledge", "session", t.id, ip=ip, detail=detail)
    return ids


def mark_moment(
    uow: UnitOfWork,
    session_id: int,
    kind: str,
    text: str,
    mark: Callable[[int, str, str, str], bool],
    actor: Actor | None,
    ip: str,
    *,
    for_client: bool = False,
) -> str:
    """Set a marker in a running session through ``mark(session_id, kind, text, who)`` (the
    hub's) and audit it; returns who it is recorded as. ``for_client``: the client pressed
    the button on the clinic's tablet (recorded as ``client``, audited as the logged-in user).

    :class:`Conflict` when the session is not running.
    """
    require_role(actor, CLINICAL_ROLES, "mark sessions")
    t = get_session(uow, session_id)
    if t.status != "live":
        raise Conflict(f"session {t.id} is not live (status {t.status})")
    who = "client" if for_client else (actor.display_name or actor.username if actor else "clinic")
    if not mark(t.id, kind, text, who):
        raise Conflict(f"session {t.id}: its live session is not running")
    repo.audit(uow.session, actor, "mark", "session", t.id, ip=ip, detail=f"{kind} by {who}")
    return who


def zero_sheet(
    uow: UnitOfWork,
    session_id: int,
    zero: Callable[[int, str], bool],
    actor: Actor | None,
    ip: str,
) -> str:
    """Ask a running session to zero its sheet again ("zero now") through
    ``zero(session_id, who)`` (the live sessions') and audit the request; returns who it is
    recorded as. The session itself refuses while the sheet is loaded (its viewers see why).

    :class:`Conflict` when the session is not running.
    """
    require_role(actor, CLINICAL_ROLES, "zero the sheet")
    t = get_session(uow, session_id)
    if t.status != "live":
        raise Conflict(f"session {t.id} is not live (status {t.status})")
    who = actor.display_name or actor.username if actor else "clinic"
    if not zero(t.id, who):
        raise Conflict(f"session {t.id}: its live session is not running")
    repo.audit(uow.session, actor, "zero", "session", t.id, ip=ip, detail=f"zero now by {who}")
    return who


def set_notes(
    uow: UnitOfWork, session_id: int, notes: str, actor: Actor | None, ip: str
) -> TreatmentSession:
    """Replace the session's notes (at most ``MAX_NOTES`` characters); :class:`Conflict` once
    it is signed."""
    require_role(actor, CLINICAL_ROLES, "write session notes")
    t = get_session(uow, session_id, lock=True)
    if t.status == "signed":
        raise Conflict(f"session {t.id} is signed: notes can no longer change")
    if len(notes) > MAX_NOTES:
        raise InputError(f"notes: at most {MAX_NOTES} characters")
    t.notes = notes
    repo.audit(uow.session, actor, "update", "session", t.id, ip=ip, detail="notes")
    return t


def sign_session(
    uow: UnitOfWork, session_id: int, notes: str | None, actor: Actor | None, ip: str
) -> TreatmentSession:
    """Sign an ended session (with its final ``notes`` when given, cut to ``MAX_NOTES``): it
    and its SOAP note cannot change afterwards (corrections are addenda,
    :func:`ashiguard.services.soap_notes.add_addendum`). :class:`Conflict` unless its status
    is ``ended``.

    Only the session's own therapist (the user linked to its practitioner) signs it, or an
    owner, who is then recorded as signing as the owner. The signer's name, credential (the
    practitioner's certificate as it stands at signing) and the time are stored with it.
    :class:`Forbidden` for anybody else.
    """
    require_role(actor, CLINICAL_ROLES, "sign sessions")
    t = get_session(uow, session_id, lock=True)
    if t.status != "ended":
        raise Conflict(f"session {t.id} cannot be signed while {t.status}")
    who = soap_notes.signer_for(uow, t, actor, "sign it")
    if notes is not None:
        t.notes = notes[:MAX_NOTES]
    soap_notes.freeze_note(uow, t)  # the note keeps the measured facts it is signed with
    t.status = "signed"
    t.signed_by = who.user_id
    t.signed_at = repo.utcnow()
    t.signed_as = who.capacity
    t.signer_name = who.name
    t.signer_credential = who.credential
    repo.audit(
        uow.session, actor, "sign", "session", t.id, ip=ip, detail=f"signed as {t.signed_as}"
    )
    return t


# ---------------------------------------------------------------- the live-session runner


def session_context(uow: UnitOfWork, session_id: int, recordings_dir: Path) -> SessionContext:
    """What the live session ``session_id`` needs, read once at its start; also sets the
    row's ``recording_path`` (``recordings/session-000042.h5``, relative to the data dir).

    :class:`NotFound` for an unknown session, :class:`Conflict` unless it is ``live``.
    """
    t = get_session(uow, session_id)
    if t.status != "live":
        raise Conflict(f"session {session_id}: no live session to run (status {t.status})")
    s = uow.session
    pr = s.get(Practitioner, t.practitioner_id)
    sc = s.get(Screening, t.screening_id)
    if pr is None or sc is None:
        raise NotFound(f"session {session_id}: its practitioner or screening is gone")
    intake = s.get(Intake, sc.intake_id)
    person = dict((intake.payload if intake else {}).get("client") or {})
    screening = screening_as_treated(s, sc, t.started_at.date())  # the record stays as it was
    name = f"session-{session_id:06d}.h5"
    t.recording_path = f"recordings/{name}"
    return SessionContext(
        session_id=session_id,
        source=t.source,
        therapist_mass_kg=pr.mass_kg,
        client={k: person[k] for k in ("height_cm", "weight_kg") if person.get(k)},
        screening=screening,
        recording_path=Path(recordings_dir) / name,
        room=t.room.name if t.room is not None else "",
    )


def finish_session(
    uow: UnitOfWork,
    session_id: int,
    outcome: SessionOutcome,
    recordings_dir: Path | None = None,
) -> None:
    """Store the outcome of a finished live session: status ``ended`` (a session signed
    meanwhile keeps its status), its alarm episodes, summary and recording metadata.

    When ``outcome.recording_bytes`` is 0 the file's size is read from ``recordings_dir``;
    a session that recorded nothing keeps no recording path. An unknown session is ignored
    (it was deleted).
    """
    t = uow.session.get(TreatmentSession, session_id)
    if t is None:
        return
    if t.status == "live":
        t.status = "ended"
        t.ended_at = repo.utcnow()
    t.alerts = list(outcome.alarms)
    t.summary = outcome.summary
    size = int(outcome.recording_bytes)
    if not size and recordings_dir is not None and t.recording_path:
        path = Path(recordings_dir) / Path(t.recording_path).name
        size = path.stat().st_size if path.is_file() else 0
    t.recording_meta = {
        "frames": int(outcome.frames),
        "bytes": size,
        "skipped_late": int(outcome.skipped_late),
        "dropped": int(outcome.dropped),
        "overflowed": int(outcome.overflowed),
        "error": outcome.error,
        "markers": [m.to_json() for m in outcome.markers],
    }
    if outcome.tare is not None:
        t.recording_meta["tare"] = outcome.tare
    if not size:
        t.recording_path = None  # nothing was recorded (the source never started)


def left_recording(
    uow: UnitOfWork, session_id: int, recordings_dir: Path
) -> tuple[Path | None, dict[str, Any] | None]:
    """The recording a session left (None: it has none) and the screening its limits came
    from: what analysing it after its runner was lost needs."""
    t = get_session(uow, session_id)
    sc = uow.session.get(Screening, t.screening_id)
    path = Path(recordings_dir) / Path(t.recording_path).name if t.recording_path else None
    return path, dict(sc.payload) if sc is not None else None


def end_orphaned_sessions(uow: UnitOfWork, is_live: Callable[[int], bool], error: str) -> list[int]:
    """Mark the sessions left ``live`` that nothing runs (``is_live(id)`` False: a stopped
    server, a lost worker) as ended, with ``error`` in their recording metadata; returns
    their ids."""
    rows = uow.session.scalars(
        select(TreatmentSession).where(TreatmentSession.status == "live")
    ).all()
    ended = []
    for t in rows:
        if is_live(t.id):
            continue
        t.status = "ended"
        t.ended_at = t.ended_at or repo.utcnow()
        t.recording_meta = {**(t.recording_meta or {}), "error": error}
        ended.append(t.id)
    return ended
