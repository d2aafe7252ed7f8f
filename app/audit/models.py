"""Audit entries: one row per state-changing supervisor or admin action.

Rows are only ever added. The actor is the operating-system account that
ran the command (and the person behind ``sudo``), because the CLI is today
the only way to change the directory, the schema or the prompts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entries"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UtcDateTime(), index=True)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64, index=True)  # "<area>.<verb>", e.g. "directory.load"
    target: str = Field(max_length=512)  # what was acted on: a file, a database
    detail: dict[str, Any] | None = Field(default=None, sa_type=JSON)
