"""Memory of the case store through a long database outage: the backlog must grow the disk, not the service.

Calls run through the real ``CallFlow`` (the fake telephony port of the unit tests: what a real call
writes, from the opening to the recording's name) against the real ``CaseStore`` (journal, applier
thread, ticket book) while its PostgreSQL, a private cluster (tests/support/postgres.py), is stopped.
Every ``step`` calls it samples the process RSS (after a ``malloc_trim``, as the service does once a
minute) and the memory Python's allocator holds (``tracemalloc``). Then it starts PostgreSQL again,
waits for the backlog to drain and checks that every case arrived once, complete, in the order the
calls were opened. Needs root and the PostgreSQL server binaries (initdb, pg_ctl).

The ticket book keeps an ended call for 10 minutes (for late fallback-journal lines); calls here run
far faster than real ones, so ``--keep-ended`` (default 2 s) stands for those 10 minutes, as in
bench/memory.py. Figures: docs/RELIABILITY.md.

    .venv/bin/python -m bench.outage --calls 10000 --step 1000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from app import db, paths
from app.cases.models import Attempt, Case
from app.directory.loader import load_directory
from ivr import memory
from ivr.calls import events as ev
from ivr.calls import ticketbook
from ivr.calls.casestore import CaseStore
from ivr.calls.flow import CONNECTING, CallFlow
from ivr.engine.menus import load_menus
from tests.ivr.calls.support import FakePort

AT_ONCE = 20  # calls in progress at a time (their writes share the journal's fsyncs)


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


@dataclass
class Sample:
    calls: int
    rss_mib: float
    traced_mib: float
    backlog: int


@dataclass
class Outage:
    """What a run saw: samples during the outage, then the drain."""

    samples: list[Sample] = field(default_factory=list)
    tickets: list[str] = field(default_factory=list)  # in the order the calls were opened

    def sample(self, calls: int, store: CaseStore) -> Sample:
        gc.collect()
        memory.release_free_memory()
        traced = tracemalloc.get_traced_memory()[0] / 2**20 if tracemalloc.is_tracing() else 0.0
        taken = Sample(calls, rss_mib(), traced, store.status()["backlog"])
        self.samples.append(taken)
        return taken

    def growth(self, since: int) -> tuple[float, float]:
        """RSS and traced MiB gained from the sample at ``since`` calls to the last one."""
        first = next(s for s in self.samples if s.calls == since)
        last = self.samples[-1]
        return last.rss_mib - first.rss_mib, last.traced_mib - first.traced_mib


async def one_call(n: int, store: CaseStore, menus, directory, recordings: Path, notify=None) -> str:
    """A 112 call: menu choices, one unit rings and answers, the caller hangs up, the recording is filed.

    ``notify``: where its live events go (none by default).
    """
    port = FakePort()
    flow = CallFlow(
        line="112",
        caller_number=f"08{n:010d}",
        channel_id=f"1800000000.{n}",
        port=port,
        store=store,
        menus=menus,
        directory=directory,
        recordings_dir=recordings,
        post=lambda event: None,
        **({"notify": notify} if notify is not None else {}),
    )
    await flow.start()
    for digit in ("1", "2"):
        await flow.handle(ev.DigitPressed(digit))
    leg = port.sent("dial")[0][0]
    await flow.handle(ev.PromptFinished(CONNECTING))
    await flow.handle(ev.LegRinging(leg))
    await flow.handle(ev.LegAnswered(leg))
    await flow.handle(ev.CallerLeftApp())
    assert flow.finished, f"call {n} did not end"
    return flow.ticket


async def run_calls(store: CaseStore, calls: int, step: int, outage: Outage, recordings: Path, say=print) -> None:
    menus, directory = load_menus(), load_directory(paths.DEMO_DIRECTORY)
    outage.sample(0, store)
    for first in range(0, calls, AT_ONCE):
        batch = range(first, min(first + AT_ONCE, calls))
        outage.tickets += await asyncio.gather(*(one_call(n, store, menus, directory, recordings) for n in batch))
        done = batch[-1] + 1
        if done % 200 == 0 or done == calls:  # the recordings (a WAV header each) are not what is measured
            shutil.rmtree(recordings, ignore_errors=True)
        if done % step == 0 or done == calls:
            s = outage.sample(done, store)
            say(f"{done:6d} calls: rss {s.rss_mib:6.1f} MiB, traced {s.traced_mib:6.1f} MiB, backlog {s.backlog}")


def check_drained(sessions, tickets: list[str]) -> None:
    """Every case once, ended with its answered attempt and its recording, in the order the calls were opened."""
    with sessions() as session:
        cases = session.exec(select(Case).order_by(col(Case.id))).all()
        attempts = session.exec(select(Attempt)).all()
    assert [c.ticket for c in cases] == tickets, "cases missing, doubled or out of order"
    assert all(c.status == "ended" and c.disposition == "completed" and c.recording for c in cases), "incomplete"
    answered = {a.case_id for a in attempts if a.outcome == "answered" and a.ended_at is not None}
    assert answered == {c.id for c in cases}, "an answered attempt is missing"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--step", type=int, default=1_000)
    parser.add_argument("--keep-ended", type=float, default=2.0, help="seconds standing for the book's 10 minutes")
    parser.add_argument("--no-tracemalloc", action="store_true", help="RSS only (tracing slows Python down)")
    parser.add_argument("--out", type=Path, help="write the samples and the drain as JSON here")
    args = parser.parse_args(argv)

    from tests.support.postgres import PrivatePostgres, private_postgres_available

    if not private_postgres_available():
        sys.exit("needs root and the PostgreSQL server binaries (initdb, pg_ctl)")
    ticketbook.KEEP_ENDED = timedelta(seconds=args.keep_ended)
    if not args.no_tracemalloc:
        tracemalloc.start()
    cluster, tmp = PrivatePostgres(), Path(tempfile.mkdtemp(prefix="siaga-outage-"))
    outage = Outage()
    try:
        cluster.start()
        db.migrate(cluster.url)
        engine = db.make_engine(cluster.url)
        sessions = db.session_factory(engine)
        store = CaseStore(sessions, tmp / "journal")
        cluster.stop()
        print(f"PostgreSQL stopped; {args.calls} calls, {AT_ONCE} at a time", flush=True)
        started = time.monotonic()
        asyncio.run(run_calls(store, args.calls, args.step, outage, tmp / "recordings"))
        calls_seconds = time.monotonic() - started
        journal_mib = (store.journal.path.stat().st_size) / 2**20
        backlog = store.status()["backlog"]
        print(f"outage: {calls_seconds:.0f} s, journal {journal_mib:.1f} MiB, backlog {backlog} writes", flush=True)
        cluster.start()
        started = time.monotonic()
        assert store.settle(3600), "the backlog did not drain within an hour"
        drain_seconds = time.monotonic() - started
        check_drained(sessions, outage.tickets)
        print(f"drained in {drain_seconds:.0f} s ({backlog / drain_seconds:.0f} writes/s), all in order", flush=True)
        store.close()
        engine.dispose()
        rss_growth, traced_growth = outage.growth(since=min(args.step, args.calls))
        print(f"growth from {args.step} to {args.calls} calls: rss {rss_growth:+.1f} MiB, traced {traced_growth:+.1f}")
        if args.out:
            args.out.write_text(
                json.dumps(
                    {
                        "samples": [s.__dict__ for s in outage.samples],
                        "journal_mib": journal_mib,
                        "backlog": backlog,
                        "drain_seconds": drain_seconds,
                    },
                    indent=1,
                )
            )
    finally:
        cluster.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
