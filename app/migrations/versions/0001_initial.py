"""Initial schema: cases with their attempts and events; the agency directory.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Written with plain SQLAlchemy types so this revision never changes when the
models do. Timestamps are ``timestamptz`` on PostgreSQL; on SQLite they are
UTC text (see ``app.db.UtcDateTime``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket", sa.String(40), nullable=False, unique=True),
        sa.Column("line", sa.String(8), nullable=False, index=True),
        sa.Column("caller_number", sa.String(64)),
        sa.Column("channel_id", sa.String(128), index=True),
        sa.Column("language", sa.String(8)),
        sa.Column("category", sa.String(32)),
        sa.Column("district", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("disposition", sa.String(32)),
        sa.Column("ivr_end_reason", sa.String(64)),
        sa.Column("received_at", WHEN, nullable=False, index=True),
        sa.Column("ivr_completed_at", WHEN),
        sa.Column("forwarded_at", WHEN),
        sa.Column("agency_answered_at", WHEN),
        sa.Column("ended_at", WHEN),
        sa.Column("recording", sa.String(255)),
        sa.Column("answered_by_unit", sa.String(64)),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(64)),
        sa.Column("dial", sa.String(512), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("ringing_at", WHEN),
        sa.Column("answered_at", WHEN),
        sa.Column("ended_at", WHEN),
        sa.Column("outcome", sa.String(16)),
    )
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON()),
    )
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("agency", sa.String(64), sa.ForeignKey("agencies.id"), nullable=False, index=True),
        sa.Column("districts", sa.JSON(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("dial", sa.String(200), nullable=False),
        sa.Column("ring_timeout", sa.Integer(), nullable=False),
    )
    op.create_table(
        "directory_parts",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("body", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    for table in ("directory_parts", "units", "agencies", "case_events", "attempts", "cases"):
        op.drop_table(table)
