"""The case store's write-ahead journal: calls wait for local disk only, the database catches up.

The database here is the real SQLite file of the flow tests; an outage is a
session factory that refuses to connect, as SQLAlchemy does when PostgreSQL
is down (tests/ivr/calls/test_casestore_postgres.py stops a real one).
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading
import time
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from app.cases import service
from app.clock import utcnow
from ivr.calls import journal as journal_module
from ivr.calls.casestore import AttemptKey, CaseStore, journal_folder
from tests.app.cases import writers
from tests.support.waiting import until


class Switchable:
    """A session factory whose database can be switched off (connections refused) and on."""

    def __init__(self, sessions) -> None:
        self.sessions, self.down = sessions, threading.Event()

    def __call__(self):
        if self.down.is_set():
            raise OperationalError("connect", {}, ConnectionRefusedError("database is down"))
        return self.sessions()


async def one_call(store: CaseStore, n: int, written: list) -> str:
    """A call's worth of writes; ``written`` gets (ticket, what) in the order the awaits returned."""
    ticket = await store.open(line="112", caller_number=f"0812{n}", channel_id=f"chan.{n}", received_at=utcnow())
    written.append((ticket, "open"))
    await store.update(ticket, language="id", category="medical")
    await store.event(ticket, "ivr.select", {"language": "id"})
    first = await store.start_attempt(ticket, unit="psc-kuta", agency="psc", dial="PJSIP/psc-kuta", started_at=utcnow())
    await store.update_attempt(first, outcome="busy", ended_at=utcnow())
    second = await store.start_attempt(
        ticket, unit="psc-mengwi", agency="psc", dial="PJSIP/psc-mengwi", started_at=utcnow()
    )
    await store.update_attempt(second, outcome="answered", answered_at=utcnow())
    await store.update(ticket, status="ended", disposition="completed", ended_at=utcnow())
    await store.event(ticket, "ended", {"disposition": "completed"})
    written.append((ticket, "ended"))
    return ticket


def the_record(sessions, ticket: str) -> dict:
    with sessions() as session:
        case = service.get_case(session, ticket)
        return {
            "case": (case.status, case.disposition, case.category, case.ended_at is not None),
            "attempts": [(a.seq, a.unit, a.outcome) for a in service.attempts_of(session, [case.id])],
            "events": [e.kind for e in service.events_of(session, case.id)],
        }


EXPECTED = {
    "case": ("ended", "completed", "medical", True),
    "attempts": [(1, "psc-kuta", "busy"), (2, "psc-mengwi", "answered")],
    "events": ["received", "ivr.select", "ended"],
}


def count_rows(sessions) -> tuple[int, int, int]:
    with sessions() as session:
        cases = service.list_cases(session)
        attempts = service.attempts_of(session, [c.id for c in cases])
        events = sum(len(service.events_of(session, c.id)) for c in cases)
        return len(cases), len(attempts), events


def journal_lines(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]


# -- durability before the await returns -----------------------------------------
async def test_each_write_is_fsynced_to_the_journal_before_its_await_returns(sessions, tmp_path, monkeypatch):
    synced: list[int] = []  # journal size at each fsync
    real_fsync = os.fsync

    def spy(fd):
        real_fsync(fd)
        synced.append(os.fstat(fd).st_size)

    monkeypatch.setattr(journal_module.os, "fsync", spy)
    db = Switchable(sessions)
    db.down.set()  # nothing reaches the database: only the journal can make the write durable
    store = CaseStore(db, tmp_path / "j")
    try:
        ticket = await store.open(line="112", caller_number="0812", channel_id="c1", received_at=utcnow())
        size = (tmp_path / "j" / "journal.jsonl").stat().st_size
        assert size in synced
        await store.event(ticket, "ivr.select", {"language": "id"})
        size_after = (tmp_path / "j" / "journal.jsonl").stat().st_size
        assert size_after > size and size_after in synced
        assert [(op["seq"], op["op"], op["ticket"]) for op in journal_lines(tmp_path / "j")] == [
            (1, "open", ticket),
            (2, "event", ticket),
        ]
    finally:
        store.close(drain_seconds=0)


