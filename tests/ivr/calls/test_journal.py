"""The case journal's file under disk faults: no op is reported at bytes it does not hold, a
compaction that fails leaves a usable journal, a torn line in rejected.jsonl does not stop a start.
(Found by review; each test failed before its fix.)"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

import ivr.calls.applier as applier_module
import ivr.calls.journal as journal_module
from ivr.calls.applier import Applier
from ivr.calls.journal import Journal
from tests.support.waiting import until


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "cases")
    j.recover(lambda op: None)
    yield j
    j.close()


def test_after_a_failed_write_the_next_append_reports_the_bytes_it_wrote(journal, monkeypatch):
    journal.append([{"op": "open", "ticket": "t1"}])
    real = os.fsync

    def fails_once(fd):
        monkeypatch.setattr(journal_module.os, "fsync", real)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(journal_module.os, "fsync", fails_once)
    with pytest.raises(OSError):
        journal.append([{"op": "update", "ticket": "t1", "args": {"notes": "x" * 50}}])
    start, end = journal.append([{"op": "event", "ticket": "t1"}])
    assert end == journal.path.stat().st_size
    ops, reached = journal.read(start, end, 10)
    assert [op["op"] for op in ops] == ["event"] and reached == end


def test_a_compaction_on_a_full_disk_leaves_the_journal_usable(journal, monkeypatch):
    journal.append([{"op": "event", "ticket": "a"}])
    real = journal_module.write_atomically

    def full_for_new_files(path, text):  # checkpoint and state.json fit; a new journal file does not
        if path.name == "journal.jsonl":
            raise OSError(28, "No space left on device")
        real(path, text)

    monkeypatch.setattr(journal_module, "write_atomically", full_for_new_files)
    assert journal.compact(1, {}) and journal.path.stat().st_size == 0  # emptied in place: no new file needed
    start, end = journal.append([{"op": "event", "ticket": "b"}])
    assert (start, end) == (0, journal.path.stat().st_size)
    assert [op["ticket"] for op in journal.read(start, end, 10)[0]] == ["b"]

    def full(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal_module, "write_atomically", full)
    with pytest.raises(OSError):  # the checkpoint cannot be written: nothing is emptied
        journal.compact(2, {})
    assert [op["ticket"] for op in journal.read(0, journal.path.stat().st_size, 10)[0]] == ["b"]


def test_a_torn_line_in_rejected_jsonl_does_not_stop_the_next_start(tmp_path):
    folder = tmp_path / "cases"
    j = Journal(folder)
    j.recover(lambda op: None)
    j.reject({"op": "open", "ticket": "112-261204-00001"}, "refused")
    with open(folder / "rejected.jsonl", "a") as fh:
        fh.write('{"op": {"op": "upd')  # a crash mid-append
    j.close()
    again = Journal(folder)
    again.recover(lambda op: None)
    try:
        assert again.rejected_opens() == {"112-261204-00001"}
        Applier(again, lambda: None, lambda op: op, lambda applied: None)  # raised JSONDecodeError before
    finally:
        again.close()


def test_the_applier_thread_survives_a_failure_between_batches(journal, monkeypatch):
    monkeypatch.setattr(applier_module, "GATHER_SECONDS", 0.0)
    applied: list[int] = []
    monkeypatch.setattr(applier_module.bulk, "apply_ops", lambda session, ops: applied.extend(o["seq"] for o in ops))

    class Session:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def commit(self):
            pass

    failures = threading.Event()

    def after_idle(seq):
        if not failures.is_set():  # e.g. compaction on a full disk
            failures.set()
            raise OSError(28, "No space left on device")

    applier = Applier(journal, Session, lambda op: op, after_idle)
    applier.start()
    try:
        for ticket in "abc":
            ops = [{"op": "event", "ticket": ticket}]
            applier.push(ops, *journal.append(ops))
            time.sleep(0.1)
        until(lambda: applied == [1, 2, 3], 10, "every op applied after the failure")
        assert failures.is_set() and applier._thread.is_alive()
    finally:
        applier.stop(drain_seconds=1)
    assert json.loads((journal.folder / "checkpoint").read_text())["seq"] == 3
