"""The dialplan fallback journal as files: where its reader is, what rotation left, what was refused.

Principle: the reader's position is a file identity (its inode) and a byte
offset in it, never a name. ``logger rotate`` renames the journal to
``<name>.<epoch>`` (logger.conf ``rotatestrategy``) and opens a new one under
the old name, so a position in a renamed file is found again by its inode.
Reading goes on in order: the rest of that file, then any file rotated after it,
then the current file from its start. Rotated files are ordered by the epoch in
their names (``siaga logs rotate`` never rotates twice in one second), or by
their last write for other strategies' names. A rotated file is finished once
the reader has moved past it; only finished ones may be removed (retention).

Blocking file I/O: callers on an event loop run these in a thread.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from app.files import private_dir, write_private

log = logging.getLogger("siaga.journal")

READ_AT_ONCE = 1 << 20  # bytes read per round: a long backlog is read in rounds, memory stays bounded
LONGEST_LINE = 1 << 16  # a round reads on to the end of a line, at most this far (journal lines are < 4 KB)


@dataclass(frozen=True)
class Position:
    inode: int
    offset: int
    mtime_ns: int = 0  # of that file when the position was saved: orders the files rotated after it


@dataclass(frozen=True)
class Piece:
    """Bytes of one journal file not read yet, from ``start``."""

    path: Path
    inode: int
    mtime_ns: int
    start: int
    data: bytes
    # The data ends where the file ends for good (a rotated file, read to its end): a last line without
    # its newline is all there will be. Otherwise an incomplete last line waits for the next read.
    final: bool


def position_file(journal_dir: Path) -> Path:
    return journal_dir / "fallback.offset"


def rejected_dir(journal_dir: Path) -> Path:
    """Journal lines the call service could not use, one JSON Lines file per UTC day."""
    return journal_dir / "fallback-rejected"


def load_position(path: Path, journal: Path) -> Position | None:
    """The saved position; None before the first read (or when the file is unreadable: said in the log)."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    if text.isdigit():  # a plain byte offset (before rotation was handled): it was in the current file
        try:
            st = journal.stat()
        except FileNotFoundError:
            return None
        return Position(st.st_ino, int(text), st.st_mtime_ns)
    try:
        data = json.loads(text)
        return Position(int(data["inode"]), int(data["offset"]), int(data.get("mtime_ns", 0)))
    except (ValueError, KeyError, TypeError):
        log.error("fallback journal: unreadable read position in %s (%r); reading the current file again", path, text)
        return None


def save_position(path: Path, position: Position) -> None:
    """Replace the position file whole, durably (file and folder synced): a position that went back after a
    crash would read lines again."""
    text = json.dumps({"inode": position.inode, "offset": position.offset, "mtime_ns": position.mtime_ns})
    write_private(private_dir(path.parent) / path.name, text, fsync=True)


def rotated(journal: Path) -> list[Path]:
    """Files ``logger rotate`` made of ``journal`` (``<name>.<digits>``), oldest first."""
    try:
        entries = [e for e in os.scandir(journal.parent) if _rotated_name(journal.name, e.name) and e.is_file()]
    except FileNotFoundError:
        return []
    return sorted((Path(e.path) for e in entries), key=lambda p: (closed_at(p, p.stat()), p.name))


def _rotated_name(name: str, candidate: str) -> bool:
    return candidate.startswith(name + ".") and candidate[len(name) + 1 :].isdigit()


def closed_at(path: Path, st: os.stat_result) -> int:
    """When a rotated file was closed, in ns: the epoch in its name (``<name>.<epoch>``), else its last write."""
    suffix = path.name.rpartition(".")[2]
    return int(suffix) * 1_000_000_000 if len(suffix) >= 9 else st.st_mtime_ns


def _since(position: Position, mine: tuple[Path, os.stat_result] | None) -> tuple[int, bool]:
    """Rotated files after the one holding ``position``: closed after ``bound`` (or at it, when ``or_at``)."""
    if mine is not None:
        return closed_at(*mine), False
    # That file is gone: its last write we saw, to the second (names hold seconds); a file closed within
    # that second may be read again, which beats skipping it.
    return position.mtime_ns // 1_000_000_000 * 1_000_000_000, True


