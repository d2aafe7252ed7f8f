"""Cases from the dialplan fallback journal.

Principle: the dialplan writes one line when a call enters the fallback route
and one when it hangs up (see dialplan/extensions.conf.j2). The call service
reads the lines it has not read yet, on every (re)connect and every few
seconds, and makes the case log agree: a call it never saw (it was down) gets
its case; a case it had opened gets its fallback and its end, and the call's
recording when no call flow of ours is left to file it. A byte offset,
saved after each batch, marks what was read.

The dialplan writes them with ``Log(NOTICE,SIAGA-JOURNAL|...)`` into a log file
of their own (logger.conf), after Asterisk's log prefix:
``SIAGA-JOURNAL|epoch|start|channel|line|caller|reason`` and
``SIAGA-JOURNAL|epoch|end|channel|dialstatus|peer|answered_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ivr.calls.recordings import file_recording
from ivr.pause import stopped_within

log = logging.getLogger("siaga.journal")

MARK = "SIAGA-JOURNAL|"  # the dialplan's Log() lines start their message with it


# The recording of a finished call by its caller's channel id (None: none, or one of our flows files it).
RecordingTaker = Callable[[str], Awaitable[bytes | None]]


class FallbackJournal:
    def __init__(
        self,
        path: Path,
        offset_file: Path,
        store,
        *,
        take_recording: RecordingTaker | None = None,
        recordings_dir: Path | None = None,
    ) -> None:
        self.path, self.offset_file, self.store = path, offset_file, store
        self.take_recording, self.recordings_dir = take_recording, recordings_dir
        self.imported = 0
        self._lock = asyncio.Lock()  # the reconnect hook and the follower must not read the same lines twice
        self._filing = asyncio.Semaphore(16)  # recordings taken at once

    def _offset(self) -> int:
        try:
            return int(self.offset_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def _save(self, offset: int) -> None:
        self.offset_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.offset_file.with_suffix(".tmp")
        tmp.write_text(str(offset))
        tmp.replace(self.offset_file)

    async def import_new(self) -> int:
        """Apply the lines written since the last call; returns how many."""
        async with self._lock:
            return await self._import_new()

    async def _import_new(self) -> int:
        try:
            size = self.path.stat().st_size
        except OSError:
            return 0
        offset = self._offset()
        if size < offset:  # the journal was rotated or truncated: start over
            offset = 0
        if size == offset:
            return 0
        chunk = await asyncio.to_thread(_read, self.path, offset, size - offset)
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written is left for next time
        count, filing = 0, []
        for raw in complete.decode(errors="replace").splitlines():
            if MARK not in raw:
                continue  # another notice in the same log file
            try:
                await self._apply(raw.split(MARK, 1)[1].strip().split("|"), filing)
                count += 1
            except Exception:
                log.exception("fallback journal: cannot apply %r", raw)
        # The recordings of the batch's ended calls, side by side: each may wait for MixMonitor to
        # close its file, and one after the other a surge's worth fell behind (0.1 s a call). All are
        # filed before the offset moves on, so a crash meanwhile reads those lines again.
        await asyncio.gather(*filing)
        self._save(offset + len(complete))
        self.imported += count
        return count

    async def _apply(self, f: list[str], filing: list) -> None:
        if len(f) < 6:
            raise ValueError("short line")
        at = datetime.fromtimestamp(int(f[0]), tz=UTC)
        kind, channel = f[1], f[2]
        ticket = await self.store.find_by_channel(channel)
        if kind == "start":
            line, caller, reason = f[3], f[4] or "unknown", f[5]
            if ticket is None:
                ticket = await self.store.open(line=line, caller_number=caller, channel_id=channel, received_at=at)
                log.info("%s case written from the fallback journal (service was not handling the call)", ticket)
            ops = [self.store.event_op(ticket, "fallback.dialplan", {"reason": reason}, at=at)]
            if "ended" not in (self.store.book.entry(ticket) or {}):
                # Not for a case already closed (its flow saw the caller go before this line was read):
                # "fallback" again would leave it open for good if the end line never came.
                ops.insert(0, self.store.update_op(ticket, status="fallback", disposition="fallback"))
            await self.store.write(*ops)
        elif kind == "end" and ticket is not None:
            status, peer, talked = f[3], f[4], int(f[5] or 0)
            fields = {"status": "ended", "disposition": "fallback", "ended_at": at}
            if status == "ANSWER" and peer:
                fields["agency_answered_at"] = at - timedelta(seconds=talked)
                fields["answered_by_unit"] = _endpoint(peer)
            # The event first (one journal append): a reader that sees "ended" also sees how it ended.
            await self.store.write(
                self.store.event_op(
                    ticket, "fallback.ended", {"dialstatus": status, "peer": peer, "seconds": talked}, at=at
                ),
                self.store.update_op(ticket, **fields),
            )
            log.info(
                "%s fallback call ended (%s%s)", ticket, status, f", answered by {_endpoint(peer)}" if peer else ""
            )
            if self.take_recording is not None and self.recordings_dir is not None:
                filing.append(self._file(ticket, channel))

    async def _file(self, ticket: str, channel: str) -> None:
        async with self._filing:
            try:
                data = await self.take_recording(channel)
                if data:
                    await file_recording(self.store, self.recordings_dir, ticket, data)
            except Exception:
                log.exception("%s fallback call's recording not filed", ticket)

    async def follow(self, stop: asyncio.Event, every: float = 2.0) -> None:
        while not stop.is_set():
            await self.import_new()
            await stopped_within(stop, every)


def _read(path: Path, offset: int, length: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(length)


def _endpoint(peer: str) -> str:
    """``PJSIP/operator-1-0000000a`` -> ``operator-1`` (the channel name minus its sequence)."""
    name = peer.split("/", 1)[-1]
    return name.rsplit("-", 1)[0] if "-" in name else name
