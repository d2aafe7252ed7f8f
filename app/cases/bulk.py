"""Applying a batch of journalled case writes at once, with SQLAlchemy Core.

Principle: a batch is first played through in memory, op by op in journal
order, over what the database holds for the batch's tickets (read once). Each
op makes the checks the one-op replay writers made (kept as the tests'
reference, tests/app/cases/replay_reference.py), in the same order and with the same errors,
so a batch either fails before writing anything or is written in a handful
of statements: new cases, then events, then new attempts, then updates.
Several writes to one row end as one, with the last value of each field (a
case or attempt made in the batch is inserted with them). The rows left are
those the one-op writers leave; applying a batch again changes nothing.
The caller owns the transaction and commits it.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Update
from sqlmodel import Session

from app.cases.models import LINES, Attempt, Case, CaseEvent
from app.cases.service import CaseNotFound, KeyTaken, checked_attempt_fields, checked_case_fields
from app.clock import as_utc
from app.db import begin_write

# SQLModel table classes carry their SQLAlchemy Table at run time only.
CASES, ATTEMPTS, EVENTS = Case.__table__, Attempt.__table__, CaseEvent.__table__  # type: ignore[attr-defined]
# Every column of a new row (the NOT NULL ones at their defaults), so that one INSERT takes all the rows of a batch.
NEW_CASE = {c.name: None for c in CASES.columns if c.name != "id"} | dict(status="in-ivr", workflow="new", silent=False)
NEW_ATTEMPT = {c.name: None for c in ATTEMPTS.columns if c.name not in ("id", "case_id")} | {"outcome": "ringing"}
# Statements built once: building one costs more CPU than running it on a small batch.
FIND = (
    select(
        CASES.c.id,
        CASES.c.ticket,
        CASES.c.channel_id,
        CASES.c.received_at,
        ATTEMPTS.c.id.label("attempt_id"),
        ATTEMPTS.c.seq,
        ATTEMPTS.c.unit,
        ATTEMPTS.c.dial,
        ATTEMPTS.c.started_at,
    )
    .select_from(CASES.outerjoin(ATTEMPTS))
    .where(CASES.c.ticket.in_(bindparam("tickets", expanding=True)))
)
INSERT_CASES = insert(CASES).returning(CASES.c.id, CASES.c.ticket)
INSERT_ATTEMPTS = insert(ATTEMPTS)
INSERT_EVENTS = {  # an event already written under its op id (a replay) is left alone
    "sqlite": sqlite.insert(EVENTS).on_conflict_do_nothing(index_elements=["op_id"]),
    "postgresql": postgresql.insert(EVENTS).on_conflict_do_nothing(index_elements=["op_id"]),
}


def apply_ops(session: Session, ops: list[dict]) -> None:
    """Apply decoded journal ops (datetimes, not strings) in order; raises, writing nothing, if one is refused."""
    if not ops:
        return
    begin_write(session)
    batch = _Batch(session.connection(), ops)
    for op in ops:
        batch.play(op)
    batch.write()


class _Batch:
    def __init__(self, connection: Connection, ops: list[dict]) -> None:
        self.connection = connection
        # ticket -> what a later op may check; for a case opened in this batch, the row to insert.
        self.cases: dict[str, dict[str, Any]] = {}
        self.attempts: dict[tuple[str, int], dict[str, Any]] = {}  # (ticket, seq) -> the same
        for r in connection.execute(FIND, {"tickets": list({op["ticket"] for op in ops})}):
            self.cases.setdefault(r.ticket, {"id": r.id, "channel_id": r.channel_id, "received_at": r.received_at})
            if r.attempt_id is not None:
                self.attempts[(r.ticket, r.seq)] = {
                    "id": r.attempt_id,
                    "unit": r.unit,
                    "dial": r.dial,
                    "started_at": r.started_at,
                }
        self.new_cases: dict[str, dict[str, Any]] = {}
        self.case_updates: dict[str, dict[str, Any]] = {}  # ticket -> fields, cases already in the database
        self.events: list[tuple[str, dict[str, Any]]] = []  # (ticket, row), in journal order
        self.new_attempts: dict[tuple[str, int], dict[str, Any]] = {}
        self.attempt_updates: dict[int, dict[str, Any]] = {}  # attempt id -> fields

    def play(self, op: dict) -> None:
        kind, ticket, a = op["op"], op["ticket"], op["args"]
        if kind == "open":
            self.open(ticket, op_id=op["id"], **a)
        elif kind == "update":
            self.update(ticket, **a)
        elif kind == "event":
            self.event(ticket, a["kind"], a["detail"], a["at"], op["id"])
        elif kind == "attempt":
            self.start_attempt(ticket, **a)
        elif kind == "attempt.update":
            self.update_attempt(ticket, **a)
        else:
            raise ValueError(f"unknown journal op {kind!r}")

    # -- the ops, checked as the per-op writers checked them (tests/app/cases/replay_reference.py) ------------------
    def open(
        self,
        ticket: str,
        *,
        line: str,
        caller_number: str | None,
        channel_id: str | None,
        received_at: datetime,
        op_id: str,
    ) -> None:
        if line not in LINES:
            raise ValueError(f"line {line!r} is not one of {', '.join(LINES)}")
        received_at = as_utc(received_at)
        case = self.cases.get(ticket)
        if case is not None:
            if (case["channel_id"], case["received_at"]) != (channel_id, received_at):
                raise KeyTaken(
                    f"ticket {ticket} already belongs to channel {case['channel_id']} at {case['received_at']}"
                )
            return
        self.cases[ticket] = self.new_cases[ticket] = NEW_CASE | dict(
            ticket=ticket, line=line, caller_number=caller_number, channel_id=channel_id, received_at=received_at
        )
        self.events.append(
            (
                ticket,
                dict(
                    at=received_at,
                    kind="received",
                    op_id=op_id,
                    detail={"caller_number": caller_number, "channel_id": channel_id},
                ),
            )
        )

    def update(self, ticket: str, **fields: Any) -> None:
        fields = checked_case_fields(fields)
        self._require(ticket).update(fields)
        if ticket not in self.new_cases:
            self.case_updates.setdefault(ticket, {}).update(fields)

    def event(self, ticket: str, kind: str, detail: dict | None, at: datetime, op_id: str) -> None:
        self._require(ticket)
        self.events.append((ticket, dict(at=as_utc(at), kind=kind, detail=detail, op_id=op_id)))

    def start_attempt(
        self, ticket: str, seq: int, *, unit: str, agency: str | None, dial: str, started_at: datetime
    ) -> None:
        started_at = as_utc(started_at)
        self._require(ticket)
        found = self.attempts.get((ticket, seq))
        if found is not None:
            if (found["unit"], found["dial"], found["started_at"]) != (unit, dial, started_at):
                raise KeyTaken(f"attempt {seq} of {ticket} is already another attempt ({found['unit']})")
            return
        self.attempts[(ticket, seq)] = self.new_attempts[(ticket, seq)] = NEW_ATTEMPT | dict(
            seq=seq, unit=unit, agency=agency, dial=dial, started_at=started_at
        )

    def update_attempt(self, ticket: str, seq: int, **fields: Any) -> None:
        fields = checked_attempt_fields(fields)
        self._require(ticket)
        attempt = self.attempts.get((ticket, seq))
        if attempt is None:
            raise LookupError(f"no attempt {seq} of {ticket}")
        attempt.update(fields)
        if (ticket, seq) not in self.new_attempts:
            self.attempt_updates.setdefault(attempt["id"], {}).update(fields)

    def _require(self, ticket: str) -> dict[str, Any]:
        case = self.cases.get(ticket)
        if case is None:
            raise CaseNotFound(f"no case with ticket {ticket}")
        return case

    # -- writing what the ops left -------------------------------------------------------------
    def write(self) -> None:
        run = self.connection.execute
        ids = {ticket: case["id"] for ticket, case in self.cases.items() if ticket not in self.new_cases}
        if self.new_cases:  # in journal order, so case ids grow with it (as do event ids below)
            ids.update((r.ticket, r.id) for r in run(INSERT_CASES, list(self.new_cases.values())))
        if self.events:
            run(INSERT_EVENTS[self.connection.dialect.name], [row | {"case_id": ids[t]} for t, row in self.events])
        if self.new_attempts:
            run(INSERT_ATTEMPTS, [row | {"case_id": ids[ticket]} for (ticket, _), row in self.new_attempts.items()])
        _update(self.connection, ATTEMPTS, self.attempt_updates)
        _update(self.connection, CASES, {ids[ticket]: fields for ticket, fields in self.case_updates.items()})


def _update(connection: Connection, table: Table, fields_by_id: dict[int, dict[str, Any]]) -> None:
    """One UPDATE per set of field names, each run for every row that sets just those."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row_id, fields in fields_by_id.items():
        if fields:  # an update that sets nothing (allowed) writes nothing
            groups.setdefault(frozenset(fields), []).append(fields | {"row_id": row_id})
    for names, rows in groups.items():
        connection.execute(_update_of(table, names), rows)


@cache
def _update_of(table: Table, names: frozenset[str]) -> Update:
    return update(table).where(table.c.id == bindparam("row_id")).values({n: bindparam(n) for n in names})
