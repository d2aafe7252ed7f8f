"""The one thread that copies journalled case writes into the database.

Principle: ops are applied strictly in sequence order, each exactly as
journalled, and none is skipped. When the database fails the op stays first
in line, the store is marked degraded, and the same op is tried again with a
capped backoff until the database is back; then the backlog drains in order.
Ops waiting in line are applied in batches, one transaction each; a batch
the database refuses for its content is applied again one op at a time, so
the op at fault is found. A short line waits a moment for more ops first:
a transaction costs far more than an op in it. Applying is idempotent
(``app.cases.bulk``), so ops applied just before a crash, but not yet
checkpointed, are harmless when applied again. Only an op the database
refuses for its content, again and again, is moved aside to
``rejected.jsonl`` (with a critical log).

The line lives on disk: memory holds a window of at most ``WINDOW`` ops (the
head of the line), and once more are waiting the rest is only remembered as
the byte offset in ``journal.jsonl`` where it starts, read back a slice at a
time as the head drains. A day-long outage grows the file, not the service.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlmodel import Session

from app.cases import bulk
from ivr.calls.journal import Journal

log = logging.getLogger("siaga.casestore")

BACKOFF_FIRST, BACKOFF_MAX = 0.05, 2.0
REFUSALS_BEFORE_REJECT = 3
CHECKPOINT_EVERY = 200
# Between batches, checkpoint no oftener: each is two fsyncs, and a stale one only means harmless replays.
CHECKPOINT_SECONDS = 1.0
BATCH = 100  # ops per transaction while a backlog drains
# Ops held in memory; past that the line waits in the journal file (a slice is read back when half is left).
WINDOW = 1000
# A short line waits this long for more ops: a transaction costs as much CPU as 20-30 ops in it, so
# at 5 calls/s this cuts the applier's CPU per op by ~2.5x, for ops reaching the database ~0.1 s later.
GATHER_SECONDS = 0.1
PROBE_SECONDS = 5.0  # idle: ask the database now and then, so the health endpoint knows without traffic
PROBE: list[dict] = [{"op": "probe"}]  # a batch of its own, told apart by identity
# The database (or the way to it) is down: wait and try the same op again.
TRANSIENT = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)


class Applier:
    def __init__(
        self,
        journal: Journal,
        sessions: Callable[[], Session],
        decode: Callable[[dict], dict],
        after_idle: Callable[[int], None],
    ) -> None:
        self.journal, self.sessions, self.decode, self.after_idle = journal, sessions, decode, after_idle
        self.queue: deque[dict] = deque()  # the head of the line: at most about WINDOW ops
        self.pending = journal.pending  # ops in line, in memory or not
        # Where in the journal file the ops after the window start (None: every op in line is in the window),
        # and where the last op handed over ends (nothing beyond it is read: its writer may not be done).
        self._on_disk_from: int | None = journal.pending_from if journal.pending else None
        self._end = journal.size()
        self.applied = journal.checkpointed
        self.degraded = False
        self.rejected = 0
        self.unopened = journal.rejected_opens()  # tickets whose case could not be opened
        self._cv = threading.Condition()
        self._stopping = False
        self._deadline = float("inf")
        self._backoff, self._refusals = BACKOFF_FIRST, 0
        self._careful_until = 0  # ops up to this seq go one per transaction (a batch was refused)
        self._checkpointed_at = 0.0
        self._thread = threading.Thread(target=self._run, name="case-applier", daemon=True)
        self._refill()

    def start(self) -> None:
        self._thread.start()

    def push(self, ops: list[dict], start: int, end: int) -> None:
        """``ops``, just journalled at bytes ``start`` to ``end``, join the line (in memory if there is room)."""
        with self._cv:
            self.pending += len(ops)
            self._end = end
            if self._on_disk_from is None:
                if len(self.queue) < WINDOW:
                    self.queue.extend(ops)
                else:
                    self._on_disk_from = start
            self._cv.notify_all()

    def oldest_pending(self) -> str | None:
        with self._cv:
            return self.queue[0]["at"] if self.queue else None

    def backlog(self) -> int:
        with self._cv:
            return self.pending

    def wait_applied(self, seq: int, timeout: float) -> bool:
        with self._cv:
            return self._cv.wait_for(lambda: self.applied >= seq, timeout)

    def stop(self, drain_seconds: float) -> None:
        """Apply what can be applied within ``drain_seconds``; the rest stays in the journal."""
        with self._cv:
            self._stopping, self._deadline = True, time.monotonic() + drain_seconds
            self._cv.notify_all()
        self._thread.join()

    # -- the thread ------------------------------------------------------------------
    def _next(self) -> list[dict] | None:
        """The next ops in line, PROBE after a quiet while, None to stop."""
        while True:
            self._refill()
            with self._cv:
                if self.queue:
                    self._gather()
                    return None if self._late() else self._batch()
                if self._stopping:
                    return None
            # Idle: file work here, outside the lock, so the journal writer never waits for it.
            if time.monotonic() - self._checkpointed_at >= CHECKPOINT_SECONDS:
                self._checkpoint()
            self.after_idle(self.applied)
            with self._cv:
                if not self.queue and not self._stopping and not self._cv.wait(PROBE_SECONDS) and not self.queue:
                    return PROBE

    def _gather(self) -> None:
        """Let a short line grow (group commit); not while going one op at a time, nor when stopping."""
        if self.queue[0]["seq"] > self._careful_until:
            self._cv.wait_for(lambda: len(self.queue) >= BATCH or self._stopping, GATHER_SECONDS)

    def _batch(self) -> list[dict]:
        careful = self.queue[0]["seq"] <= self._careful_until
        batch: list[dict] = []
        for op in self.queue:
            if len(batch) == (1 if careful else BATCH) or (batch and op["ticket"] in self.unopened):
                break
            batch.append(op)
        return batch

    def _refill(self) -> None:
        """Read the next slice of the line from the journal once the window is half empty."""
        with self._cv:
            if self._on_disk_from is None or len(self.queue) > WINDOW // 2:
                return
            start, end, room = self._on_disk_from, self._end, WINDOW - len(self.queue)
        try:  # outside the lock: the journal writer never waits for this
            ops, reached = self.journal.read(start, end, room)
        except OSError as exc:
            log.critical("case journal not readable, backlog waits: %s", exc)
            self._pause(BACKOFF_MAX)
            return
        with self._cv:
            self.queue.extend(ops)
            self._on_disk_from = None if reached >= self._end else reached

    def _late(self) -> bool:
        return self._stopping and time.monotonic() >= self._deadline

    def _run(self) -> None:
        while True:
            try:
                ops = self._next()
            except Exception:  # between batches (checkpoint, compaction): a full disk must not end the thread
                log.critical("case applier: unexpected error between batches; trying again", exc_info=True)
                if self._late():
                    break
                self._pause(BACKOFF_MAX)
                continue
            if ops is None:
                break
            try:
                self._probe() if ops is PROBE else self._step(ops)
            except Exception:  # a bug or a failing disk must not silently stop the case log
                log.critical("case applier: unexpected error; trying again", exc_info=True)
                self._pause(BACKOFF_MAX)
        self._checkpoint()

    def _step(self, ops: list[dict]) -> None:
        first = ops[0]
        if first["ticket"] in self.unopened and first["op"] != "open":
            # Never write into whatever case holds that ticket: it is not this call's.
            self._reject(first, "the case of this ticket was not opened (see its open op)")
            self._done(ops[:1])
            return
        try:
            with self.sessions() as session:
                bulk.apply_ops(session, [self.decode(op) for op in ops])
                session.commit()
        except TRANSIENT as exc:
            if not self.degraded:
                log.error("case database unavailable, journalling only (%d waiting): %s", self.backlog(), _short(exc))
            self.degraded = True
            self._pause(self._backoff)
            self._backoff = min(self._backoff * 2, BACKOFF_MAX)
            return
        except Exception as exc:  # the database answered, and said no
            if len(ops) > 1:  # which op? one at a time until past this batch
                log.warning(
                    "case ops %s..%s refused as a batch, applying them one by one: %s",
                    first["seq"],
                    ops[-1]["seq"],
                    _short(exc),
                )
                self._careful_until = ops[-1]["seq"]
                return
            self._refusals += 1
            log.error(
                "case op %s (%s %s) refused (%d): %s", first["seq"], first["op"], first["ticket"], self._refusals, exc
            )
            if self._refusals < REFUSALS_BEFORE_REJECT:
                self._pause(self._backoff)
                return
            self._reject(first, repr(exc))
        if self.degraded:
            log.warning("case database back; applying the backlog in order (%d waiting)", self.backlog())
        self.degraded, self._backoff, self._refusals = False, BACKOFF_FIRST, 0
        self._done(ops)

    def _probe(self) -> None:
        try:
            with self.sessions() as session:
                session.connection().execute(text("SELECT 1"))
        except Exception as exc:
            if not self.degraded:
                log.error("case database unavailable: %s", _short(exc))
            self.degraded = True
            return
        if self.degraded:
            log.warning("case database reachable again")
        self.degraded = False

    def _reject(self, op: dict, why: str) -> None:
        log.critical(
            "case op %s (%s %s) moved to %s: %s", op["seq"], op["op"], op["ticket"], self.journal.rejected_path, why
        )
        self.journal.reject(op, why)
        self.rejected += 1
        if op["op"] == "open":
            self.unopened.add(op["ticket"])

    def _done(self, ops: list[dict]) -> None:
        with self._cv:
            for _ in ops:
                self.queue.popleft()
            self.pending -= len(ops)
            self.applied = ops[-1]["seq"]
            self._cv.notify_all()
        if self.applied - self.journal.checkpointed >= CHECKPOINT_EVERY:  # a long backlog: checkpoint on the way
            self._checkpoint()

    def _checkpoint(self) -> None:
        self._checkpointed_at = time.monotonic()
        try:
            self.journal.checkpoint(self.applied)
        except OSError as exc:  # the ops are applied; a stale checkpoint only means harmless replays
            log.error("case journal checkpoint not written: %s", exc)

    def _pause(self, seconds: float) -> None:
        with self._cv:
            self._cv.wait_for(self._late, seconds)


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
