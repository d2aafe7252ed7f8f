"""``logger rotate`` on an Asterisk instance, only when the fallback journal's reader is not behind.

Principle: rotation renames every log file of the instance to ``<name>.<epoch>``
(logger.conf) and opens new ones; Asterisk's console output is copied and emptied. The call service finds its place in a
rotated journal by inode and finishes it, but it must not fall further behind:
while it has not reached the current journal (it is down, say), no new rotation
is made, so at most one rotated journal is ever unread, and retention never
removes one it has not read. Two rotations within one second would give one
name to two files (the second rename overwrites the first): never done.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from app.asterisk.journal_files import caught_up, load_position, position_file, rotated
from app.asterisk.runtime import AsteriskInstance


class NotRotated(Exception):
    """Nothing was rotated; the message says why."""


class SmallEnough(NotRotated):
    """Nothing was rotated because no file reached the size asked for: nothing wrong."""


def rotate_logs(instance: AsteriskInstance, journal_dir: Path, *, above_bytes: int = 0) -> list[Path]:
    """Rotate the instance's log files; returns the rotated files it made."""
    journal = instance.fallback_journal
    logs = [instance.launcher.host_path(instance.folders.log) / "messages", journal]
    if not caught_up(journal, load_position(position_file(journal_dir), journal)):
        raise NotRotated(
            "the call service has not yet read the fallback journal rotated last (is it running?); "
            "not rotating again until it has"
        )
    if above_bytes and all(_size(p) < above_bytes for p in logs):
        raise SmallEnough(f"no log file has reached {above_bytes} bytes")
    if not instance.answering():
        raise NotRotated(f"Asterisk instance '{instance.name}' is not running")
    before = {p for log in logs for p in rotated(log)}
    while any(log.with_name(f"{log.name}.{int(time.time())}").exists() for log in [*logs, instance.log_path]):
        time.sleep(0.05)  # this second's names are taken: wait for the next one
    instance.cli("logger rotate")
    made = sorted({p for log in logs for p in rotated(log)} - before)
    return made + copy_truncate(instance.log_path)


def copy_truncate(path: Path) -> list[Path]:
    """Asterisk's console output (``var/log/asterisk-<name>.log``, its stdout: it cannot reopen it).

    Copied to ``<name>.<epoch>``, then emptied; Asterisk writes it in append mode, so it goes on at
    the start. Lines written between the copy and the truncation (a moment) are lost: a console copy.
    """
    if _size(path) == 0:
        return []
    copy = path.with_name(f"{path.name}.{int(time.time())}")
    shutil.copyfile(path, copy)
    os.truncate(path, 0)
    return [copy]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
