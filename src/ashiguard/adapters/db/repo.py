"""Queries and writes over the clinic tables, shared by the web pages, the API and the CLI."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from ashiguard.adapters.db import audit_chain
from ashiguard.adapters.db.models import (
    AuditEntry,
    Bar,
    BarInspection,
    Clearance,
    Client,
    Intake,
    Practitioner,
    Room,
    Screening,
    TreatmentSession,
)
from ashiguard.domain.clearance import Clearance as ClearanceView
from ashiguard.domain.clearance import clearance_state
from ashiguard.domain.errors import InputError
from ashiguard.domain.screening import parse_screening

__all__ = [
    "add_client",
    "add_intake_version",
    "add_room_with_bars",
    "audit",
    "audit_query",
    "bar_due_on",
    "bars_due",
    "certifications_expiring",
    "clients_awaiting_clearance",
    "latest_screening",
    "like_literal",
    "lock_row",
    "lock_treatment_session",
    "next_client_ref",
    "search_clients",
    "sessions_on",
    "utcnow",
]


def utcnow() -> datetime:
    """Now, as a naive UTC datetime (the database convention)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def audit(
    s: Session,
    user: Any,
    action: str,
    entity: str,
    entity_id: object = "",
    *,
    ip: str = "",
    detail: str = "",
) -> None:
    """Append one audit entry (never updated, never deleted).

    ``user`` is anything with ``id`` and ``username`` (None: an anonymous request). The entry
    takes its place in the hash chain when the transaction commits (:mod:`.audit_chain`);
    text is cut to the columns' sizes first, so the hash covers exactly what is stored.
    """
    entry = AuditEntry(
        at=utcnow(),
        user_id=user.id if user else None,
        username=(user.username if user else "-")[:80],
        action=action[:40],
        entity=entity[:40],
        entity_id=str(entity_id)[:64],
        ip=ip[:64],
        detail=detail[:2000],
    )
    s.add(entry)
    audit_chain.pending(s).append(entry)


def audit_query(q: dict[str, str]) -> Any:
    """The audit-log SELECT for the filters ``user``, ``action``, ``entity`` (each matched
    whatever its case), ``entity_id``, and ``since`` and ``until`` (dates, ``YYYY-MM-DD``; a
    bad one, or ``until`` before ``since``, raises ``InputError``)."""
    stmt = select(AuditEntry)
    for key, column in (
        ("user", AuditEntry.username),
        ("action", AuditEntry.action),
        ("entity", AuditEntry.entity),
    ):
        if q.get(key, "").strip():
            stmt = stmt.where(func.lower(column) == q[key].strip().lower())
    if q.get("entity_id"):
        stmt = stmt.where(AuditEntry.entity_id == q["entity_id"].strip())
    days: dict[str, date] = {}
    for key in ("since", "until"):
        if q.get(key):
            try:
                days[key] = date.fromisoformat(q[key])
            except ValueError:
                raise InputError(f"{key}: expected YYYY-MM-DD, got {q[key]!r}") from None
    if "since" in days and "until" in days and days["until"] < days["since"]:
        raise InputError(
            f"until: {days['until'].isoformat()} is before since {days['since'].isoformat()}"
        )
    if "since" in days:
        d = days["since"]
        stmt = stmt.where(AuditEntry.at >= datetime(d.year, d.month, d.day))
    if "until" in days and days["until"] != date.max:  # the end of the calendar: no bound
        d = days["until"]
        stmt = stmt.where(AuditEntry.at < datetime(d.year, d.month, d.day) + timedelta(days=1))
    return stmt


