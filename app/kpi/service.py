"""The cases a KPI report counts, read from the database as ``StoredTimes`` (database only).

Principle: only the columns the definitions need, one row per case (the attempts it
needs come as correlated subqueries), streamed in batches, so a month of calls is
never held in memory as case objects. The same query on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.cases.models import Attempt, Case
from app.clock import as_utc
from app.kpi.figures import StoredTimes, report
from app.kpi.models import KpiReport

BATCH = 1000  # rows fetched at a time (a server-side cursor on PostgreSQL)


class BadRange(ValueError):
    """A time range the report cannot take; the message says why."""


def checked_range(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """``[since, until)`` in UTC; ``BadRange`` when a bound has no zone, is out of range, or the range is empty."""
    bounds = []
    for name, value in (("from", since), ("to", until)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise BadRange(f"{name} {value.isoformat()} has no time zone (add +08:00 for WITA, or Z for UTC)")
        try:
            bounds.append(as_utc(value))
        except OverflowError:
            raise BadRange(f"{name} {value.isoformat()} is out of range") from None
    if bounds[1] <= bounds[0]:
        raise BadRange(
            f"the range is empty or inverted: to ({until.isoformat()}) must be after from ({since.isoformat()})"
        )
    return bounds[0], bounds[1]


def kpi_report(session: Session, since: datetime, until: datetime, line: str | None = None) -> KpiReport:
    since, until = checked_range(since, until)
    return report(stored_times(session, since, until, line), since, until, line)


def stored_times(session: Session, since: datetime, until: datetime, line: str | None = None) -> Iterator[StoredTimes]:
    """The stored times of the cases received in ``[since, until)`` (on ``line``), in no particular order."""
    of_case = Attempt.case_id == Case.id
    answered = select(Attempt.id).where(of_case, col(Attempt.answered_at).is_not(None))
    first_answered = answered.order_by(col(Attempt.answered_at), col(Attempt.seq)).limit(1)
    dispatched = select(Attempt.id).where(of_case, Attempt.unit == Case.dispatched_unit)
    first_dispatched = dispatched.order_by(col(Attempt.seq)).limit(1)
    columns = [
        col(Case.line),
        col(Case.category),
        col(Case.district),
        col(Case.disposition),
        col(Case.received_at),
        col(Case.taken_at),
        col(Case.agency_answered_at),
        answered.with_only_columns(func.min(Attempt.answered_at)).scalar_subquery().label("first_attempt_answered_at"),
        col(Case.forwarded_at),
        col(Case.dispatched_at),
        col(Case.answered_by_unit),
        first_answered.with_only_columns(col(Attempt.agency)).scalar_subquery().label("answered_agency"),
        first_dispatched.with_only_columns(col(Attempt.agency)).scalar_subquery().label("dispatched_agency"),
        answered.exists().label("has_answered_attempt"),
        dispatched.exists().label("has_dispatched_attempt"),
    ]
    query = sa.select(*columns).where(col(Case.received_at) >= since, col(Case.received_at) < until)
    if line is not None:
        query = query.where(col(Case.line) == line)
    for row in session.connection().execute(query.execution_options(yield_per=BATCH)):
        yield StoredTimes(**row._mapping)
