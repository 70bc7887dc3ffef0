"""who signed a treatment session: name, credential and capacity at the time of signing

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("treatment_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signer_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("signer_credential", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("signed_as", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("treatment_sessions", schema=None) as batch_op:
        batch_op.drop_column("signed_as")
        batch_op.drop_column("signer_credential")
        batch_op.drop_column("signer_name")
