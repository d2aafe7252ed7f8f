"""A real PostgreSQL stopped in the middle of traffic: no case write waits, none is lost or doubled.

Runs on a private cluster (tests/support/postgres.py), never the shared one.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from sqlmodel import select

from app import db
from app.cases import service
from app.cases.models import CaseEvent
from app.clock import utcnow
from ivr.calls.casestore import CaseStore
from tests.support.postgres import private_postgres  # noqa: F401 - the fixture
from tests.support.waiting import eventually

pytestmark = pytest.mark.postgres

CALLS = 6
PROMPT = 0.5  # seconds: the most a write may take, outage or not


class FakeCall:
    """Writes a stream of numbered steps (events, updates, attempts) until told to stop."""

    def __init__(self, store: CaseStore, n: int) -> None:
        self.store, self.n = store, n
        self.ticket, self.steps, self.attempts, self.slowest = "", [], [], 0.0

    async def _timed(self, write):
        started = time.monotonic()
        result = await write
        self.slowest = max(self.slowest, time.monotonic() - started)
        return result

    async def run(self, stop: asyncio.Event) -> None:
        self.ticket = await self._timed(
            self.store.open(line="112", caller_number=f"0812{self.n}", channel_id=f"pg.{self.n}", received_at=utcnow())
        )
        step = 0
        while not stop.is_set():
            step += 1
            await self._timed(self.store.event(self.ticket, "step", {"n": step}))
            self.steps.append(step)
            if step % 5 == 0:
                key = await self._timed(
                    self.store.start_attempt(
                        self.ticket, unit=f"u{step}", agency="psc", dial=f"PJSIP/u{step}", started_at=utcnow()
                    )
                )
                await self._timed(self.store.update_attempt(key, outcome="no-answer", ended_at=utcnow()))
                self.attempts.append(key.seq)
            await self._timed(self.store.update(self.ticket, category="medical" if step % 2 else "fire"))
            await asyncio.sleep(0.01)  # pacing: a call writes a few times a second, not in a busy loop
        await self._timed(self.store.update(self.ticket, status="ended", disposition="completed", ended_at=utcnow()))


async def test_stopping_postgresql_mid_traffic_delays_no_write_and_loses_or_doubles_none(private_postgres, tmp_path):
    db.migrate(private_postgres.url)
    engine = db.make_engine(private_postgres.url)
    store = CaseStore(db.session_factory(engine), tmp_path / "journal")
    stop = asyncio.Event()
    calls = [FakeCall(store, n) for n in range(CALLS)]
    tasks = [asyncio.create_task(c.run(stop)) for c in calls]
    try:
        await eventually(lambda: all(len(c.steps) >= 5 for c in calls), 20, "traffic to flow")
        await asyncio.to_thread(private_postgres.stop)
        stopped_at = [len(c.steps) for c in calls]
        await eventually(lambda: store.status()["database"] == "degraded", 10, "the store to notice the outage")
        await eventually(
            lambda: all(len(c.steps) >= s + 20 for c, s in zip(calls, stopped_at)), 30, "writes during the outage"
        )
        during = store.status()
        assert during["backlog"] > CALLS * 20 and during["oldest_pending_seconds"] > 0
        await asyncio.to_thread(private_postgres.start)
        restarted_at = [len(c.steps) for c in calls]
        await eventually(lambda: all(len(c.steps) >= s + 5 for c, s in zip(calls, restarted_at)), 20, "traffic after")
        stop.set()
        await asyncio.gather(*tasks)
        assert await asyncio.to_thread(store.settle, 60), f"the backlog did not drain: {store.status()}"
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not private_postgres.running():
            private_postgres.start()
        store.close()

    assert max(c.slowest for c in calls) < PROMPT
    assert store.status() == {"database": "ok", "backlog": 0, "oldest_pending_seconds": 0.0, "rejected": 0}
    sessions = db.session_factory(engine)
    with sessions() as session:
        assert len(service.list_cases(session)) == CALLS
        for call in calls:
            case = service.get_case(session, call.ticket)
            events = service.events_of(session, case.id)
            assert [e.kind for e in events[:1]] == ["received"]
            assert [e.detail["n"] for e in events[1:]] == call.steps  # each once, in order
            attempts = service.attempts_of(session, [case.id])
            assert [(a.seq, a.outcome) for a in attempts] == [(s, "no-answer") for s in call.attempts]
            assert (case.status, case.disposition, case.category) == (
                "ended",
                "completed",
                "medical" if call.steps[-1] % 2 else "fire",
            )
        # Applied in journal order across all calls: database ids grow with the sequence numbers.
        row_of = {e.op_id: e.id for e in session.exec(select(CaseEvent)) if e.op_id}
    journal = [json.loads(line) for line in (tmp_path / "journal" / "journal.jsonl").read_text().splitlines()]
    ids = [row_of[op["id"]] for op in journal if op["op"] in ("open", "event")]
    assert ids == sorted(ids) and len(ids) == len(row_of)
    engine.dispose()
