"""The fallback journal's files: the reader's position, rotated files, which of them are finished."""

from __future__ import annotations

import os

from app.asterisk.journal_files import (
    Position,
    caught_up,
    finished,
    load_position,
    rotated,
    save_position,
    unread,
)


def journal_with_rotations(tmp_path, count: int):
    """``fallback.log`` and ``count`` rotated files, oldest first, each written after the one before."""
    path = tmp_path / "fallback.log"
    olds = []
    for n in range(count):
        closed = 1796390000 + 3600 * n  # rotated hourly; each last written a moment before its rotation
        old = tmp_path / f"fallback.log.{closed}"
        old.write_text(f"file {n}\n")
        os.utime(old, ns=(closed * 10**9 - 10**8, closed * 10**9 - 10**8))
        olds.append(old)
    path.write_text("current\n")
    return path, olds


def test_the_position_is_saved_as_inode_and_offset_and_an_old_plain_offset_is_read(tmp_path):
    path, _ = journal_with_rotations(tmp_path, 0)
    where = tmp_path / "fallback.offset"
    assert load_position(where, path) is None
    where.write_text("5")  # earlier versions: a byte offset in the current file
    assert load_position(where, path) == Position(path.stat().st_ino, 5, path.stat().st_mtime_ns)
    save_position(where, Position(42, 7, 9))
    assert load_position(where, path) == Position(42, 7, 9)
    where.write_text("{not json")
    assert load_position(where, path) is None


def test_rotated_files_are_the_numbered_ones_oldest_first_by_the_epoch_in_their_names(tmp_path):
    path, olds = journal_with_rotations(tmp_path, 3)
    (tmp_path / "fallback.log.1.gz").write_text("compressed: not ours to read")
    (tmp_path / "fallback.offset").write_text("0")
    os.utime(olds[0], None)  # touched now (a copy, a chmod): still the oldest by its name
    assert rotated(path) == olds


def test_a_reader_in_the_current_file_has_finished_every_rotated_one(tmp_path):
    path, olds = journal_with_rotations(tmp_path, 3)
    here = Position(path.stat().st_ino, 0)
    assert caught_up(path, here) and finished(path, here) == olds


def test_only_files_older_than_the_one_being_read_are_finished(tmp_path):
    path, olds = journal_with_rotations(tmp_path, 3)
    reading = Position(olds[1].stat().st_ino, 3)
    assert not caught_up(path, reading)
    assert finished(path, reading) == [olds[0]]
    assert finished(path, None) == []  # a reader that never ran has finished nothing


def test_the_unread_part_is_the_rest_of_the_file_being_read_then_later_files_then_the_current_one(tmp_path):
    path, olds = journal_with_rotations(tmp_path, 3)
    pieces, more = unread(path, Position(olds[1].stat().st_ino, 2))
    assert [(p.path, p.data, p.final) for p in pieces] == [
        (olds[1], b"le 1\n", True),
        (olds[2], b"file 2\n", True),
        (path, b"current\n", False),
    ]
    assert not more


def test_a_read_in_rounds_stops_at_its_budget_and_says_more_is_left(tmp_path):
    path, olds = journal_with_rotations(tmp_path, 2)
    pieces, more = unread(path, Position(olds[0].stat().st_ino, 0), limit=8)
    # 8 bytes: the first file, then on to the end of a line of the next (a round reads whole lines).
    assert [(p.path, p.data) for p in pieces] == [(olds[0], b"file 0\n"), (olds[1], b"file 1\n")]
    assert more  # the current file in the next round


def test_when_the_file_being_read_is_gone_the_files_written_after_it_are_still_read(tmp_path, caplog):
    path, olds = journal_with_rotations(tmp_path, 3)
    lost = Position(inode=1, offset=0, mtime_ns=olds[1].stat().st_mtime_ns)
    pieces, _ = unread(path, lost)
    assert [p.path for p in pieces] == [olds[1], olds[2], path]
    assert "is gone" in caplog.text


def test_a_file_that_shrank_is_read_again_from_its_start(tmp_path):
    path, _ = journal_with_rotations(tmp_path, 0)
    pieces, _ = unread(path, Position(path.stat().st_ino, 1000))
    assert [p.data for p in pieces] == [b"current\n"]
