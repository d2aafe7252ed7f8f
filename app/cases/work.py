"""A call-taker's actions on a case (notes, classification, corrections, closing) and a caller's history.

Principle: each action is one transaction that locks the case's row first
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite ``begin_write`` takes the
database's write lock), then checks who may act and what the case allows,
changes it and writes one timestamped event naming who did it. Two people
acting on one case at once are so put in order: the second sees what the
first did, as a conflict or as the ``previous`` value of its own event, and
nothing is overwritten unseen. Notes are only ever added.

Who may act: the agent who took the call (``case.agent``), any agent while
nobody has, and supervisors and admins always. A closed case takes notes
from them all, other changes from supervisors and admins only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here on Python 3.11

from app.cases.callers import UNKNOWN, is_ticket
from app.cases.models import Case, CaseEvent
from app.cases.service import CaseNotFound
from app.clock import as_utc, utcnow
from app.db import begin_write
from app.directory.schema import Directory
from app.settings import CasesSettings
from app.users.models import at_least

CALL_OVER = ("ended", "fallback")  # statuses in which a case may be closed
PRANK = "prank"
NOTE_CHARS = 4000
# Callers who hide their number arrive as one of these (or nothing): they are not one caller.
ANONYMOUS = frozenset({"", UNKNOWN, "anonymous", "restricted", "private", "unavailable"})


class CaseConflict(Exception):
    """Someone else holds the case, or its state refuses the action (HTTP 409)."""


class CaseRuleError(ValueError):
    """The action's input breaks a rule: an unknown classification, category or district (HTTP 422)."""


class CallerHistory(TypedDict):
    calls: int  # earlier cases from the number
    last_classification: str | None  # of the newest earlier case that has one
    prank_calls: int  # earlier cases classified prank within cases.prank_window_days
    flagged: bool  # prank_calls reached cases.prank_threshold


def add_note(session: Session, ticket: str, by: str, text: str, *, role: str = "agent") -> CaseEvent:
    text = text.strip()
    if not text or len(text) > NOTE_CHARS or "\x00" in text:
        raise CaseRuleError(f"a note is 1 to {NOTE_CHARS} characters of text")
    with _acting(session, ticket, by, role) as case:
        return _event(session, case, "note", by=by, text=text)


def classify(
    session: Session, ticket: str, by: str, classification: str, *, settings: CasesSettings, role: str = "agent"
) -> Case:
    """Set the case's classification; a prank that brings its number to the threshold flags the case."""
    if classification not in settings.classifications:
        raise CaseRuleError(f"unknown classification {classification!r} (one of {', '.join(settings.classifications)})")
    with _acting(session, ticket, by, role) as case:
        _still_open(case, role)
        previous = case.classification
        if previous == classification:
            return case
        case.classification = classification
        _event(session, case, "classified", by=by, classification=classification, previous=previous)
        if classification == PRANK and not _anonymous(case.caller_number):
            since = case.received_at - timedelta(days=settings.prank_window_days)
            pranks = _count(session, _pranks(case.caller_number, since).where(Case.received_at <= case.received_at))
            if pranks >= settings.prank_threshold:
                _event(
                    session,
                    case,
                    "caller.flagged",
                    by=by,
                    caller_number=case.caller_number,
                    prank_calls=pranks,
                    threshold=settings.prank_threshold,
                    window_days=settings.prank_window_days,
                )
        return case


def correct(
    session: Session,
    ticket: str,
    by: str,
    category: str | None = None,
    district: str | None = None,
    *,
    directory: Directory,
    role: str = "agent",
) -> Case:
    """Correct what the IVR recorded; one ``corrected`` event per field that changes."""
    if category is None and district is None:
        raise CaseRuleError("nothing to correct: give a category, a district or both")
    if district is not None and district not in directory.districts:
        raise CaseRuleError(f"no district {district!r} (districts: {', '.join(directory.districts)})")
    with _acting(session, ticket, by, role) as case:
        _still_open(case, role)
        line = directory.lines.get(case.line)
        categories = list(line.categories) if line is not None else []
        if category is not None and category not in categories:
            raise CaseRuleError(f"no category {category!r} on line {case.line} (categories: {', '.join(categories)})")
        for field, value in (("category", category), ("district", district)):
            if value is not None and getattr(case, field) != value:
                _event(session, case, "corrected", by=by, field=field, **{"from": getattr(case, field), "to": value})
                setattr(case, field, value)
        return case


