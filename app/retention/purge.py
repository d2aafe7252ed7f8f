"""Removing what ``plan`` listed, one item at a time; nothing else.

Principle: a case never silently loses its recording. Before a filed
recording's file goes, its case is changed in the database in one commit:
``recording`` cleared and a ``recording.purged`` event (who: retention, the
period). Without the database, filed recordings stay for the next run; the
rest goes on. An item that cannot be removed is reported, not fatal. A case
journal's ``rejected.jsonl`` is rewritten without its old entries under the
lock its writer takes (``ivr.calls.journal``), then put in place atomically.
"""

from __future__ import annotations

import fcntl
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.files import write_private
from app.retention.plan import RECORDING, Item, entry_time, read_entries

# (ticket, file name) -> whether a case named that file (and was marked); raises when the database fails.
Marker = Callable[[str, str], bool]


@dataclass
class Outcome:
    removed: Counter = field(default_factory=Counter)  # items by kind
    entries: int = 0  # rejected case writes removed from files that stay
    bytes: int = 0
    marked: int = 0  # cases whose recording was purged
    kept: list[tuple[Item, str]] = field(default_factory=list)  # items not removed, and why


def purge(items: list[Item], *, mark: Marker | None, logs_before: float, advance: Callable[[], None]) -> Outcome:
    out = Outcome()
    for item in items:
        try:
            _remove(item, mark, logs_before, out)
        except Exception as exc:  # this one stays; the others go on
            out.kept.append((item, str(exc) or type(exc).__name__))
        advance()
    return out


def _remove(item: Item, mark: Marker | None, logs_before: float, out: Outcome) -> None:
    if item.kind == RECORDING and item.ticket:
        if mark is None:
            out.kept.append((item, "database not reachable: its case cannot be marked"))
            return
        if mark(item.ticket, item.path.name):
            out.marked += 1
    if item.entries:
        out.entries += drop_old_entries(item.path, logs_before)
    else:
        item.path.unlink(missing_ok=True)
    out.removed[item.kind] += 1
    out.bytes += item.size


def drop_old_entries(path: Path, before: float) -> int:
    """Rewrite a case journal's ``rejected.jsonl`` without the entries older than ``before``; how many went."""
    with open(path, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # the call service appends under the same lock
        entries = read_entries(path)
        kept = [e for e in entries if entry_time(e, path) >= before]
        if len(kept) == len(entries):
            return 0
        text = "".join(e["raw"] + "\n" if set(e) == {"raw"} else json.dumps(e, ensure_ascii=False) + "\n" for e in kept)
        # Caller data: owner-only, replaced whole; a writer waiting for the lock sees the new file and appends there.
        write_private(path, text, fsync=True)  # a writer waiting for the lock sees the new file and appends there
        return len(entries) - len(kept)
