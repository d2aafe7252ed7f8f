"""Async access to the case log for call flows, through a write-ahead journal.

Principle: a call waits for local disk, never for the database. Each write
(open, update, event, attempt) becomes one journal op, and its ``await``
returns once the op is fsync'ed (one writer thread, group commit). Tickets
and attempt numbers are made here, without the database (``TicketBook``).
One applier thread then copies the ops into the database in order, riding
out outages (``Applier``). A store owns its journal folder, one per database.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlmodel import Session

from app import db
from app.cases import service
from app.cases.models import LINES
from app.clock import as_utc, utcnow
from app.files import private_dir, write_private
from ivr.calls.applier import Applier
from ivr.calls.journal import Journal
from ivr.calls.ticketbook import TicketBook

log = logging.getLogger("siaga.casestore")

COMPACT_BYTES = 1_000_000
LOOKUP_SECONDS = 2.0  # a channel not in the local index: how long the database may take to say


class AttemptKey(NamedTuple):
    """An attempt, known without the database: its case's ticket and its number in that case."""

    ticket: str
    seq: int


def journal_folder(journal_dir: Path, database_url: str) -> Path:
    """One journal per database, so ops are only ever applied to the database they were written for."""
    name = db.describe(database_url)
    folder = journal_dir / f"cases-{hashlib.sha1(name.encode()).hexdigest()[:10]}"
    private_dir(journal_dir)
    private_dir(folder)
    write_private(folder / "database.txt", name + "\n")
    return folder


