"""Cases written the simple way, one committed op at a time: for tests that need cases in a database.

Production writes cases through the call service's journal and ``app.cases.bulk``;
these are the straightforward ORM writers that came before it, kept as the
tests' way to set up a case history (and as the reference ``update_case_as``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, func, select

from app.cases.models import LINES, Attempt, Case, CaseEvent
from app.cases.service import _ATTEMPT_FIELDS, _CASE_FIELDS, _checked, _require, make_ticket
from app.clock import as_utc, utcnow
from app.db import begin_write


def open_case(
    session: Session,
    *,
    line: str,
    caller_number: str | None,
    channel_id: str | None,
    received_at: datetime | None = None,
) -> Case:
    if line not in LINES:
        raise ValueError(f"line {line!r} is not one of {', '.join(LINES)}")
    received_at = as_utc(received_at or utcnow())
    begin_write(session)
    # The ticket holds the row id, known only after the insert: a unique placeholder
    # goes in first and the real ticket replaces it before the same transaction commits.
    case = Case(
        line=line,
        caller_number=caller_number,
        channel_id=channel_id,
        status="in-ivr",
        received_at=received_at,
        ticket=f"pending-{uuid.uuid4().hex}",
    )
    session.add(case)
    session.flush()
    case.ticket = make_ticket(line, received_at, case.id)
    session.add(
        CaseEvent(
            case_id=case.id,
            at=received_at,
            kind="received",
            detail={"caller_number": caller_number, "channel_id": channel_id},
        )
    )
    session.commit()
    return case


def update_case(session: Session, ticket: str, **fields: Any) -> Case:
    case = update_case_as(session, ticket, **fields)
    session.commit()
    return case


def add_event(session: Session, ticket: str, kind: str, detail: dict | None = None, at: datetime | None = None) -> None:
    begin_write(session)
    case = _require(session, ticket)
    session.add(CaseEvent(case_id=case.id, at=as_utc(at or utcnow()), kind=kind, detail=detail))
    session.commit()


def start_attempt(
    session: Session, ticket: str, *, unit: str, agency: str | None, dial: str, started_at: datetime | None = None
) -> int:
    begin_write(session)
    case = _require(session, ticket)
    last = session.exec(select(func.max(Attempt.seq)).where(Attempt.case_id == case.id)).one()
    attempt = Attempt(
        case_id=case.id,
        seq=(last or 0) + 1,
        unit=unit,
        agency=agency,
        dial=dial,
        started_at=as_utc(started_at or utcnow()),
        outcome="ringing",
    )
    session.add(attempt)
    session.commit()
    return attempt.id


def update_attempt(session: Session, attempt_id: int, **fields: Any) -> None:
    fields = _checked(fields, _ATTEMPT_FIELDS, "an attempt")
    begin_write(session)
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        raise LookupError(f"no attempt with id {attempt_id}")
    for name, value in fields.items():
        setattr(attempt, name, value)
    session.add(attempt)
    session.commit()


def update_case_as(session: Session, ticket: str, **fields: Any) -> Case:
    """``update_case`` without the commit (setting the same fields twice is harmless)."""
    fields = _checked(fields, _CASE_FIELDS, "a case")
    begin_write(session)
    case = _require(session, ticket)
    for name, value in fields.items():
        setattr(case, name, value)
    session.add(case)
    return case
