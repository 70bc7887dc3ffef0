"""physicians' clearances of clients, with the letter stored under DATA_DIR/uploads

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 23:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clearances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("screening_id", sa.Integer(), nullable=True),
        sa.Column("physician_name", sa.String(length=200), nullable=False),
        sa.Column("practice", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("cleared_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("restrictions", sa.Text(), nullable=False),
        sa.Column("letter_path", sa.String(length=100), nullable=False),
        sa.Column("letter_type", sa.String(length=40), nullable=False),
        sa.Column("letter_name", sa.String(length=200), nullable=False),
        sa.Column("letter_bytes", sa.Integer(), nullable=False),
        sa.Column("letter_sha256", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_clearances_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["screening_id"], ["screenings.id"], name=op.f("fk_clearances_screening_id_screenings")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_clearances_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearances")),
    )
    with op.batch_alter_table("clearances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clearances_client_id"), ["client_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("clearances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clearances_client_id"))
    op.drop_table("clearances")
