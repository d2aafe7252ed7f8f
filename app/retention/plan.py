"""What is past its retention period: a list, nothing changed (``--dry-run`` prints it as it is).

Ages are file modification times: a filed recording is written when its call
ends, a rotated log when it is closed. A rotated fallback journal is listed only
once the call service has read it to its end (``journal_files.finished``); the
case journals' rejected writes are listed entry by entry (the file stays).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.asterisk import constants as k
from app.asterisk.journal_files import finished, load_position, position_file, rejected_dir, rotated
from app.cases.callers import UNFILED, is_ticket
from app.retention.places import Places
from app.settings import RetentionSettings

DAY = 86400.0

RECORDING = "recording"  # <ticket>.wav: its case is marked "recording.purged"
UNFILED_RECORDING = "unfiled recording"  # no case: unfiled/ and Asterisk's own recordings folder
ASTERISK_LOG = "asterisk log"
FALLBACK_JOURNAL = "fallback journal"
REJECTED_LINES = "rejected journal lines"
REJECTED_WRITES = "rejected case writes"
KINDS = (RECORDING, UNFILED_RECORDING, ASTERISK_LOG, FALLBACK_JOURNAL, REJECTED_LINES, REJECTED_WRITES)


@dataclass(frozen=True)
class Item:
    kind: str
    path: Path
    size: int
    modified: float  # epoch seconds
    ticket: str | None = None  # a filed recording: its case
    entries: int = 0  # lines of the file that go (the file stays); 0: the whole file goes


def plan(where: Places, keep: RetentionSettings, now: float) -> list[Item]:
    voices, logs = now - keep.recordings_days * DAY, now - keep.logs_days * DAY
    items = [
        Item(RECORDING if is_ticket(p.stem) else UNFILED_RECORDING, p, size, at, p.stem if is_ticket(p.stem) else None)
        for p, size, at in _older(where.recordings.glob("*.wav"), voices)
    ]
    items += _items(UNFILED_RECORDING, (where.recordings / UNFILED).glob("*.wav"), voices)
    if where.spool is not None:
        items += _items(UNFILED_RECORDING, where.spool.glob(f"{k.CALL_RECORDING_PREFIX}*.wav"), voices)
    if where.logs is not None:
        items += _items(ASTERISK_LOG, rotated(where.logs / "messages"), logs)
    if where.console is not None:
        items += _items(ASTERISK_LOG, rotated(where.console), logs)
    if where.journal is not None:
        position = load_position(position_file(where.journal_dir), where.journal)
        items += _items(FALLBACK_JOURNAL, finished(where.journal, position), logs)
    items += _items(REJECTED_LINES, rejected_dir(where.journal_dir).glob("*.jsonl"), logs)
    for path in sorted(where.journal_dir.glob("cases-*/rejected.jsonl")):
        old = sum(1 for entry in read_entries(path) if entry_time(entry, path) < logs)
        if old:
            st = path.stat()
            items.append(Item(REJECTED_WRITES, path, st.st_size, st.st_mtime, entries=old))
    return items


def _items(kind: str, paths: Iterable[Path], before: float) -> list[Item]:
    return [Item(kind, p, size, at) for p, size, at in _older(paths, before)]


def _older(paths: Iterable[Path], before: float) -> list[tuple[Path, int, float]]:
    out = []
    for path in sorted(paths):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        if st.st_mtime < before:
            out.append((path, st.st_size, st.st_mtime))
    return out


def read_entries(path: Path) -> list[dict]:
    """A case journal's ``rejected.jsonl``; a line that is not JSON is kept as it is (``raw``)."""
    entries = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            try:
                entries.append(json.loads(line))
            except ValueError:
                entries.append({"raw": line})
    return entries


def entry_time(entry: dict, path: Path) -> float:
    """When it was rejected (older entries: when its op was written; else the file's time)."""
    # Any: read from JSON, so maybe missing, maybe not a string (both a TypeError below).
    candidates: tuple[Any, ...] = (entry.get("rejected_at"), (entry.get("op") or {}).get("at"))
    for text in candidates:
        try:
            return datetime.fromisoformat(text).timestamp()
        except (TypeError, ValueError):
            continue
    return path.stat().st_mtime