def close(session: Session, ticket: str, by: str, *, role: str = "agent") -> Case:
    """The call-taker's last step, once the call is over (the caller hung up or the dialplan has them)."""
    with _acting(session, ticket, by, role) as case:
        if case.workflow == "closed" or case.closed_at is not None:
            raise CaseConflict(f"case {ticket} is already closed (by {case.closed_by})")
        if case.status not in CALL_OVER:
            raise CaseConflict(f"case {ticket}: the call is still {case.status}; close it once the call has ended")
        previous, case.workflow = case.workflow, "closed"
        case.closed_at, case.closed_by = utcnow(), by
        _event(session, case, "closed", by=by, previous=previous)
        return case


def caller_history(
    session: Session, caller_number: str | None, before: datetime, *, settings: CasesSettings
) -> CallerHistory:
    """What the cases received before ``before`` say about the number (for the case on screen)."""
    if _anonymous(caller_number):
        return CallerHistory(calls=0, last_classification=None, prank_calls=0, flagged=False)
    before = as_utc(before)
    earlier = select(Case).where(Case.caller_number == caller_number, Case.received_at < before)
    last = session.exec(
        select(Case.classification)
        .where(Case.caller_number == caller_number, Case.received_at < before, col(Case.classification).is_not(None))
        .order_by(col(Case.received_at).desc(), col(Case.id).desc())
        .limit(1)
    ).first()
    since = before - timedelta(days=settings.prank_window_days)
    pranks = _count(session, _pranks(caller_number, since).where(Case.received_at < before))
    return CallerHistory(
        calls=_count(session, earlier),
        last_classification=last,
        prank_calls=pranks,
        flagged=pranks >= settings.prank_threshold,
    )


@contextmanager
def _acting(session: Session, ticket: str, by: str, role: str) -> Iterator[Case]:
    """The case, locked, if ``by`` may act on it; committed after the block, rolled back if it raises."""
    if session.in_transaction():
        session.commit()  # a read so far (the user's check): the case is read again under the lock
    begin_write(session)
    try:
        query = select(Case).where(Case.ticket == ticket).with_for_update().execution_options(populate_existing=True)
        case = session.exec(query).first() if is_ticket(ticket) else None
        if case is None:
            raise CaseNotFound(f"no case with ticket {ticket}")
        if case.agent not in (None, by) and not at_least(role, "supervisor"):
            raise CaseConflict(f"case {ticket} is taken by {case.agent}")
        yield case
    except BaseException:
        session.rollback()
        raise
    session.commit()


def _still_open(case: Case, role: str) -> None:
    if case.workflow == "closed" and not at_least(role, "supervisor"):
        raise CaseConflict(f"case {case.ticket} is closed (by {case.closed_by}); only a supervisor may change it")


def _event(session: Session, case: Case, kind: str, **detail: Any) -> CaseEvent:
    assert case.id is not None  # read from the database
    event = CaseEvent(case_id=case.id, at=utcnow(), kind=kind, detail=detail)
    session.add(event)
    session.flush()  # counts read after this see the change
    return event


def _pranks(caller_number: str | None, since: datetime):
    return select(Case).where(
        Case.caller_number == caller_number, Case.classification == PRANK, Case.received_at >= since
    )


def _count(session: Session, query) -> int:
    return session.exec(select(func.count()).select_from(query.subquery())).one()


def _anonymous(caller_number: str | None) -> bool:
    return (caller_number or "").strip().lower() in ANONYMOUS
