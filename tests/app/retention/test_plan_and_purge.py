"""What retention lists and removes, on real files with real ages; nothing younger, nothing unread."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time

from app.asterisk.journal_files import Position, position_file, rejected_dir, save_position
from app.retention.places import Places
from app.retention.plan import (
    ASTERISK_LOG,
    FALLBACK_JOURNAL,
    RECORDING,
    REJECTED_LINES,
    REJECTED_WRITES,
    UNFILED_RECORDING,
    plan,
)
from app.retention.purge import drop_old_entries, purge
from app.settings import RetentionSettings
from ivr.calls.journal import Journal
from tests.support.waiting import until

DAY = 86400
NOW = time.time()
KEEP = RetentionSettings(recordings_days=90, logs_days=30)


def aged(path, days: float, text: str = "x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    at = NOW - days * DAY
    os.utime(path, (at, at))
    return path


def folders(tmp_path) -> Places:
    return Places(
        recordings=tmp_path / "recordings",
        journal_dir=tmp_path / "journal",
        spool=tmp_path / "spool",
        logs=tmp_path / "log",
        journal=tmp_path / "j" / "fallback.log",
        console=tmp_path / "var" / "asterisk-main.log",
    )


def test_only_what_is_past_its_period_is_listed(tmp_path):
    where = folders(tmp_path)
    old = {
        RECORDING: aged(where.recordings / "112-260101-00001.wav", 91),
        UNFILED_RECORDING: aged(where.recordings / "unfiled" / "20260101T000000-abc.wav", 91),
        ASTERISK_LOG: aged(where.logs / "messages.1780000000", 31),
        REJECTED_LINES: aged(rejected_dir(where.journal_dir) / "2026-01-01.jsonl", 31),
    }
    console = aged(where.console.with_name("asterisk-main.log.1780000000"), 31)
    spool = aged(where.spool / "siaga-call-1780000000-1.wav", 91)  # recorded, never filed
    young = [
        aged(where.recordings / "112-260401-00002.wav", 89),
        aged(where.logs / "messages.1790000000", 29),
        aged(where.logs / "messages", 40),  # the current file: rotated first, never removed
        aged(where.console, 40),
        aged(where.spool / "other-recording.wav", 200),  # not one of our calls
    ]
    items = plan(where, KEEP, NOW)
    also = {(UNFILED_RECORDING, spool), (ASTERISK_LOG, console)}
    assert {(i.kind, i.path) for i in items} == {(k, p) for k, p in old.items()} | also
    assert [i.ticket for i in items if i.kind == RECORDING] == ["112-260101-00001"]
    assert all(p.exists() for p in young)


def test_a_rotated_fallback_journal_goes_only_once_the_call_service_has_read_it(tmp_path):
    where = folders(tmp_path)
    older = aged(where.journal.with_name("fallback.log.1780000000"), 40)
    reading = aged(where.journal.with_name("fallback.log.1781000000"), 35)
    aged(where.journal, 1)
    assert not [i for i in plan(where, KEEP, NOW) if i.kind == FALLBACK_JOURNAL]  # reader never ran: keep all
    save_position(position_file(where.journal_dir), Position(reading.stat().st_ino, 3))
    assert [i.path for i in plan(where, KEEP, NOW) if i.kind == FALLBACK_JOURNAL] == [older]
    save_position(position_file(where.journal_dir), Position(where.journal.stat().st_ino, 0))
    assert [i.path for i in plan(where, KEEP, NOW) if i.kind == FALLBACK_JOURNAL] == [older, reading]


def test_old_rejected_case_writes_go_entry_by_entry_and_the_file_stays(tmp_path):
    where = folders(tmp_path)
    journal = Journal(where.journal_dir / "cases-0123456789")
    path = journal.rejected_path
    old = {"op": {"at": "2020-01-01T00:00:00+00:00", "ticket": "112-200101-00001"}, "error": "refused"}
    path.write_text(json.dumps(old) + "\n" + "not json at all\n")
    os.utime(path, (NOW - 40 * DAY, NOW - 40 * DAY))  # the unreadable line's age is the file's
    journal.reject({"at": "2026-01-01T00:00:00+00:00", "ticket": "112-260101-00009"}, "refused today")
    [item] = [i for i in plan(where, KEEP, NOW) if i.kind == REJECTED_WRITES]
    assert item.entries == 1  # the file is new again (just written): its unreadable line counts as new
    assert drop_old_entries(path, NOW - 30 * DAY) == 1
    kept = path.read_text().splitlines()
    assert kept[0] == "not json at all" and json.loads(kept[1])["error"] == "refused today"
    journal.close()


def waiting_for(path) -> bool:
    """Whether a process waits for a lock on ``path`` (a "->" line of /proc/locks names its inode)."""
    inode = f":{path.stat().st_ino} "
    return any("->" in line and inode in line for line in open("/proc/locks"))


def test_a_writer_waiting_while_the_file_is_rewritten_appends_to_the_new_file(tmp_path):
    journal = Journal(tmp_path / "cases-x")
    journal.reject({"at": "2020-01-01T00:00:00+00:00", "ticket": "t0"}, "old")
    with open(journal.rejected_path, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # retention has the file
        writer = threading.Thread(target=journal.reject, args=({"ticket": "t1"}, "while rewriting"))
        writer.start()
        until(lambda: waiting_for(journal.rejected_path))  # the writer opened the old file, waits for the lock
        tmp = journal.rejected_path.with_suffix(".tmp")
        tmp.write_text("")
        tmp.replace(journal.rejected_path)
    writer.join(5)
    assert [json.loads(x)["op"]["ticket"] for x in journal.rejected_path.read_text().splitlines()] == ["t1"]
    journal.close()


def test_filed_recordings_go_after_their_case_is_marked_and_stay_when_it_cannot_be(tmp_path):
    where = folders(tmp_path)
    filed = aged(where.recordings / "112-260101-00001.wav", 91)
    log = aged(where.logs / "messages.1780000000", 31)
    items = plan(where, KEEP, NOW)
    down = purge(items, mark=None, logs_before=NOW - 30 * DAY, advance=lambda: None)
    assert filed.exists() and not log.exists()
    assert [(i.path, why) for i, why in down.kept] == [(filed, "database not reachable: its case cannot be marked")]
    marked = []
    out = purge(
        plan(where, KEEP, NOW), mark=lambda t, f: marked.append((t, f)) or True, logs_before=0, advance=lambda: None
    )
    assert marked == [("112-260101-00001", "112-260101-00001.wav")] and not filed.exists()
    assert (out.marked, dict(out.removed), out.bytes) == (1, {RECORDING: 1}, 1)


def test_asterisks_console_output_is_copied_then_emptied_and_written_on(tmp_path):
    from app.retention.rotate import copy_truncate

    console = tmp_path / "asterisk-main.log"
    with open(console, "ab") as asterisk:  # Asterisk's stdout: append mode, never reopened
        asterisk.write(b"line 1\n")
        asterisk.flush()
        [copy] = copy_truncate(console)
        asterisk.write(b"line 2\n")
    assert copy.read_bytes() == b"line 1\n" and console.read_bytes() == b"line 2\n"
    assert copy.name.startswith("asterisk-main.log.") and copy_truncate(tmp_path / "none.log") == []
