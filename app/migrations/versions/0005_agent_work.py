"""A call-taker's work on a case: who took it, its classification, its workflow step, when it was closed.

Revision ID: 0005_agent_work
Revises: 0004_users
Create Date: 2026-12-06

Plain SQLAlchemy types, as in 0001, so this revision never changes when the
model does. Existing cases get workflow 'new' and silent false from the server
defaults; every other new column is NULL for them. The caller number gets an
index because a ringing case shows the earlier calls from its number.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_agent_work"
down_revision = "0004_users"
branch_labels = None
depends_on = None

INDEXED = ("agent", "classification", "workflow", "caller_number")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("agent", sa.String(64)))
        batch.add_column(sa.Column("taken_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("dispatched_unit", sa.String(64)))
        batch.add_column(sa.Column("classification", sa.String(32)))
        batch.add_column(sa.Column("workflow", sa.String(24), nullable=False, server_default="new"))
        batch.add_column(sa.Column("silent", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("closed_by", sa.String(64)))
    for column in INDEXED:
        op.create_index(f"ix_cases_{column}", "cases", [column])


def downgrade() -> None:
    for column in INDEXED:
        op.drop_index(f"ix_cases_{column}", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        for column in (
            "closed_by",
            "closed_at",
            "silent",
            "workflow",
            "classification",
            "dispatched_unit",
            "dispatched_at",
            "taken_at",
            "agent",
        ):
            batch.drop_column(column)
