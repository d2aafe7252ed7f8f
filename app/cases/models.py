"""Cases: one row per call, its forwarding attempts, and a timeline of events.

A case row is written the moment a call arrives, before anything else can
fail, so every call leaves a trace. Units are referenced by id as plain text:
the history must survive a unit being removed from the directory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, false
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime

LINES = ("112", "14084")
LANGUAGES = ("id", "en")
STATUSES = ("in-ivr", "queued", "forwarding", "connected", "fallback", "ended")
DISPOSITIONS = (
    "completed",
    "abandoned-in-ivr",
    "abandoned-in-queue",
    "abandoned-while-forwarding",
    "fallback",
    "failed",
)
OUTCOMES = ("ringing", "answered", "busy", "no-answer", "failed", "cancelled")
WORKFLOWS = ("new", "taken", "dispatched", "agency-answered", "closed")  # a call-taker's steps, in order
# Categories and districts are not listed here: the directory (data) defines them.


def _when(**kwargs: Any):
    return Field(default=None, sa_type=UtcDateTime(), **kwargs)


class CaseBase(SQLModel):
    line: str = Field(max_length=8, index=True)
    caller_number: str | None = Field(default=None, max_length=64, index=True)  # earlier calls from it (0005)
    channel_id: str | None = Field(default=None, max_length=128, index=True)
    language: str | None = Field(default=None, max_length=8)
    category: str | None = Field(default=None, max_length=32)
    district: str | None = Field(default=None, max_length=32)
    status: str = Field(default="in-ivr", max_length=16, index=True)
    disposition: str | None = Field(default=None, max_length=32)
    ivr_end_reason: str | None = Field(default=None, max_length=64)
    received_at: datetime = Field(sa_type=UtcDateTime(), index=True)
    ivr_completed_at: datetime | None = _when()
    forwarded_at: datetime | None = _when()
    agency_answered_at: datetime | None = _when()
    ended_at: datetime | None = _when()
    recording: str | None = Field(default=None, max_length=255)  # relative to recordings/
    answered_by_unit: str | None = Field(default=None, max_length=64)
    # A call-taker's work on the case (0005): who took the call, what they made of it, when they closed it.
    agent: str | None = Field(default=None, max_length=64, index=True)
    taken_at: datetime | None = _when()
    dispatched_at: datetime | None = _when()
    dispatched_unit: str | None = Field(default=None, max_length=64)
    classification: str | None = Field(default=None, max_length=32, index=True)  # cases.classifications
    workflow: str = Field(default="new", max_length=24, index=True, sa_column_kwargs={"server_default": "new"})
    silent: bool = Field(default=False, sa_column_kwargs={"server_default": false()})  # pressed nothing in the IVR
    closed_at: datetime | None = _when()
    closed_by: str | None = Field(default=None, max_length=64)


class Case(CaseBase, table=True):
    __tablename__ = "cases"

    id: int | None = Field(default=None, primary_key=True)
    ticket: str = Field(max_length=40, unique=True)


class AttemptBase(SQLModel):
    seq: int
    unit: str = Field(max_length=64)  # unit id, or the fallback group's name
    agency: str | None = Field(default=None, max_length=64)
    dial: str = Field(max_length=512)  # everything dialled at once, "&"-joined for a group
    started_at: datetime = Field(sa_type=UtcDateTime())
    ringing_at: datetime | None = _when()
    answered_at: datetime | None = _when()
    ended_at: datetime | None = _when()
    outcome: str | None = Field(default=None, max_length=16)


class Attempt(AttemptBase, table=True):
    __tablename__ = "attempts"
    # Replayed writes find an attempt by its number in the case (see 0002).
    __table_args__ = (Index("ix_attempts_case_seq", "case_id", "seq", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True, ondelete="CASCADE")


class CaseEventBase(SQLModel):
    at: datetime = Field(sa_type=UtcDateTime())
    kind: str = Field(max_length=64)
    detail: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class CaseEvent(CaseEventBase, table=True):
    __tablename__ = "case_events"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True, ondelete="CASCADE")
    op_id: str | None = Field(default=None, max_length=32, unique=True)  # the journal op that wrote it


class AttemptPublic(AttemptBase):
    pass


class CaseEventPublic(CaseEventBase):
    pass


class CasePublic(CaseBase):
    ticket: str
    attempts: list[AttemptPublic] = []
    events: list[CaseEventPublic] | None = None  # only when asked for (``cases show``)