async def test_tickets_have_the_line_the_date_in_bali_and_a_local_number(store):
    late_evening_utc = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # 01:30 on the 28th in Bali
    tickets = [
        await store.open(line=line, caller_number=None, channel_id=f"c{n}", received_at=late_evening_utc)
        for n, line in enumerate(["112", "112", "14084"])
    ]
    assert tickets == ["112-261128-00001", "112-261128-00002", "14084-261128-00001"]


# -- a database outage ------------------------------------------------------------------
async def test_writes_return_at_once_during_an_outage_and_land_in_order_once_it_ends(sessions, tmp_path):
    db = Switchable(sessions)
    store = CaseStore(db, tmp_path / "j")
    try:
        before = [await one_call(store, 0, [])]
        assert store.settle(10)
        db.down.set()
        written: list = []
        started = time.monotonic()
        during = await asyncio.gather(*(one_call(store, n, written) for n in range(1, 6)))
        assert time.monotonic() - started < 2.0  # 45 writes, none waiting for the database
        until(lambda: store.status()["database"] == "degraded", 5, "the store to notice the outage")
        status = store.status()
        assert status["backlog"] == 45 and status["oldest_pending_seconds"] >= 0
        assert count_rows(sessions) == (1, 2, 3)  # nothing new reached the database
        db.down.clear()
        assert store.settle(15), "the backlog did not drain"
        assert store.status() == {"database": "ok", "backlog": 0, "oldest_pending_seconds": 0.0, "rejected": 0}
        for ticket in before + during:
            assert the_record(sessions, ticket) == EXPECTED
        assert count_rows(sessions) == (6, 12, 18)  # each exactly once
        with sessions() as session:  # applied in the order the calls were told "written"
            received = {c.ticket: c.id for c in service.list_cases(session)}
        opened = [t for t, what in written if what == "open"]
        assert sorted(opened, key=received.get) == opened
    finally:
        store.close()


async def test_a_channel_is_found_from_the_journal_while_the_database_is_down(sessions, tmp_path):
    db = Switchable(sessions)
    db.down.set()
    store = CaseStore(db, tmp_path / "j")
    try:
        ticket = await store.open(line="112", caller_number="0812", channel_id="chan.9", received_at=utcnow())
        assert await store.find_by_channel("chan.9") == ticket
        assert await store.find_by_channel("chan.unknown") is None
    finally:
        store.close(drain_seconds=0)


# -- crashes and restarts -----------------------------------------------------------------
async def test_a_new_store_replays_everything_a_crashed_one_never_applied_exactly_once(sessions, tmp_path):
    db = Switchable(sessions)
    db.down.set()
    crashed = CaseStore(db, tmp_path / "j")
    tickets = [await one_call(crashed, n, []) for n in range(3)]
    crashed.close(drain_seconds=0)  # the journal holds 27 ops, the database none of them
    assert count_rows(sessions) == (0, 0, 0)
    restarted = CaseStore(sessions, tmp_path / "j")
    try:
        assert restarted.settle(10) and restarted.status()["rejected"] == 0
        assert [the_record(sessions, t) for t in tickets] == [EXPECTED] * 3
        assert count_rows(sessions) == (3, 6, 9)
        later = await restarted.open(line="112", caller_number="0813", channel_id="c", received_at=utcnow())
        assert later not in tickets and await restarted.find_by_channel("chan.1") == tickets[1]
    finally:
        restarted.close()


async def test_a_crash_after_applying_but_before_the_checkpoint_duplicates_nothing(sessions, tmp_path, caplog):
    first = CaseStore(sessions, tmp_path / "j")
    tickets = [await one_call(first, n, []) for n in range(2)]
    first.close()
    assert count_rows(sessions) == (2, 4, 6)
    (tmp_path / "j" / "checkpoint").write_text(json.dumps({"seq": 0}))  # as if it died before checkpointing
    again = CaseStore(sessions, tmp_path / "j")
    try:
        assert "replaying 18 case writes" in caplog.text  # all of them are applied a second time
        assert again.settle(10)
        assert count_rows(sessions) == (2, 4, 6) and again.status()["rejected"] == 0
        assert [the_record(sessions, t) for t in tickets] == [EXPECTED] * 2
    finally:
        again.close()


