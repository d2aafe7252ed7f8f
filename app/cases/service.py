"""Reading and writing cases. Database only: no ARI, no events on a bus.

Every writer commits before returning, so what the call flow has done is on
disk even if the process dies a moment later. The call service's journal
is replayed in batches by ``app.cases.bulk``, which checks ops as these
writers do.
Writers take and return tickets (what people and logs use), never
half-built objects.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from app.cases.models import DISPOSITIONS, LANGUAGES, LINES, OUTCOMES, STATUSES, Attempt, Case, CaseEvent
from app.clock import as_utc, regency_date, utcnow
from app.db import begin_write


class CaseNotFound(LookupError):
    pass


class KeyTaken(ValueError):
    """A key made elsewhere (a ticket, an attempt number) already belongs to something else."""


_CASE_FIELDS = frozenset(Case.model_fields) - {"id", "ticket", "received_at"}
_ATTEMPT_FIELDS = frozenset({"ringing_at", "answered_at", "ended_at", "outcome"})
_CHOICES = {"status": STATUSES, "disposition": DISPOSITIONS, "language": LANGUAGES, "outcome": OUTCOMES}


def make_ticket(line: str, received_at: datetime, case_id: int) -> str:
    """``112-261127-00042``: line, date in Badung, row id. The id makes it unique."""
    return f"{line}-{regency_date(received_at):%y%m%d}-{case_id:05d}"


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


def _checked(fields: dict[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise TypeError(f"{what} has no updatable field(s) {', '.join(unknown)}")
    for name, value in fields.items():
        if name in _CHOICES and value is not None and value not in _CHOICES[name]:
            raise ValueError(f"{name} {value!r} is not one of {', '.join(_CHOICES[name])}")
        if isinstance(value, datetime):
            fields[name] = as_utc(value)
    return fields


def checked_case_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """What ``update_case`` would accept (raises as it would), for callers that write later."""
    return _checked(dict(fields), _CASE_FIELDS, "a case")


def checked_attempt_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return _checked(dict(fields), _ATTEMPT_FIELDS, "an attempt")


def _require(session: Session, ticket: str) -> Case:
    case = get_case(session, ticket)
    if case is None:
        raise CaseNotFound(f"no case with ticket {ticket}")
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


def mark_recording_purged(session: Session, ticket: str, file: str, detail: dict[str, Any]) -> bool:
    """The case's recording ``file`` was removed (retention): clear it and say so, in one commit.

    False, and nothing written, when the case does not (or no longer) name that file.
    """
    begin_write(session)
    case = get_case(session, ticket)
    if case is None or case.recording != file:
        session.rollback()
        return False
    case.recording = None
    session.add(case)
    session.add(CaseEvent(case_id=case.id, at=utcnow(), kind="recording.purged", detail={"file": file, **detail}))
    session.commit()
    return True


def update_case_as(session: Session, ticket: str, **fields: Any) -> Case:
    """``update_case`` without the commit (setting the same fields twice is harmless)."""
    fields = _checked(fields, _CASE_FIELDS, "a case")
    begin_write(session)
    case = _require(session, ticket)
    for name, value in fields.items():
        setattr(case, name, value)
    session.add(case)
    return case


def ticket_numbers(session: Session, since: datetime) -> dict[str, int]:
    """The highest ticket number per ``<line>-<YYMMDD>`` among cases received since ``since``."""
    highest: dict[str, int] = {}
    for ticket in session.exec(select(Case.ticket).where(Case.received_at >= as_utc(since))):
        prefix, _, number = ticket.rpartition("-")
        if prefix and number.isdigit():
            highest[prefix] = max(highest.get(prefix, 0), int(number))
    return highest


def get_case(session: Session, ticket: str) -> Case | None:
    return session.exec(select(Case).where(Case.ticket == ticket)).first()


def find_case_by_channel(session: Session, channel_id: str) -> Case | None:
    """The newest case of that channel (ids are unique per Asterisk run, not forever)."""
    query = select(Case).where(Case.channel_id == channel_id).order_by(col(Case.id).desc())
    return session.exec(query).first()


def list_cases(session: Session, *, limit: int | None = None, line: str | None = None) -> list[Case]:
    """Newest first."""
    query = select(Case).order_by(col(Case.received_at).desc(), col(Case.id).desc())
    if line is not None:
        query = query.where(Case.line == line)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def open_cases(session: Session) -> list[Case]:
    """Cases whose call has not ended, newest first."""
    query = select(Case).where(Case.status != "ended").order_by(col(Case.received_at).desc(), col(Case.id).desc())
    return list(session.exec(query))


def attempts_of(session: Session, case_ids: list[int]) -> list[Attempt]:
    query = select(Attempt).where(col(Attempt.case_id).in_(case_ids)).order_by(Attempt.case_id, Attempt.seq)
    return list(session.exec(query)) if case_ids else []


def events_of(session: Session, case_id: int) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.at, CaseEvent.id)
    return list(session.exec(query))
