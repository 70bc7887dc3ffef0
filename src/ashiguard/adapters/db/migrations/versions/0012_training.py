"""training mode: exercises (versioned), practitioners' scored attempts, the clinic's policy

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-06 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_exercises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("skill", sa.String(length=40), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_training_exercises_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_exercises")),
        sa.UniqueConstraint("slug", "version", name=op.f("uq_training_exercises_slug")),
    )
    with op.batch_alter_table("training_exercises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_exercises_slug"), ["slug"], unique=False)
    op.create_table(
        "training_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("recording", sa.String(length=500), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_training_attempts_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["training_exercises.id"],
            name=op.f("fk_training_attempts_exercise_id_training_exercises"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_training_attempts_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_attempts")),
    )
    with op.batch_alter_table("training_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_attempts_practitioner_id"), ["practitioner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_attempts_exercise_id"), ["exercise_id"], unique=False
        )
    op.create_table(
        "training_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("skills", sa.String(length=400), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_training_policy_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_policy")),
    )


def downgrade() -> None:
    op.drop_table("training_policy")
    with op.batch_alter_table("training_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_attempts_exercise_id"))
        batch_op.drop_index(batch_op.f("ix_training_attempts_practitioner_id"))
    op.drop_table("training_attempts")
    with op.batch_alter_table("training_exercises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_exercises_slug"))
    op.drop_table("training_exercises")
