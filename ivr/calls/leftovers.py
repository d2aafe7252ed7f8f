"""Cases the previous run of the call service left open, closed once their calls are gone.

Principle: when the service stops (killed, or stopped while callers were
talking) some of its calls go on without it. Most come back to it: a caller
still in our app, or still talking to an agency, is adopted by the resync
(``ivr.ari_adapter.resync``); a caller the watchdog sent to the fallback route
is told of by the dialplan's journal (``ivr.fallback_journal``). A call that
ended entirely while the service was down leaves neither: its caller's channel
is simply gone. So, after the resync and the journal import, each ticket the
previous run left open whose caller channel Asterisk no longer has, and that no
flow of ours follows, is closed here: ``completed`` when it was talking to an
agency (its answered attempt gets its end too), otherwise abandoned (in the IVR,
or while agency lines rang). The recording the dialplan made from the arrival
is filed; its length tells when the call ended (else: when it was noticed,
which the case's event says). A ticket in the fallback route (the dialplan's
journal has its start line) is left to that journal, which knows its end; one
the flow meant to hand over but never could (ARI unreachable under overload)
never reaches that journal, and is closed here like the others.
"""

from __future__ import annotations

import asyncio
import io
import logging
import wave
from datetime import datetime, timedelta
from pathlib import Path

from app.clock import as_utc, utcnow
from ivr.calls.casestore import AttemptKey
from ivr.calls.recordings import RecordingTaker, file_recording

log = logging.getLogger("siaga.leftovers")


class Leftovers:
    def __init__(self, store, *, take_recording: RecordingTaker, recordings_dir: Path) -> None:
        self.store, self.take_recording, self.recordings_dir = store, take_recording, recordings_dir
        self.tickets = store.book.unfinished()  # at start: what the previous run left open
        self._lock = asyncio.Lock()  # the reconnect hook and the follower must not close one twice
        if self.tickets:
            log.info(
                "%d cases left open by the previous run: each is followed until its call is gone", len(self.tickets)
            )

    async def close_gone(self, alive: set[str]) -> int:
        """Close the leftovers whose caller channel is not in ``alive`` (Asterisk's, and ours); returns how many."""
        async with self._lock:
            return await self._close_gone(alive)

    async def _close_gone(self, alive: set[str]) -> int:
        closed = 0
        for ticket in list(self.tickets):
            entry = self.store.book.entry(ticket)
            if entry is None or "ended" in entry or entry.get("dialplan") or not entry.get("channel"):
                self.tickets.remove(ticket)  # closed meanwhile, or in the fallback route: its journal tells the end
                continue
            if entry["channel"] in alive:
                continue  # still going on: adopted, or not yet over
            self.tickets.remove(ticket)
            await self._close(ticket, entry)
            closed += 1
        return closed

    async def _close(self, ticket: str, entry: dict) -> None:
        ended = False

        async def keep(data: bytes) -> str | None:  # the recording first tells when the call ended
            nonlocal ended
            await self._end(ticket, entry, data)
            ended = True
            return await file_recording(self.store, self.recordings_dir, ticket, data)

        await self.take_recording(entry["channel"], keep)
        if not ended:
            await self._end(ticket, entry, None)

    async def _end(self, ticket: str, entry: dict, data: bytes | None) -> None:
        answered = entry.get("answered")
        if answered or entry.get("taken"):  # an agency's or a call-taker's conversation
            disposition = "completed"
        elif entry.get("attempts"):
            disposition = "abandoned-while-forwarding"
        else:
            disposition = "abandoned-in-queue" if entry.get("queued") else "abandoned-in-ivr"
        now = utcnow()
        ended_at, told_by = now, "noticed"
        length = wav_seconds(data) if data else None
        if length is not None:  # recorded from the arrival to the hang-up
            ended_at, told_by = (
                min(as_utc(datetime.fromisoformat(entry["at"])) + timedelta(seconds=length), now),
                "recording",
            )
        ops = [
            self.store.event_op(ticket, "ended.while.down", {"disposition": disposition, "end_from": told_by}),
            self.store.update_op(ticket, status="ended", disposition=disposition, ended_at=ended_at),
        ]
        if answered:
            ops.insert(1, self.store.attempt_update_op(AttemptKey(ticket, answered), ended_at=ended_at))
        await self.store.write(*ops)
        log.warning("%s ended while the call service was down (%s, end from the %s)", ticket, disposition, told_by)


def wav_seconds(data: bytes) -> float | None:
    """The audio length of a finished WAV, None if ``data`` is not one."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            return w.getnframes() / w.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError):
        return None
