"""The case write-ahead journal: one folder on local disk, owned by one process.

Principle: a case write exists once its line is in ``journal.jsonl`` and
fsync'ed; the database is only where it is applied later. Every op carries a
sequence number (its order) and an id (so applying it twice is harmless).
``checkpoint`` says up to which sequence number the database has everything;
once it has all of it, the journal is emptied, and ``state.json`` keeps what
the lines said that is still needed (ticket counters, recent channels).
Files are replaced atomically (write, fsync, rename, fsync the folder). The
lines hold callers' numbers: every file is created 0600 in a 0700 folder.

The file is never held in memory: at start it is read once, a line at a
time (``recover``), and a backlog is read back in slices by byte offset
(``read``), so a long database outage costs disk, not memory.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from app.files import append_private, fsync_dir, open_private, private_dir, write_private

log = logging.getLogger("siaga.casejournal")


class JournalBusy(RuntimeError):
    """Another process holds the journal folder."""


def write_atomically(path: Path, text: str) -> None:
    write_private(path, text, fsync=True)


class Journal:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        private_dir(folder)
        self._lock_fd = open_private(folder / "lock", os.O_RDWR)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise JournalBusy(f"the case journal {folder} is in use by another process") from None
        self.path, self.rejected_path = folder / "journal.jsonl", folder / "rejected.jsonl"
        self.state = self._read_json(folder / "state.json", {"seq": 0})
        self.checkpointed = int(self._read_json(folder / "checkpoint", {"seq": 0})["seq"])
        self.last_seq = max(self.state["seq"], self.checkpointed)
        # What ``recover`` found: the ops not yet known to be in the database, and where the first one starts.
        self.pending, self.pending_from = 0, 0
        self.lock = threading.Lock()  # appends and compaction never overlap
        self._file: BinaryIO | None = None  # open for appending once recovered

    @staticmethod
    def _read_json(path: Path, default: dict) -> dict:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return default

    def recover(self, note: Callable[[dict], None]) -> None:
        """Read the file once, a line at a time, showing every op to ``note``; then open it for appending.

        Counts the ops not yet checkpointed and notes where the first starts (``pending``, ``pending_from``).
        A torn last line (a crash mid-write: its writer was never told it was durable) is cut off; an
        unreadable line before it is copied to rejected.jsonl and skipped (``read`` skips it too).
        """
        good = 0  # bytes of whole lines so far
        for number, raw, last in _lines(self.path):
            op = _parse(raw)
            if op is None and last:
                log.warning("case journal: dropping a torn last line (%d bytes) of %s", len(raw), self.path)
                with open(self.path, "r+b") as fh:
                    fh.truncate(good)
                    os.fsync(fh.fileno())
                break
            if op is None:
                log.error("case journal: unreadable line %d of %s kept in rejected.jsonl", number, self.path)
                self.reject({"raw": raw.decode(errors="replace")}, "unreadable journal line")
            else:
                note(op)
                self.last_seq = max(self.last_seq, op["seq"])
                if op["seq"] > self.checkpointed:
                    if not self.pending:
                        self.pending_from = good
                    self.pending += 1
            good += len(raw)
        self._file = append_private(self.path, buffering=0)
        fsync_dir(self.folder)

    def read(self, start: int, end: int, most: int) -> tuple[list[dict], int]:
        """Up to ``most`` ops from byte ``start`` up to ``end``; returns them and where the next one starts."""
        ops: list[dict] = []
        with open(self.path, "rb") as fh:
            fh.seek(start)
            while start < end and len(ops) < most:
                raw = fh.readline()
                if not raw:
                    raise OSError(f"case journal {self.path} ends at byte {start}, before {end}")
                start += len(raw)
                if (op := _parse(raw)) is not None:  # an unreadable line was kept aside by ``recover``
                    ops.append(op)
        return ops, start

    def append(self, ops: list[dict]) -> tuple[int, int]:
        """Number ``ops``, write them and fsync once (group commit); returns their first and last byte + 1.

        Raises if the disk refuses.
        """
        assert self._file is not None, "recover() first"
        with self.lock:
            for n, op in enumerate(ops, start=1):
                op["seq"] = self.last_seq + n
            data = "".join(json.dumps(op, separators=(",", ":"), ensure_ascii=False) + "\n" for op in ops)
            encoded = data.encode("utf-8")
            start = self._file.tell()
            try:
                view = memoryview(encoded)
                while view:
                    view = view[self._file.write(view) :]
                os.fsync(self._file.fileno())
            except BaseException:
                # Leave no half line behind, or the next append would follow garbage; and move the
                # position back with it, or the next append would report bytes it did not write.
                os.ftruncate(self._file.fileno(), start)
                self._file.seek(start)
                raise
            self.last_seq += len(ops)
            return start, start + len(encoded)

    def checkpoint(self, seq: int) -> None:
        if seq > self.checkpointed:
            write_atomically(self.folder / "checkpoint", json.dumps({"seq": seq}))
            self.checkpointed = seq

    def size(self) -> int:
        return self._file.tell() if self._file is not None else 0

    def save_state(self, state: dict) -> None:
        """Replace state.json (e.g. counters raised to the database's) without touching the journal."""
        with self.lock:
            write_atomically(self.folder / "state.json", json.dumps({**state, "seq": self.last_seq}))

    def compact(self, applied: int, state: dict) -> bool:
        """Empty the journal if the database has every op in it; ``state`` replaces state.json."""
        with self.lock:
            if applied < self.last_seq:
                return False
            self.checkpoint(applied)
            write_atomically(self.folder / "state.json", json.dumps({**state, "seq": self.last_seq}))
            # Everything in the file is applied and summed up in state.json: a crash from here on loses nothing.
            # Emptied in place (truncating needs no free space), so the handle stays usable whatever happens.
            if self._file is not None:
                os.ftruncate(self._file.fileno(), 0)
                self._file.seek(0)
                os.fsync(self._file.fileno())
            return True

    def reject(self, op: dict, error: str) -> None:
        """Keep an op the database refuses for good, for a person to look at: never simply dropped."""
        record = {"op": op, "error": error, "rejected_at": datetime.now(UTC).isoformat()}
        while True:  # ``siaga retention run`` replaces the file under this lock: append to the one in place
            fh = append_private(self.rejected_path, encoding="utf-8")
            fcntl.flock(fh, fcntl.LOCK_EX)
            if os.fstat(fh.fileno()).st_ino == os.stat(self.rejected_path).st_ino:
                break
            fh.close()
        with fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def rejected_opens(self) -> set[str]:
        """Tickets whose open op was rejected: their later ops must not land in another case."""
        try:
            lines = self.rejected_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return set()
        tickets = set()
        for number, line in enumerate(lines, start=1):
            try:
                op = json.loads(line)["op"]
                if op.get("op") == "open":
                    tickets.add(op["ticket"])
            except (ValueError, KeyError, TypeError, AttributeError):  # e.g. a line torn by a crash mid-write
                if line.strip():
                    log.error(
                        "case journal: line %d of %s is not a rejected op; passed over", number, self.rejected_path
                    )
        return tickets

    def close(self) -> None:
        with self.lock:
            if self._file is not None:
                self._file.close()
        os.close(self._lock_fd)


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """The file's lines, numbered from 1, each with whether it is the last; none if there is no file."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return
    with fh:
        raw, number = fh.readline(), 1
        while raw:
            following = fh.readline()
            yield number, raw, not following
            raw, number = following, number + 1


def _parse(raw: bytes) -> dict | None:
    """One journal line's op; None for a line cut short or not JSON."""
    if not raw.endswith(b"\n"):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
