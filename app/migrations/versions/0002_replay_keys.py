"""Keys for replaying journalled writes: event op ids, attempt numbers unique per case.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

The call service journals every case write on local disk and applies it to
the database later, possibly twice after a crash. An event carries the id of
the journal op that wrote it (unique, NULL for events written otherwise), and
an attempt is found by its number within the case.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_events") as batch:
        batch.add_column(sa.Column("op_id", sa.String(32)))
        batch.create_unique_constraint("uq_case_events_op_id", ["op_id"])
    op.create_index("ix_attempts_case_seq", "attempts", ["case_id", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_attempts_case_seq", table_name="attempts")
    with op.batch_alter_table("case_events") as batch:
        batch.drop_constraint("uq_case_events_op_id", type_="unique")
        batch.drop_column("op_id")
