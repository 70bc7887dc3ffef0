"""The audit log as a hash chain: each entry stores the hash of the one before it.

Every audit entry gets its place ``seq`` (1, 2, 3, ... with no gaps), the hash of the entry
before it (``prev_hash``; the first one points at :data:`GENESIS`) and its own ``hash``, the
SHA-256 of its place, time, user, action, record, address, detail and ``prev_hash``. The
one-row table ``audit_head`` holds the newest place and hash. :func:`verify` walks the chain
and names the first entry that was edited, deleted or moved.

Notes
-----
- The places and hashes are given when the transaction that wrote the entries commits
  (``before_commit`` of every session of :class:`~ashiguard.adapters.db.Database`): one
  ``UPDATE audit_head ... RETURNING`` takes the head row's lock (PostgreSQL: a row lock;
  SQLite: the database's one write lock), so two requests auditing at once queue for those
  few statements and never fork the chain; ``seq`` is unique as well. The lock is held from
  then to the end of the commit only.
- Tamper-evident, not tamper-proof: the hashes carry no secret, so someone who can rewrite the
  whole table and its head can make a consistent forgery. ``ashiguard admin verify-audit``
  prints the head (place and hash); a copy of it kept elsewhere (printed, mailed) shows such
  a rewrite, and also entries deleted at the very end together with the head.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ashiguard.adapters.db.models import AuditEntry, AuditHead

__all__ = [
    "GENESIS",
    "ChainReport",
    "entry_hash",
    "install",
    "pending",
    "seal",
    "verify",
]

GENESIS = "0" * 64
_PENDING = "ashiguard_audit_pending"


def entry_hash(
    seq: int,
    at: datetime,
    user_id: int | None,
    username: str,
    action: str,
    entity: str,
    entity_id: str,
    ip: str,
    detail: str,
    prev_hash: str,
) -> str:
    """The SHA-256 (hex) of one entry's content and its link to the one before."""
    fields = [
        seq,
        at.replace(microsecond=0).isoformat(sep=" "),
        user_id,
        username,
        action,
        entity,
        entity_id,
        ip,
        detail,
        prev_hash,
    ]
    data = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _hash_of(e: Any, seq: int, prev: str) -> str:
    return entry_hash(
        seq, e.at, e.user_id, e.username, e.action, e.entity, e.entity_id, e.ip, e.detail, prev
    )


def pending(s: Session) -> list[AuditEntry]:
    """The entries this session added that wait for their place in the chain."""
    out: list[AuditEntry] = s.info.setdefault(_PENDING, [])
    return out


def _take_head(s: Session, n: int) -> tuple[int, str]:
    """Reserve ``n`` places: the newest place and hash before them (the head row locked)."""
    stmt = (
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + n)
        .returning(AuditHead.seq, AuditHead.last_hash)
    )
    row = s.execute(stmt).first()
    if row is None:  # a new or emptied database: the head starts from the newest entry
        last = s.execute(
            select(AuditEntry.seq, AuditEntry.hash)
            .where(AuditEntry.seq.is_not(None))
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).first()
        dialect = s.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        # two first writers at once: one row goes in, the other waits for it and moves on
        s.execute(
            insert(AuditHead)
            .values(id=1, seq=last[0] if last else 0, last_hash=last[1] if last else GENESIS)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        row = s.execute(stmt).one()
    seq, last_hash = row
    return int(seq) - n, str(last_hash)


def seal(s: Session) -> None:
    """Give this session's new entries their places and hashes (called before it commits)."""
    entries = s.info.pop(_PENDING, None)
    if not entries:
        return
    before, prev = _take_head(s, len(entries))
    for i, e in enumerate(entries, start=1):
        e.seq = before + i
        e.prev_hash = prev
        e.hash = prev = _hash_of(e, e.seq, e.prev_hash)
    s.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=prev))


def _forget(s: Session, *_: Any) -> None:
    s.info.pop(_PENDING, None)


def install(factory: Any) -> None:
    """Seal the audit entries of every session of ``factory`` when it commits."""
    from sqlalchemy import event

    event.listen(factory, "before_commit", seal)
    event.listen(factory, "after_rollback", _forget)


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify` found: how many entries check, the head, and the first problem."""

    checked: int
    head_seq: int
    head_hash: str
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def _describe(e: Any) -> str:
    return f"entry {e.seq} (id {e.id}, {e.at:%Y-%m-%d %H:%M:%S} {e.username} {e.action})"


def verify(s: Session) -> ChainReport:
    """Walk the chain from the first entry; stop at the first one that does not check."""
    head = s.execute(select(AuditHead.seq, AuditHead.last_hash).where(AuditHead.id == 1)).first()
    head_seq, head_hash = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    loose = s.scalar(select(AuditEntry.id).where(AuditEntry.seq.is_(None)).limit(1))
    expected, prev, checked = 1, GENESIS, 0

    def report(problem: str) -> ChainReport:
        return ChainReport(checked, head_seq, head_hash, problem)

    rows = s.execute(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=500))
    try:  # a server-side cursor on PostgreSQL: closed also when the walk stops early
        for e in rows.scalars():
            if e.seq is None:
                continue
            if e.seq > expected:
                return report(f"entry {expected} is missing: deleted (the next one is {e.seq})")
            if e.seq < expected:
                return report(f"{_describe(e)} is there twice: copied or moved")
            if e.hash != _hash_of(e, e.seq, e.prev_hash or ""):
                return report(f"{_describe(e)} does not match its hash: edited or moved")
            if e.prev_hash != prev:
                return report(
                    f"{_describe(e)} does not follow entry {e.seq - 1}: an entry before it "
                    "was edited, moved or replaced"
                )
            prev, expected, checked = e.hash, expected + 1, checked + 1
    finally:
        rows.close()
    if loose is not None:
        return report(f"entry id {loose} has no place in the chain: added outside the app")
    last = expected - 1
    if head_seq > last:
        return report(
            f"entries {last + 1} to {head_seq} are missing: deleted at the end of the log"
        )
    if head_seq < last or (last and head_hash != prev):
        return report(f"entry {last} does not match the chain's head: edited, or head changed")
    return report("")