async def test_tickets_stay_unique_across_restarts_and_above_tickets_already_in_the_database(sessions, tmp_path):
    now = utcnow()
    with sessions() as session:
        tickets = [
            writers.open_case(session, line="112", caller_number=None, channel_id=f"old{n}", received_at=now).ticket
            for n in range(3)
        ]
    down = Switchable(sessions)
    down.down.set()
    CaseStore(sessions, tmp_path / "j").close()  # a start with the database: its numbers are noted on disk
    for factory, opens in ((down, 1), (sessions, 2), (sessions, 2), (down, 1)):  # without it: from the disk alone
        store = CaseStore(factory, tmp_path / "j")
        tickets += [
            await store.open(line="112", caller_number=None, channel_id=f"c{len(tickets)}", received_at=now)
            for _ in range(opens)
        ]
        store.close(drain_seconds=0 if factory is down else 5)
    assert len(set(tickets)) == len(tickets) == 9
    numbers = [int(t.rsplit("-", 1)[1]) for t in tickets]
    assert numbers == sorted(numbers)


async def test_the_journal_is_emptied_once_applied_and_its_summary_survives_a_restart(sessions, tmp_path):
    store = CaseStore(sessions, tmp_path / "j", compact_bytes=1)
    ticket = await one_call(store, 1, [])
    journal = tmp_path / "j" / "journal.jsonl"
    until(lambda: journal.stat().st_size == 0, 10, "the journal to be compacted")
    assert json.loads((tmp_path / "j" / "checkpoint").read_text())["seq"] == 9
    store.close()
    db = Switchable(sessions)
    db.down.set()
    restarted = CaseStore(db, tmp_path / "j")
    try:
        assert await restarted.find_by_channel("chan.1") == ticket  # from state.json alone
        attempt = await restarted.start_attempt(ticket, unit="x", agency="psc", dial="PJSIP/x", started_at=utcnow())
        assert attempt == AttemptKey(ticket, 3)
        next_ticket = await restarted.open(line="112", caller_number=None, channel_id="c2", received_at=utcnow())
        assert int(next_ticket[-5:]) == int(ticket[-5:]) + 1
        assert [op["seq"] for op in journal_lines(tmp_path / "j")] == [10, 11]
    finally:
        restarted.close(drain_seconds=0)


async def test_a_torn_last_line_from_a_crash_mid_write_is_dropped(sessions, tmp_path):
    store = CaseStore(sessions, tmp_path / "j")
    ticket = await store.open(line="112", caller_number=None, channel_id="c1", received_at=utcnow())
    store.close()
    with open(tmp_path / "j" / "journal.jsonl", "ab") as fh:
        fh.write(b'{"id":"x","op":"event","tick')
    again = CaseStore(sessions, tmp_path / "j")
    try:
        await again.event(ticket, "after", None)
        assert again.settle(10)
        assert [op["op"] for op in journal_lines(tmp_path / "j")] == ["open", "event"]
    finally:
        again.close()
    assert the_record(sessions, ticket)["events"] == ["received", "after"]


# -- what the database refuses ----------------------------------------------------------
async def test_an_op_the_database_refuses_for_good_is_kept_aside_and_the_rest_still_lands(store, sessions, tmp_path):
    await store.update("112-000000-99999", status="ended")  # no such case: refused, every time
    ticket = await store.open(line="112", caller_number=None, channel_id="c1", received_at=utcnow())
    await store.event(ticket, "ivr.select", {"language": "en"})
    assert store.settle(10)
    assert the_record(sessions, ticket)["events"] == ["received", "ivr.select"]
    [rejected] = [json.loads(line) for line in (store.journal.rejected_path).read_text().splitlines()]
    assert rejected["op"]["ticket"] == "112-000000-99999" and "CaseNotFound" in rejected["error"]
    assert store.status()["rejected"] == 1


