"""Users of the web app (agents, supervisors, admins).

Revision ID: 0004_users
Revises: 0003_audit
Create Date: 2026-12-05

Plain SQLAlchemy types, as in 0001, so this revision never changes when the
model does. Users are disabled, never deleted: their names stay in the audit log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_users"
down_revision = "0003_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("users")