class CaseStore:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        journal_dir: Path,
        *,
        compact_bytes: int = COMPACT_BYTES,
        drain_seconds: float = 5.0,
    ) -> None:
        self._sessions, self.compact_bytes, self.drain_seconds = session_factory, compact_bytes, drain_seconds
        self.journal = Journal(journal_dir)
        self.book = TicketBook()
        self.book.restore(self.journal.state)
        self.journal.recover(self.book.note)  # one line at a time: a long outage's journal is not loaded whole
        self._raise_tickets_to_database()
        self.applier = Applier(self.journal, session_factory, _decode, self._after_idle)
        if self.journal.pending:
            log.warning("replaying %d case writes journalled by the previous run", self.journal.pending)
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name="case-journal", daemon=True)
        self._closed = False
        self.applier.start()
        self._writer.start()

    def _raise_tickets_to_database(self) -> None:
        try:
            with self._sessions() as session:
                highest = service.ticket_numbers(session, utcnow() - timedelta(days=8))
        except Exception as exc:  # the journal's own counters still hold every ticket it handed out
            log.warning("ticket numbers not checked against the database: %s", str(exc).splitlines()[0])
            return
        self.book.raise_to(highest)
        self.journal.save_state(self.book.snapshot())  # durable, for a later start without the database

    # -- the call flow's API -------------------------------------------------------------
    # Each ``*_op`` makes one journal op (checked, not yet written); ``write`` journals several
    # in one append, so the writes of one step cost one wait for the disk. The async helpers
    # below are one op each.
    async def open(self, *, line: str, caller_number: str, channel_id: str, received_at: datetime) -> str:
        if line not in LINES:
            raise ValueError(f"line {line!r} is not one of {', '.join(LINES)}")
        received_at = as_utc(received_at)
        ticket = self.book.new_ticket(line, received_at)
        await self.write(
            _op(
                "open",
                ticket,
                dict(line=line, caller_number=caller_number, channel_id=channel_id, received_at=received_at),
            )
        )
        return ticket

    def update_op(self, ticket: str, **fields: Any) -> dict:
        return _op("update", ticket, service.checked_case_fields(fields))

    def event_op(self, ticket: str, kind: str, detail: dict | None = None, at: datetime | None = None) -> dict:
        return _op("event", ticket, dict(kind=kind, detail=detail, at=as_utc(at or utcnow())))

    def attempt_update_op(self, key: AttemptKey, **fields: Any) -> dict:
        return _op("attempt.update", key.ticket, {"seq": key.seq, **service.checked_attempt_fields(fields)})

    async def update(self, ticket: str, **fields: Any) -> None:
        await self.write(self.update_op(ticket, **fields))

    async def event(self, ticket: str, kind: str, detail: dict | None = None, at: datetime | None = None) -> None:
        await self.write(self.event_op(ticket, kind, detail, at))

    async def start_attempt(
        self, ticket: str, *, unit: str, agency: str, dial: str, started_at: datetime
    ) -> AttemptKey:
        key = AttemptKey(ticket, self.book.new_attempt(ticket))
        await self.write(
            _op(
                "attempt", ticket, dict(seq=key.seq, unit=unit, agency=agency, dial=dial, started_at=as_utc(started_at))
            )
        )
        return key

    async def update_attempt(self, key: AttemptKey, **fields: Any) -> None:
        await self.write(self.attempt_update_op(key, **fields))

    def answered_attempt(self, ticket: str) -> AttemptKey | None:
        """The attempt that was answered in a recent case (None: none, or older than the local index)."""
        seq = (self.book.entry(ticket) or {}).get("answered")
        return AttemptKey(ticket, seq) if seq else None

    async def find_by_channel(self, channel_id: str) -> str | None:
        ticket = self.book.channel(channel_id)
        if ticket is not None or self.applier.degraded:
            return ticket
        try:  # older than the local index: the database may know it
            return await asyncio.wait_for(asyncio.to_thread(self._find_in_database, channel_id), LOOKUP_SECONDS)
        except Exception as exc:
            log.warning("channel %s not looked up in the database: %s", channel_id, exc)
            return None

    def _find_in_database(self, channel_id: str) -> str | None:
        with self._sessions() as session:
            case = service.find_case_by_channel(session, channel_id)
            return case.ticket if case else None

    # -- journalling ---------------------------------------------------------------------
    async def write(self, *ops: dict) -> None:
        """Journal ``ops`` (from the ``*_op`` helpers) in this order, in one append; returns once on disk."""
        if self._closed:
            raise RuntimeError("the case store is closed")
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._inbox.put((list(ops), loop, done))
        await done

    def _write_loop(self) -> None:
        while (first := self._inbox.get()) is not None:
            batch, stop = [first], False
            while not self._inbox.empty():  # group commit: everything that queued up meanwhile
                item = self._inbox.get()
                if item is None:
                    stop = True
                    break
                batch.append(item)
            ops, error = [op for some, _, _ in batch for op in some], None
            try:
                start, end = self.journal.append(ops)
            except Exception as exc:  # a full or failing disk: the callers hear it, and fall back
                log.critical("case journal not written: %s", exc)
                error = exc
            if error is None:
                for op in ops:
                    self.book.note(op)
                self.applier.push(ops, start, end)
            for _, loop, done in batch:
                _resolve(loop, done, error)
            if stop:
                break

    def _after_idle(self, applied: int) -> None:
        if self.journal.size() >= self.compact_bytes and self.journal.compact(applied, self.book.snapshot()):
            log.info("case journal compacted: everything up to op %d is in the database", applied)

    # -- for the health endpoint, tests and shutdown ---------------------------------
    def status(self) -> dict:
        oldest = self.applier.oldest_pending()
        waited = (utcnow() - datetime.fromisoformat(oldest)).total_seconds() if oldest else 0.0
        return {
            "database": "degraded" if self.applier.degraded else "ok",
            "backlog": self.applier.backlog(),
            "oldest_pending_seconds": round(max(waited, 0.0), 3),
            "rejected": self.applier.rejected,
        }

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until everything journalled so far is in the database (tests, tools)."""
        return self.applier.wait_applied(self.journal.last_seq, timeout)

    def close(self, drain_seconds: float | None = None) -> None:
        """Stop; ops the database has not taken within ``drain_seconds`` wait in the journal for the next start."""
        if self._closed:
            return
        self._closed = True
        self._inbox.put(None)
        self._writer.join()
        self.applier.stop(self.drain_seconds if drain_seconds is None else drain_seconds)
        self.journal.close()


# Op ids must be unique across every run that ever wrote to a database (they key the replay's
# de-duplication): a random prefix per process and a counter. uuid4 per op cost a getrandom()
# system call each, ~2% of the service's samples at 45 calls/s (docs/PERFORMANCE.md, round 3).
_RUN_PREFIX = uuid.uuid4().hex[:16]
_op_numbers = itertools.count(1)


def _new_op_id() -> str:
    return f"{_RUN_PREFIX}{next(_op_numbers):016x}"  # 32 characters, as uuid4().hex


def _op(kind: str, ticket: str, args: dict[str, Any]) -> dict:
    op = {"id": _new_op_id(), "at": utcnow().isoformat(), "op": kind, "ticket": ticket, "args": _encode(args)}
    json.dumps(op)  # what cannot be journalled fails here, in its own call, not in a batch of others
    return op


def _is_time(name: str) -> bool:
    return name == "at" or name.endswith("_at")


def _encode(args: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in args.items()}


def _decode(op: dict) -> dict:
    args = {k: datetime.fromisoformat(v) if _is_time(k) and v is not None else v for k, v in op["args"].items()}
    return {**op, "args": args}


def _resolve(loop: asyncio.AbstractEventLoop, done: asyncio.Future, error: BaseException | None) -> None:
    def settle() -> None:
        if not done.done():
            done.set_exception(error) if error else done.set_result(None)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # that loop is gone: nobody is waiting any more
        pass