async def test_a_refused_op_inside_a_backlog_is_found_and_kept_aside_and_the_others_land_in_order(
    sessions, tmp_path, caplog
):
    db = Switchable(sessions)
    db.down.set()
    store = CaseStore(db, tmp_path / "j")
    try:
        before = await one_call(store, 1, [])
        await store.event("112-000000-99999", "lost", None)  # no such case: refused, every time
        after = await one_call(store, 2, [])
        assert store.status()["backlog"] == 19
        db.down.clear()  # one batch, refused as a whole: then op by op
        assert store.settle(15)
        assert [the_record(sessions, t) for t in (before, after)] == [EXPECTED] * 2
        assert store.status()["rejected"] == 1 and "refused as a batch" in caplog.text
        [rejected] = [json.loads(line) for line in store.journal.rejected_path.read_text().splitlines()]
        assert (rejected["op"]["seq"], rejected["op"]["ticket"]) == (10, "112-000000-99999")
    finally:
        store.close()


async def test_a_write_that_cannot_be_journalled_fails_in_its_own_call(store):
    ticket = await store.open(line="112", caller_number=None, channel_id="c1", received_at=utcnow())
    for bad in (
        store.update(ticket, status="lost"),
        store.event(ticket, "x", {"when": object()}),
        store.open(line="110", caller_number=None, channel_id="c2", received_at=utcnow()),
    ):
        try:
            await bad
        except (ValueError, TypeError):
            continue
        raise AssertionError("accepted a write that cannot be applied")
    await store.event(ticket, "fine", None)
    assert store.settle(10) and store.status()["rejected"] == 0


def test_op_ids_are_unique_fit_the_column_and_differ_between_runs():
    import subprocess
    import sys

    from ivr.calls.casestore import _op

    ids = [_op("event", "T1", {"kind": "x"})["id"] for _ in range(10_000)]
    assert len(set(ids)) == len(ids) and {len(i) for i in ids} == {32}
    # Another process (a restarted service) numbers from 1 again: its prefix keeps its ids apart.
    other = subprocess.run(
        [sys.executable, "-c", "from ivr.calls.casestore import _op; print(_op('event','T1',{})['id'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert len(other) == 32 and other not in ids and other[:16] != ids[0][:16]


# -- on disk -----------------------------------------------------------------------------
async def test_every_journal_file_is_private_whatever_the_umask(sessions, tmp_path):
    """Callers' numbers: the folders 0700, every new file 0600, one that existed before with 0644 not world-readable."""
    old = os.umask(0)
    try:
        folder = journal_folder(tmp_path / "journal", "sqlite:///cases.db")
        (folder / "journal.jsonl").write_text("")
        os.chmod(folder / "journal.jsonl", 0o644)  # as an earlier version left it
        store = CaseStore(sessions, folder, compact_bytes=1)
        try:
            ticket = await one_call(store, 1, [])
            await store.update("112-000000-99999", status="ended")  # refused: rejected.jsonl
            assert store.settle(10) and store.journal.rejected_path.exists()
            until(lambda: (folder / "journal.jsonl").stat().st_size == 0, 10, "the journal to be compacted")
            await store.event(ticket, "after", None)
        finally:
            store.close()
    finally:
        os.umask(old)
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["checkpoint", "database.txt", "journal.jsonl", "lock", "rejected.jsonl", "state.json"]
    # A file an earlier version left 0644 loses its world bits and keeps its group's (app/files.py, README).
    expected = {**dict.fromkeys(files, "0o600"), "journal.jsonl": "0o640"}
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in folder.iterdir()} == expected
    assert oct(stat.S_IMODE(folder.stat().st_mode)) == oct(stat.S_IMODE(folder.parent.stat().st_mode)) == "0o700"
