"""The journal reader across Asterisk's log rotation: no line lost, none read twice."""

from __future__ import annotations

import os
import time

from app.asterisk.journal_files import load_position
from app.cases import service
from ivr.fallback_journal import FallbackJournal
from tests.ivr.calls.conftest import migrated, sessions, store  # noqa: F401  (fixtures)
from tests.ivr.test_fallback_journal import BANNER, end_line, start_line


def rotate(path) -> None:
    """What ``logger rotate`` does (rotatestrategy=timestamp): close, rename to <name>.<epoch>, open anew."""
    taken = {p.name for p in path.parent.iterdir()}
    epoch = int(time.time())
    while f"{path.name}.{epoch}" in taken:
        epoch += 1
    path.rename(path.with_name(f"{path.name}.{epoch}"))
    path.write_text(BANNER + "\n")


def append(path, text: str) -> None:
    with open(path, "a") as fh:
        fh.write(text)


def events(store, sessions):  # noqa: F811
    """{channel: [event kinds]} of every case, and the cases' count."""
    assert store.settle(10)
    with sessions() as session:
        found = service.list_cases(session)
        return {c.channel_id: sorted(e.kind for e in service.events_of(session, c.id)) for c in found}, len(found)


ONCE = ["fallback.dialplan", "fallback.ended", "received"]


async def test_lines_on_both_sides_of_a_rotation_are_each_read_once(store, sessions, tmp_path):  # noqa: F811
    path = tmp_path / "fallback.log"
    path.write_text(BANNER + "\n" + start_line("1.1"))
    journal = FallbackJournal(path, tmp_path / "fallback.offset", store)
    assert await journal.import_new() == 1
    append(path, start_line("1.2") + end_line("1.1"))  # written, not read yet, when the file is rotated
    rotate(path)
    append(path, end_line("1.2") + start_line("1.3"))
    append(path, end_line("1.3")[:30])  # being written
    assert await journal.import_new() == 4
    append(path, end_line("1.3")[30:])
    assert await journal.import_new() == 1
    assert events(store, sessions) == ({"1.1": ONCE, "1.2": ONCE, "1.3": ONCE}, 3)
    assert load_position(tmp_path / "fallback.offset", path).inode == path.stat().st_ino


async def test_two_rotations_while_the_service_was_down_are_read_in_order(store, sessions, tmp_path):  # noqa: F811
    path = tmp_path / "fallback.log"
    path.write_text(BANNER + "\n")
    journal = FallbackJournal(path, tmp_path / "fallback.offset", store)
    await journal.import_new()
    calls = [f"2.{i}" for i in range(6)]
    for i, channel in enumerate(calls):
        append(path, start_line(channel) + end_line(channel))
        if i in (1, 3):
            rotate(path)
            os.utime(path, ns=(time.time_ns() + i, time.time_ns() + i))  # each file written after the last
    assert await journal.import_new() == 12
    assert events(store, sessions) == ({c: ONCE for c in calls}, 6)


async def test_a_long_backlog_is_read_in_bounded_rounds_in_order(store, sessions, tmp_path):  # noqa: F811
    path = tmp_path / "fallback.log"
    path.write_text(BANNER + "\n")
    journal = FallbackJournal(path, tmp_path / "fallback.offset", store, read_limit=300)  # about two lines a round
    assert await journal.import_new() == 0
    append(path, "".join(start_line(f"3.{i}") + end_line(f"3.{i}") for i in range(10)))
    rotate(path)
    append(path, "".join(start_line(f"3.{i}") + end_line(f"3.{i}") for i in range(10, 20)))
    assert await journal.import_new() == 40
    assert events(store, sessions) == ({f"3.{i}": ONCE for i in range(20)}, 20)


async def test_the_plain_offset_of_earlier_versions_is_taken_as_a_position_in_the_current_file(
    store, sessions, tmp_path
):  # noqa: F811
    path = tmp_path / "fallback.log"
    read = start_line("4.1")
    path.write_text(read + start_line("4.2"))
    (tmp_path / "fallback.offset").write_text(str(len(read.encode())))
    journal = FallbackJournal(path, tmp_path / "fallback.offset", store)
    assert await journal.import_new() == 1
    assert set(events(store, sessions)[0]) == {"4.2"}