_LIKE = bindparam("like")
_MATCH = or_(
    func.lower(Client.name).like(_LIKE, escape="\\"),
    func.lower(Client.ref).like(_LIKE, escape="\\"),
)
# count(*), not count(id): SQLite answers it from the b-tree's page counts (about 0.01 ms for
# 5,000 clients against 0.4 ms for count(id), which reads every entry)
_COUNT_ALL = select(func.count()).select_from(Client)
_COUNT_MATCH = _COUNT_ALL.where(_MATCH)
_PAGE_ALL = (
    select(Client.id, Client.ref, Client.name, Client.birth_date, Client.sex)
    .order_by(Client.name, Client.id)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_PAGE_MATCH = _PAGE_ALL.where(_MATCH)


def search_clients(s: Session, q: str, page: int, per_page: int) -> tuple[list[Any], int]:
    """Clients whose name or reference contains ``q`` (case-insensitive), by name; and the total.

    Rows carry ``id``, ``ref``, ``name``, ``birth_date`` and ``sex`` (plain rows, no ORM objects:
    the list page is the busiest page of the app). The statements are built once and run on
    the session's connection (no per-call statement building, no ORM layer).
    """
    conn = s.connection()
    offset = (page - 1) * per_page
    params: dict[str, Any] = {"limit": per_page, "offset": offset}
    if q:
        params["like"] = f"%{like_literal(q.lower())}%"
        total = int(conn.execute(_COUNT_MATCH, params).scalar() or 0)
    else:
        total = int(conn.execute(_COUNT_ALL).scalar() or 0)
    if offset >= total:  # past the last page (also an offset too large for the database)
        return [], total
    rows = conn.execute(_PAGE_MATCH if q else _PAGE_ALL, params).all()
    return list(rows), total


def like_literal(text: str) -> str:
    """``text`` for a LIKE pattern with ``ESCAPE '\\'``: its ``%``, ``_`` and ``\\`` match
    themselves, not any characters (a search for ``100%`` finds only names with ``100%``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def next_client_ref(s: Session) -> str:
    """A fresh client reference ``c-00042`` (used as ``client.id`` in intakes), for one writer
    at a time (the demo); :func:`add_client` is safe with concurrent writers."""
    n = int(s.scalar(select(func.max(Client.id))) or 0) + 1
    return _free_ref(s, n)


def _free_ref(s: Session, n: int) -> str:
    while s.scalar(select(Client.id).where(Client.ref == f"c-{n:05d}")) is not None:
        n += 1
    return f"c-{n:05d}"


def add_client(s: Session, **fields: Any) -> Client:
    """Store a new client with a fresh reference ``c-00042`` taken from its own id, so that
    clients created at the same time never draw the same one (the row goes in first under a
    provisional unique reference; its id is the database's to allocate)."""
    client = Client(ref=f"new-{secrets.token_hex(8)}", created_at=utcnow(), **fields)
    s.add(client)
    s.flush()
    client.ref = _free_ref(s, client.id)
    s.flush()
    return client


def add_intake_version(s: Session, client: Client, payload: dict[str, Any], user: Any) -> Intake:
    """Store ``payload`` as the client's next intake version (earlier versions stay as they are)."""
    # take the client's row lock first (PostgreSQL: a row lock until commit; SQLite: the
    # database's write lock, waited for with the busy timeout): concurrent intakes of one
    # client then read the newest version one after the other, never the same one
    lock_row(s, Client, client.id)
    last = s.scalar(select(func.max(Intake.version)).where(Intake.client_id == client.id))
    intake = Intake(
        client_id=client.id,
        version=int(last or 0) + 1,
        payload=payload,
        created_at=utcnow(),
        created_by=user.id if user else None,
    )
    s.add(intake)
    s.flush()
    return intake


def lock_treatment_session(s: Session, session_id: int) -> TreatmentSession | None:
    """The treatment session, read again under its row lock (None when missing).

    PostgreSQL: a row lock until commit; SQLite: the database's write lock, waited for with
    the busy timeout. Signing and writing the note take it first, so a note saved while the
    session is being signed waits, then sees it signed (never changes it afterwards).
    """
    lock_row(s, TreatmentSession, session_id)
    return s.get(TreatmentSession, session_id, populate_existing=True)


def lock_row(s: Session, model: Any, ident: int) -> None:
    """Take the row lock of ``model`` row ``ident`` for the rest of the transaction (an
    ``UPDATE`` that changes nothing). PostgreSQL: a row lock until commit; SQLite: the
    database's write lock, waited for with the busy timeout."""
    s.execute(
        update(model)
        .where(model.id == ident)
        .values(id=model.id)
        .execution_options(synchronize_session=False)
    )


def latest_screening(s: Session, client_id: int) -> Screening | None:
    return s.scalars(
        select(Screening)
        .where(Screening.client_id == client_id)
        .order_by(Screening.id.desc())
        .limit(1)
    ).first()


def clients_awaiting_clearance(
    s: Session, on: date | None = None
) -> list[tuple[Client, Screening]]:
    """Clients whose latest screening says ``clearance_required`` and whose physician
    clearances current on ``on`` (today) do not yet cover every such finding."""
    latest = (
        select(Screening.client_id, func.max(Screening.id).label("sid"))
        .group_by(Screening.client_id)
        .subquery()
    )
    rows = s.execute(
        select(Client, Screening)
        .join(latest, latest.c.client_id == Client.id)
        .join(Screening, Screening.id == latest.c.sid)
        .where(Screening.decision == "clearance_required")
        .order_by(Client.name)
    ).all()
    ids = [c.id for c, _ in rows]
    on_file: dict[int, list[ClearanceView]] = {}
    if ids:
        for cl in s.scalars(select(Clearance).where(Clearance.client_id.in_(ids))):
            on_file.setdefault(cl.client_id, []).append(
                ClearanceView(
                    cl.id,
                    frozenset(cl.rules or ()),
                    cl.cleared_on,
                    cl.valid_until,
                    facts={k: frozenset(v) for k, v in (cl.facts or {}).items()},
                )
            )
    day = on or date.today()
    return [
        (c, sc)
        for c, sc in rows
        if c.id not in on_file
        or not clearance_state(parse_screening(sc.payload), on_file[c.id], day).cleared_by_physician
    ]


def _last_passed(bar: Bar) -> date | None:
    passed = [i.inspected_on for i in bar.inspections if i.passed]
    return max(passed) if passed else None


def bar_due_on(bar: Bar) -> date | None:
    """The day the bar's next inspection is due (None: never passed an inspection)."""
    last = _last_passed(bar)
    return None if last is None else last + timedelta(days=bar.inspection_interval_days)


def bars_due(s: Session, today: date, within_days: int = 14) -> list[tuple[Room, Bar, date | None]]:
    """Bars never inspected, or due for inspection within ``within_days``."""
    out = []
    for room in s.scalars(select(Room).order_by(Room.name)).all():
        for bar in room.bars:
            due = bar_due_on(bar)
            if due is None or due <= today + timedelta(days=within_days):
                out.append((room, bar, due))
    return out


def certifications_expiring(s: Session, today: date, within_days: int = 30) -> list[Practitioner]:
    """Active practitioners with no certification date or one expiring within ``within_days``."""
    limit = today + timedelta(days=within_days)
    return list(
        s.scalars(
            select(Practitioner)
            .where(Practitioner.active.is_(True))
            .where(
                or_(Practitioner.certified_until.is_(None), Practitioner.certified_until <= limit)
            )
            .order_by(Practitioner.certified_until)
        ).all()
    )


def sessions_on(s: Session, day: date) -> list[TreatmentSession]:
    start = datetime(day.year, day.month, day.day)
    return list(
        s.scalars(
            select(TreatmentSession)
            .where(TreatmentSession.started_at >= start)
            .where(TreatmentSession.started_at < start + timedelta(days=1))
            .order_by(TreatmentSession.started_at)
        ).all()
    )


def add_room_with_bars(
    s: Session,
    name: str,
    labels: tuple[str, ...],
    *,
    rated_load_n: float,
    inspected_on: date | None,
    inspector: str = "",
    notes: str = "",
    inspection_notes: str = "",
) -> Room:
    """A treatment room with overhead bars, each with one passed inspection on ``inspected_on``
    (``None``: never inspected); rated load in N, default interval 90 days."""
    room = Room(name=name, notes=notes)
    s.add(room)
    s.flush()
    for label in labels:
        bar = Bar(
            room_id=room.id, label=label, rated_load_n=rated_load_n, inspection_interval_days=90
        )
        s.add(bar)
        s.flush()
        if inspected_on is not None:
            s.add(
                BarInspection(
                    bar_id=bar.id,
                    inspected_on=inspected_on,
                    inspector=inspector,
                    passed=True,
                    notes=inspection_notes,
                )
            )
    s.flush()
    return room
