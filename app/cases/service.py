"""Reading cases, and the checks every case write passes. Database only: no ARI, no events on a bus.

Cases are written by the call service's journal, applied in batches by
``app.cases.bulk``; the checks here (fields, choices, timestamps) are the ones
the journal's ops pass before they are written (``ivr.calls.casestore``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from app.cases.models import DISPOSITIONS, LANGUAGES, OUTCOMES, STATUSES, WORKFLOWS, Attempt, Case, CaseEvent
from app.clock import as_utc, regency_date, utcnow
from app.db import begin_write


class CaseNotFound(LookupError):
    pass


class KeyTaken(ValueError):
    """A key made elsewhere (a ticket, an attempt number) already belongs to something else."""


# A call-taker's own judgements are written by the web app (``app.cases.work``), never by the call's journal.
_AGENT_ONLY = {"classification", "closed_at", "closed_by"}
_CASE_FIELDS = frozenset(Case.model_fields) - {"id", "ticket", "received_at"} - _AGENT_ONLY
_ATTEMPT_FIELDS = frozenset({"ringing_at", "answered_at", "ended_at", "outcome"})
_CHOICES = {
    "status": STATUSES,
    "disposition": DISPOSITIONS,
    "language": LANGUAGES,
    "outcome": OUTCOMES,
    "workflow": WORKFLOWS,
}


def make_ticket(line: str, received_at: datetime, case_id: int) -> str:
    """``112-261127-00042``: line, date in Badung, row id. The id makes it unique."""
    return f"{line}-{regency_date(received_at):%y%m%d}-{case_id:05d}"


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
    """The fields a case update may set, checked (raises ``TypeError``/``ValueError`` naming the field)."""
    return _checked(dict(fields), _CASE_FIELDS, "a case")


def checked_attempt_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return _checked(dict(fields), _ATTEMPT_FIELDS, "an attempt")


def _require(session: Session, ticket: str) -> Case:
    case = get_case(session, ticket)
    if case is None:
        raise CaseNotFound(f"no case with ticket {ticket}")
    return case


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
    assert case.id is not None  # read from the database, so it has its id
    session.add(CaseEvent(case_id=case.id, at=utcnow(), kind="recording.purged", detail={"file": file, **detail}))
    session.commit()
    return True


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


def find_cases(
    session: Session,
    *,
    line: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    agent: str | None = None,
    classification: str | None = None,
    workflow: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Case], int]:
    """One page of the cases received in ``[since, until)`` with those field values, newest first,
    and how many there are in all."""
    query = select(Case)
    for column, value in (
        (Case.line, line),
        (Case.status, status),
        (Case.agent, agent),
        (Case.classification, classification),
        (Case.workflow, workflow),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(Case.received_at >= as_utc(since))
    if until is not None:
        query = query.where(Case.received_at < as_utc(until))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = query.order_by(col(Case.received_at).desc(), col(Case.id).desc()).offset(offset).limit(limit)
    return list(session.exec(page)), total


def attempts_of(session: Session, case_ids: list[int]) -> list[Attempt]:
    query = select(Attempt).where(col(Attempt.case_id).in_(case_ids)).order_by(col(Attempt.case_id), col(Attempt.seq))
    return list(session.exec(query)) if case_ids else []


def events_of(session: Session, case_id: int) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.at), col(CaseEvent.id))
    return list(session.exec(query))
