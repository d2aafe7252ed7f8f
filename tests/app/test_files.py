"""Private files and folders are created without group or world access, whatever the umask."""

from __future__ import annotations

import os
import stat

import pytest

from app.files import append_private, open_private, private_dir, write_private


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def open_umask():
    """The most permissive umask: what tests and library users may run with."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_new_folders_and_their_missing_parents_are_0700(tmp_path):
    folder = private_dir(tmp_path / "a" / "b")
    assert folder == tmp_path / "a" / "b"
    assert mode(tmp_path / "a") == mode(folder) == 0o700


def test_an_existing_folder_loses_its_world_bits_only(tmp_path):
    (tmp_path / "shared").mkdir()
    os.chmod(tmp_path / "shared", 0o775)
    private_dir(tmp_path / "shared")
    assert mode(tmp_path / "shared") == 0o770


def test_a_sticky_shared_folder_is_left_alone(tmp_path):
    os.chmod(tmp_path, 0o1777)
    try:
        private_dir(tmp_path)
        assert mode(tmp_path) == 0o1777
    finally:
        os.chmod(tmp_path, 0o700)


def test_written_files_are_0600_and_replace_the_old_one_whole(tmp_path):
    target = tmp_path / "secret.conf"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_private(target, "new", fsync=True)
    assert target.read_text() == "new" and mode(target) == 0o600
    write_private(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.conf"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    target = tmp_path / "case.wav"
    target.write_bytes(b"old")

    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match="No space left"):
        write_private(target, b"new audio")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["case.wav"]


def test_appended_files_are_created_0600_and_old_ones_lose_their_world_bits(tmp_path):
    with append_private(tmp_path / "journal.jsonl", buffering=0) as fh:
        fh.write(b"one\n")
    with append_private(tmp_path / "journal.jsonl", encoding="utf-8") as fh:
        fh.write("two\n")
    assert (tmp_path / "journal.jsonl").read_text() == "one\ntwo\n"
    assert mode(tmp_path / "journal.jsonl") == 0o600
    old = tmp_path / "old.log"
    old.write_text("x")
    os.chmod(old, 0o664)
    os.close(open_private(old, os.O_RDONLY))
    assert mode(old) == 0o660
