"""The applier's line lives on disk: memory holds a window of it, however long the database is away.

A small ``WINDOW`` here makes every backlog longer than memory holds; the order, the exactly-once
replay and what the database ends up with are checked as in test_casestore.py.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from datetime import timedelta

import pytest

from app.clock import utcnow
from ivr.calls import applier as applier_module
from ivr.calls.casestore import CaseStore
from tests.ivr.calls.test_casestore import EXPECTED, Switchable, count_rows, journal_lines, one_call, the_record
from tests.support.waiting import until

WINDOW = 20


@pytest.fixture
def small_window(monkeypatch):
    monkeypatch.setattr(applier_module, "WINDOW", WINDOW)


def opened_in_order(sessions, opened: list[str]) -> bool:
    from app.cases import service

    with sessions() as session:
        received = {c.ticket: c.id for c in service.list_cases(session)}
    return sorted(opened, key=received.get) == opened


async def test_during_an_outage_memory_holds_a_window_and_the_rest_of_the_line_waits_on_disk(
    sessions, tmp_path, small_window
):
    db = Switchable(sessions)
    db.down.set()
    store = CaseStore(db, tmp_path / "j")
    try:
        written: list = []
        tickets = await asyncio.gather(*(one_call(store, n, written) for n in range(10)))
        assert store.status()["backlog"] == 90
        assert len(store.applier.queue) < 2 * WINDOW  # a window, plus at most one group commit's worth
        until(lambda: store.status()["database"] == "degraded", 5, "the store to notice the outage")
        assert store.status()["oldest_pending_seconds"] > 0  # the head of the line is in memory
        # Back while calls still write: pushes and reads from the file meet while the line drains.
        db.down.clear()
        tickets += await asyncio.gather(*(one_call(store, n, written) for n in range(10, 20)))
        assert store.settle(15), "the backlog did not drain"
        assert store.status() == {"database": "ok", "backlog": 0, "oldest_pending_seconds": 0.0, "rejected": 0}
        assert [the_record(sessions, t) for t in tickets] == [EXPECTED] * 20
        assert count_rows(sessions) == (20, 40, 60)  # each exactly once
        assert opened_in_order(sessions, [t for t, what in written if what == "open"])
    finally:
        store.close()


async def test_a_restart_reads_a_long_backlog_from_the_journal_a_slice_at_a_time(sessions, tmp_path, small_window):
    db = Switchable(sessions)
    db.down.set()
    crashed = CaseStore(db, tmp_path / "j")
    tickets = [await one_call(crashed, n, []) for n in range(10)]
    crashed.close(drain_seconds=0)
    restarted = CaseStore(db, tmp_path / "j")  # still down: nothing drains meanwhile
    try:
        assert restarted.status()["backlog"] == 90 and len(restarted.applier.queue) == WINDOW
        db.down.clear()
        assert restarted.settle(15)
        assert [the_record(sessions, t) for t in tickets] == [EXPECTED] * 10
        assert count_rows(sessions) == (10, 20, 30) and opened_in_order(sessions, tickets)
    finally:
        restarted.close()


async def test_an_unreadable_line_in_the_middle_of_a_backlog_is_kept_aside_and_the_rest_still_lands(
    sessions, tmp_path, small_window
):
    db = Switchable(sessions)
    db.down.set()
    crashed = CaseStore(db, tmp_path / "j")
    tickets = [await one_call(crashed, n, []) for n in range(5)]
    crashed.close(drain_seconds=0)
    path = tmp_path / "j" / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    assert json.loads(lines[29])["args"]["kind"] == "ivr.select"  # the fourth call's; past the first window
    lines[29] = b"{not json\n"
    path.write_bytes(b"".join(lines))
    restarted = CaseStore(sessions, tmp_path / "j")
    try:
        assert restarted.settle(15) and restarted.status() == {
            "database": "ok",
            "backlog": 0,
            "oldest_pending_seconds": 0.0,
            "rejected": 0,  # the applier refused nothing: the line was kept aside when the journal was read
        }
        [kept] = [json.loads(line) for line in restarted.journal.rejected_path.read_text().splitlines()]
        assert kept["op"]["raw"].startswith("{not json")
        assert the_record(sessions, tickets[3])["events"] == ["received", "ended"]
        assert [the_record(sessions, t) for t in tickets[:3] + tickets[4:]] == [EXPECTED] * 4
    finally:
        restarted.close()


def test_a_start_reads_a_long_journal_a_line_at_a_time_not_whole(sessions, tmp_path):
    """What a long outage left behind: the new store's memory is a window of it, not the file and its ops."""
    db = Switchable(sessions)
    db.down.set()
    template = CaseStore(db, tmp_path / "one")
    asyncio.run(one_call(template, 0, []))
    template.close(drain_seconds=0)
    ops = journal_lines(tmp_path / "one")
    folder = tmp_path / "j"
    folder.mkdir()
    # 3,000 calls' worth, 27,000 ops, of an outage that ended an hour ago (the index forgets such calls).
    then = (utcnow() - timedelta(hours=1)).isoformat()
    with open(folder / "journal.jsonl", "w", encoding="utf-8") as fh:
        for n in range(3000):
            ticket = f"112-000101-{n + 1:05d}"
            for op in ops:
                seq = n * len(ops) + op["seq"]
                args = {k: then if k.endswith("_at") else v for k, v in op["args"].items()}
                args.update({"channel_id": f"chan.{n}"} if op["op"] == "open" else {})
                line = {**op, "id": f"{seq:032x}", "at": then, "ticket": ticket, "seq": seq, "args": args}
                fh.write(json.dumps(line, separators=(",", ":")) + "\n")
    size = (folder / "journal.jsonl").stat().st_size
    tracemalloc.start()
    try:
        store = CaseStore(db, folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        assert store.status()["backlog"] == 27_000 and len(store.applier.queue) == applier_module.WINDOW
        # Read whole it took 51 MiB here (the file, its lines, their ops); a window of it takes 1.4 MiB.
        assert peak < size / 2, f"{peak / 2**20:.1f} MiB at start for a {size / 2**20:.1f} MiB journal"
    finally:
        store.close(drain_seconds=0)
