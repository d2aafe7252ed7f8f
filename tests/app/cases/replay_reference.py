"""The per-op replay writers the call service used before ``app.cases.bulk``: the reference.

``app.cases.bulk`` applies a batch of journal ops in a few statements; the
tests hold it to these straightforward ORM versions (one op at a time,
same checks, same rows), which test_service_replay.py checks in turn.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from app.cases.models import LINES, Attempt, Case, CaseEvent
from app.cases.service import (
    KeyTaken,
    _require,  # the same "no case with ticket ..." refusal as the service's checks
    checked_attempt_fields,
    get_case,
)
from app.clock import as_utc
from app.db import begin_write
from tests.app.cases.writers import update_case_as

# The call service journals each write and applies it later, perhaps twice (a crash between
# applying and checkpointing). These take the keys the journal made (ticket, attempt seq, op id)
# and do nothing the second time. They do not commit: a batch of ops is one transaction.
# ``update_case_as`` (the service's own ``update_case`` without the commit) is re-exported.
__all__ = ["open_case_as", "update_case_as", "add_event_once", "start_attempt_as", "update_attempt_of"]


def open_case_as(
    session: Session,
    ticket: str,
    *,
    line: str,
    caller_number: str | None,
    channel_id: str | None,
    received_at: datetime,
    op_id: str,
) -> Case:
    """Open a case under a ticket made elsewhere; the same call again finds it and changes nothing."""
    if line not in LINES:
        raise ValueError(f"line {line!r} is not one of {', '.join(LINES)}")
    received_at = as_utc(received_at)
    begin_write(session)
    case = get_case(session, ticket)
    if case is not None:
        if (case.channel_id, case.received_at) != (channel_id, received_at):
            raise KeyTaken(f"ticket {ticket} already belongs to channel {case.channel_id} at {case.received_at}")
        return case
    case = Case(
        line=line,
        caller_number=caller_number,
        channel_id=channel_id,
        status="in-ivr",
        received_at=received_at,
        ticket=ticket,
    )
    session.add(case)
    session.flush()
    session.add(
        CaseEvent(
            case_id=case.id,
            at=received_at,
            kind="received",
            op_id=op_id,
            detail={"caller_number": caller_number, "channel_id": channel_id},
        )
    )
    return case


def add_event_once(session: Session, ticket: str, kind: str, detail: dict | None, at: datetime, op_id: str) -> None:
    """``add_event`` keyed by ``op_id``: an event already written under that id is not written again."""
    begin_write(session)
    case = _require(session, ticket)
    if session.exec(select(CaseEvent.id).where(CaseEvent.op_id == op_id)).first() is None:
        session.add(CaseEvent(case_id=case.id, at=as_utc(at), kind=kind, detail=detail, op_id=op_id))


def start_attempt_as(
    session: Session, ticket: str, seq: int, *, unit: str, agency: str | None, dial: str, started_at: datetime
) -> None:
    """Attempt number ``seq`` of the case; already there (the same attempt) is fine."""
    started_at = as_utc(started_at)
    begin_write(session)
    case = _require(session, ticket)
    found = _attempt(session, case, seq)
    if found is not None:
        if (found.unit, found.dial, found.started_at) != (unit, dial, started_at):
            raise KeyTaken(f"attempt {seq} of {ticket} is already another attempt ({found.unit})")
        return
    session.add(
        Attempt(case_id=case.id, seq=seq, unit=unit, agency=agency, dial=dial, started_at=started_at, outcome="ringing")
    )


def update_attempt_of(session: Session, ticket: str, seq: int, **fields: Any) -> None:
    """``update_attempt`` by ticket and attempt number, without the commit."""
    fields = checked_attempt_fields(fields)
    begin_write(session)
    attempt = _attempt(session, _require(session, ticket), seq)
    if attempt is None:
        raise LookupError(f"no attempt {seq} of {ticket}")
    for name, value in fields.items():
        setattr(attempt, name, value)
    session.add(attempt)


def _attempt(session: Session, case: Case, seq: int) -> Attempt | None:
    return session.exec(select(Attempt).where(Attempt.case_id == case.id, Attempt.seq == seq)).first()