def unread(journal: Path, position: Position | None, limit: int = READ_AT_ONCE) -> tuple[list[Piece], bool]:
    """What follows ``position``, in order, up to about ``limit`` bytes; and whether more is left after it.

    The current file comes last, once every file rotated before it is read to its end.
    """
    try:
        fh = open(journal, "rb")  # opened before anything is listed: a rotation meanwhile moves nothing we read
    except FileNotFoundError:
        return [], False
    with fh:
        st = os.fstat(fh.fileno())
        pieces: list[Piece] = []
        start = 0
        if position is None:
            pass  # the first read: the current file from its start
        elif position.inode == st.st_ino:
            start = position.offset
            if st.st_size < start:
                log.warning("fallback journal %s is shorter than the read position: read again from its start", journal)
                start = 0
        else:
            pieces, more = _rotated_since(journal, position, current=st.st_ino, limit=limit)
            if more:
                return pieces, True  # the current file waits until the rotated ones are read
        data = _read_from(fh, start, limit - sum(len(p.data) for p in pieces))
        pieces.append(Piece(journal, st.st_ino, st.st_mtime_ns, start, data, final=False))
        return pieces, start + len(data) < st.st_size


def _rotated_since(journal: Path, position: Position, *, current: int, limit: int) -> tuple[list[Piece], bool]:
    files = [(p, p.stat()) for p in rotated(journal)]
    files = [(p, st) for p, st in files if st.st_ino != current]  # the current file rotated just now: read below
    mine = next(((p, st) for p, st in files if st.st_ino == position.inode), None)
    if mine is None:
        log.critical(
            "fallback journal: the file holding the read position (inode %d) is gone; lines it held after "
            "offset %d are lost. Going on with the files written after it.",
            position.inode,
            position.offset,
        )
        todo = []
    else:
        todo = [(mine[0], mine[1], position.offset)]
    bound, or_at = _since(position, mine)
    todo += [
        (p, st, 0)
        for p, st in files
        if st.st_ino != position.inode and (closed_at(p, st) > bound or (or_at and closed_at(p, st) == bound))
    ]
    pieces, budget = [], limit
    for path, st, start in todo:
        data = _read(path, start, budget)
        whole = start + len(data) >= st.st_size
        pieces.append(Piece(path, st.st_ino, st.st_mtime_ns, start, data, final=whole))
        budget -= len(data)
        if not whole or budget <= 0:
            return pieces, True  # the rest (of this file, the next ones, the current file) in the next round
    return pieces, False


def _read(path: Path, start: int, length: int) -> bytes:
    with open(path, "rb") as fh:
        return _read_from(fh, start, length)


def _read_from(fh, start: int, length: int) -> bytes:
    """``length`` bytes from ``start``, or more to end with a whole line (up to ``LONGEST_LINE``)."""
    fh.seek(start)
    data = fh.read(max(0, length))
    while b"\n" not in data and len(data) < LONGEST_LINE:
        more = fh.read(4096)
        if not more:
            break
        data += more
    return data


def caught_up(journal: Path, position: Position | None) -> bool:
    """Whether the reader is in the current file, so that every rotated file is finished."""
    try:
        inode = journal.stat().st_ino
    except FileNotFoundError:
        return True
    return position is not None and position.inode == inode


def finished(journal: Path, position: Position | None) -> list[Path]:
    """Rotated journal files the reader is done with: they may be removed."""
    if position is None:
        return []
    files = rotated(journal)
    if caught_up(journal, position):
        return files
    stats = [(p, p.stat()) for p in files]
    mine = next(((p, st) for p, st in stats if st.st_ino == position.inode), None)
    bound, _ = _since(position, mine)
    return [p for p, st in stats if st.st_ino != position.inode and closed_at(p, st) < bound]
