"""audit log as a hash chain: place, previous hash and hash per entry, the chain's head;
existing entries are chained in the order they were written

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 23:20:00
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _hash(seq, at, user_id, username, action, entity, entity_id, ip, detail, prev):
    # a frozen copy of adapters/db/audit_chain.entry_hash (a migration must not change later)
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
        prev,
    ]
    data = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_seq"), ["seq"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    conn = op.get_bind()
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime()),
        sa.column("user_id", sa.Integer()),
        *(sa.column(c, sa.String()) for c in ("username", "action", "entity", "entity_id", "ip")),
        sa.column("detail", sa.Text()),
        sa.column("seq", sa.Integer()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    rows = conn.execute(
        sa.select(
            log.c.id,
            log.c.at,
            log.c.user_id,
            log.c.username,
            log.c.action,
            log.c.entity,
            log.c.entity_id,
            log.c.ip,
            log.c.detail,
        ).order_by(log.c.id)
    ).all()
    prev, seq = GENESIS, 0
    for r in rows:
        seq += 1
        h = _hash(
            seq, r.at, r.user_id, r.username, r.action, r.entity, r.entity_id, r.ip, r.detail, prev
        )
        conn.execute(sa.update(log).where(log.c.id == r.id).values(seq=seq, prev_hash=prev, hash=h))
        prev = h
    conn.execute(sa.insert(head).values(id=1, seq=seq, last_hash=prev))


def downgrade() -> None:
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_log_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
