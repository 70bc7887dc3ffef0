"""SOAP notes of treatment sessions, their addenda, and the clinic's note templates

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 00:00:00

The plain ``treatment_sessions.notes`` column stays as it is (shown as "Other notes"):
nothing of a signed session is moved or rewritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "soap_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("subjective", sa.Text(), nullable=False),
        sa.Column("objective_measured", sa.Text(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("pain_before", sa.Integer(), nullable=True),
        sa.Column("pain_after", sa.Integer(), nullable=True),
        sa.Column("template_name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_soap_notes_session_id_treatment_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_soap_notes_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_soap_notes")),
        sa.UniqueConstraint("session_id", name=op.f("uq_soap_notes_session_id")),
    )
    op.create_table(
        "note_addenda",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("author_credential", sa.String(length=300), nullable=False),
        sa.Column("signed_as", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_note_addenda_session_id_treatment_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_note_addenda_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_addenda")),
    )
    with op.batch_alter_table("note_addenda", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_note_addenda_session_id"), ["session_id"], unique=False
        )
    op.create_table(
        "note_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("subjective", sa.Text(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_note_templates_name")),
    )


def downgrade() -> None:
    op.drop_table("note_templates")
    with op.batch_alter_table("note_addenda", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_addenda_session_id"))
    op.drop_table("note_addenda")
    op.drop_table("soap_notes")
