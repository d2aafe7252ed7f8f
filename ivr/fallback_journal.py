"""Cases from the dialplan fallback journal.

Principle: the dialplan writes one line when a call enters the fallback route
and one when it hangs up (see dialplan/extensions.conf.j2), at a log level of
their own that logger.conf sends, alone, to the journal file. The call service
reads the lines it has not read yet, on every (re)connect and every few
seconds, and makes the case log agree: a call it never saw (it was down) gets
its case; a case it had opened gets its fallback and its end, and the call's
recording when no call flow of ours is left to file it.

Its read position (``app.asterisk.journal_files``) is an inode and an offset,
saved after each round, so a rotated journal is finished before the new one is
read. No line is ever passed over: one that is not exactly what our dialplan
writes (``ivr.fallback_lines``) is kept in a rejected file with the reason, a
critical log line and a count in ``/healthz``; one that cannot be applied now
(the case store refusing) is tried again in the next round, and kept aside the
same way only after ``MAX_TRIES``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable
from datetime import timedelta
from functools import partial
from pathlib import Path

from app.asterisk.journal_files import READ_AT_ONCE, Piece, Position, load_position, save_position, unread
from app.cases.callers import is_ticket
from app.clock import utcnow
from app.files import append_private, private_dir
from ivr.calls.recordings import RecordingTaker, file_recording
from ivr.fallback_lines import End, Start, Unparsable, parse
from ivr.pause import stopped_within

log = logging.getLogger("siaga.journal")

MAX_TRIES = 5  # rounds a line that cannot be applied is tried before it is kept aside (about 10 s)

# The recording of a finished call by its caller's channel id (None: none, or one of our flows files it).


class _Stop(Exception):
    """A line could not be applied this round: the round ends before it, the position stays on it."""


class FallbackJournal:
    def __init__(
        self,
        path: Path,
        position_file: Path,
        store,
        *,
        take_recording: RecordingTaker | None = None,
        recordings_dir: Path | None = None,
        rejected_dir: Path | None = None,
        read_limit: int = READ_AT_ONCE,
    ) -> None:
        self.path, self.position_file, self.store = path, position_file, store
        self.take_recording, self.recordings_dir = take_recording, recordings_dir
        self.rejects = Rejects(rejected_dir or position_file.parent / "fallback-rejected")
        self.read_limit = read_limit
        self._tries: dict[tuple[int, int], int] = {}  # (inode, offset) of a line that failed to apply
        self._lock = asyncio.Lock()  # the reconnect hook and the follower must not read the same lines twice
        self._filing = asyncio.Semaphore(16)  # recordings taken at once

    def status(self) -> dict:
        return {"journal_rejected": self.rejects.count}

    async def import_new(self) -> int:
        """Apply the lines written since the last call, in rounds of bounded size; returns how many."""
        async with self._lock:
            total, more = 0, True
            while more:
                count, more = await self._round()
                total += count
            return total

    async def _round(self) -> tuple[int, bool]:
        """One bounded read and its lines; whether more is waiting (False when this round got nowhere)."""
        position = await asyncio.to_thread(load_position, self.position_file, self.path)
        pieces, more = await asyncio.to_thread(unread, self.path, position, self.read_limit)
        count, new = 0, position
        filing: list[Awaitable[None]] = []  # the round's recordings to file, gathered below
        try:
            for piece in pieces:
                for start, text in _lines(piece):
                    count += await self._take(piece, start, text, filing)
                new = Position(piece.inode, piece.start + _consumed(piece), piece.mtime_ns)
        except _Stop as stop:
            new, more = stop.args[0], False
        # The recordings of the round's ended calls, side by side: each may wait for MixMonitor to close
        # its file, and one after the other a surge's worth fell behind (0.1 s a call). All are filed
        # before the position moves on, so a crash meanwhile reads those lines again.
        await asyncio.gather(*filing)
        if new is not None and new != position:
            await asyncio.to_thread(save_position, self.position_file, new)
        elif more:  # nothing whole in a full read (a line longer than LONGEST_LINE): never loop on it
            log.error("fallback journal: no whole line at %s in %s; waiting", position, self.path)
            more = False
        return count, more

    async def _take(self, piece: Piece, start: int, text: str, filing: list[Awaitable[None]]) -> int:
        """1 when the line was applied, 0 when it needs nothing or was kept aside; ``_Stop`` to retry later."""
        here = Position(piece.inode, start, piece.mtime_ns)
        try:
            line = parse(text)
        except Unparsable as exc:
            await self._reject(here, piece, text, str(exc))
            return 0
        if line is None:
            return 0  # Asterisk's banner at the top of each file
        key = (piece.inode, start)
        try:
            await self._apply(line, filing)
        except NoCase as exc:
            await self._reject(here, piece, text, str(exc))
            return 0
        except Exception as exc:
            tries = self._tries[key] = self._tries.get(key, 0) + 1
            if tries < MAX_TRIES:
                log.error(
                    "fallback journal line not applied (try %d of %d), read again later: %r", tries, MAX_TRIES, exc
                )
                raise _Stop(here) from exc
            self._tries.pop(key)
            await self._reject(here, piece, text, f"not applied after {tries} tries: {exc!r}")
            return 0
        self._tries.pop(key, None)
        return 1

    async def _reject(self, here: Position, piece: Piece, text: str, why: str) -> None:
        record = {"at": utcnow().isoformat(), "file": str(piece.path), "offset": here.offset, "why": why, "line": text}
        try:
            kept = await self.rejects.keep(record)
        except OSError as exc:  # cannot even be kept aside: stay on it
            log.critical("fallback journal line cannot be kept aside (%s); read again later", exc)
            raise _Stop(here) from exc
        # The text may be anything a caller managed to put in a log line: quoted, cut.
        log.critical("fallback journal line kept in %s, not applied: %s: %r", kept, why, text[:200])

    async def _apply(self, line: Start | End, filing: list[Awaitable[None]]) -> None:
        ticket = await self.store.find_by_channel(line.channel)
        if isinstance(line, Start):
            if ticket is None:
                ticket = await self.store.open(
                    line=line.line, caller_number=line.caller, channel_id=line.channel, received_at=line.at
                )
                log.info("%s case written from the fallback journal (service was not handling the call)", ticket)
            ops = [self.store.event_op(ticket, "fallback.dialplan", {"reason": line.reason}, at=line.at)]
            if "ended" not in (self.store.book.entry(ticket) or {}):
                # Not for a case already closed (its flow saw the caller go before this line was read):
                # "fallback" again would leave it open for good if the end line never came.
                ops.insert(0, self.store.update_op(ticket, status="fallback", disposition="fallback"))
            await self.store.write(*ops)
        elif ticket is None:
            raise NoCase(f"the end of call {line.channel}, which has no case (its start line was not applied)")
        else:
            fields = {"status": "ended", "disposition": "fallback", "ended_at": line.at}
            if line.dialstatus == "ANSWER" and line.peer:
                fields["agency_answered_at"] = line.at - timedelta(seconds=line.seconds)
                fields["answered_by_unit"] = _endpoint(line.peer)
            detail = {"dialstatus": line.dialstatus, "peer": line.peer, "seconds": line.seconds}
            # The event first (one journal append): a reader that sees "ended" also sees how it ended.
            await self.store.write(
                self.store.event_op(ticket, "fallback.ended", detail, at=line.at),
                self.store.update_op(ticket, **fields),
            )
            answered = f", answered by {_endpoint(line.peer)}" if line.peer else ""
            log.info("%s fallback call ended (%s%s)", ticket, line.dialstatus, answered)
            if self.take_recording is not None and self.recordings_dir is not None and is_ticket(ticket):
                filing.append(self._file(ticket, line.channel, self.take_recording, self.recordings_dir))

    async def _file(self, ticket: str, channel: str, take: RecordingTaker, folder: Path) -> None:
        async with self._filing:
            try:
                await take(channel, partial(file_recording, self.store, folder, ticket))
            except Exception:
                log.exception("%s fallback call's recording not filed", ticket)

    async def follow(self, stop: asyncio.Event, every: float = 2.0) -> None:
        while not stop.is_set():
            try:
                await self.import_new()
            except Exception:  # e.g. the journal folder not readable: say so, try again
                log.exception("fallback journal not read")
            await stopped_within(stop, every)


class NoCase(LookupError):
    """An end line for a channel no case knows: kept aside like an unreadable line, never passed over."""


class Rejects:
    """Journal lines kept aside, one JSON Lines file per UTC day (``siaga retention run`` removes old ones)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = _count_lines(folder)  # at start, before the event loop runs

    async def keep(self, record: dict) -> Path:
        path = await asyncio.to_thread(self._append, record)
        self.count += 1
        return path

    def _append(self, record: dict) -> Path:
        path = private_dir(self.folder) / f"{utcnow():%Y-%m-%d}.jsonl"  # caller numbers: owner only
        with append_private(path, encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return path


def _count_lines(folder: Path) -> int:
    try:
        return sum(p.read_bytes().count(b"\n") for p in folder.glob("*.jsonl"))
    except OSError:
        return 0


def _lines(piece: Piece):
    """``(offset, text)`` of each whole line in the piece (without its newline)."""
    data = piece.data[: _consumed(piece)]
    offset = piece.start
    for raw in data.split(b"\n")[: -1 if data.endswith(b"\n") or not data else None]:
        yield offset, raw.decode("utf-8", errors="replace")
        offset += len(raw) + 1


def _consumed(piece: Piece) -> int:
    """Bytes of the piece that are whole lines: all of a finished file, else up to the last newline."""
    return len(piece.data) if piece.final else piece.data.rfind(b"\n") + 1


def _endpoint(peer: str) -> str:
    """``PJSIP/operator-1-0000000a`` -> ``operator-1`` (the channel name minus its sequence)."""
    name = peer.split("/", 1)[-1]
    return name.rsplit("-", 1)[0] if "-" in name else name
