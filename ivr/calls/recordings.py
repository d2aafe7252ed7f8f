"""Filing a call's recording with its case: the WAV in the recordings folder, and a record of it.

Both the call flow (calls it ends) and the fallback-journal import (calls the
dialplan ended alone) file recordings this one way. A recording is the
caller's voice: it is written 0600 in a 0700 folder (``app.files``). One that
cannot be written (a full disk, a folder not ours) is logged and noted on the
case; it never fails the call, which is over by then.

Only under a real ticket: a recording handed over without one (the case never
opened) is not filed as ``.wav`` or under another case's name; it is kept in
``unfiled/`` for a person, with a critical log line. Callers should check
``is_ticket`` before they take a recording out of Asterisk, so that it simply
stays there.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from app.cases.callers import UNFILED, is_ticket
from app.clock import utcnow
from app.files import private_dir, write_private

log = logging.getLogger("siaga.recordings")

# Files a recording (``file_recording``): truthy once it is written on our side.
Keep = Callable[[bytes], Awaitable[object]]
# Takes a finished call's recording out of Asterisk: (caller channel id, keep) -> the WAV, None if there is
# none. The WAV goes to ``keep`` first, and leaves Asterisk only if ``keep`` answered truthy.
RecordingTaker = Callable[[str, Keep], Awaitable[bytes | None]]


class UnfiledRecording(ValueError):
    """No valid ticket to file the recording under; the data was kept in ``unfiled/``."""


async def file_recording(store, recordings_dir: Path, ticket: str, data: bytes) -> str | None:
    """Write ``data`` as ``<ticket>.wav`` and journal it on the case; the file name, None if not written."""
    if not is_ticket(ticket):
        kept = await asyncio.to_thread(_write, recordings_dir / UNFILED, _unfiled_name(data), data)
        log.critical("recording without a valid ticket (%r) not filed with any case; kept as %s", ticket, kept)
        raise UnfiledRecording(f"no valid ticket ({ticket!r}); recording kept as {kept}")
    name = f"{ticket}.wav"
    try:
        await asyncio.to_thread(_write, recordings_dir, name, data)
    except OSError as exc:
        log.error("%s recording (%d bytes) not saved in %s: %s", ticket, len(data), recordings_dir, exc)
        await store.write(
            store.event_op(
                ticket, "recording.failed", {"file": name, "bytes": len(data), "error": exc.strerror or str(exc)}
            )
        )
        return None
    await store.write(
        store.update_op(ticket, recording=name),
        store.event_op(ticket, "recording.saved", {"file": name, "bytes": len(data)}),
    )
    return name


def _unfiled_name(data: bytes) -> str:
    return f"{utcnow():%Y%m%dT%H%M%S}-{hashlib.sha256(data).hexdigest()[:12]}.wav"


def _write(folder: Path, name: str, data: bytes) -> Path:
    # Whole or not at all: a disk that fills up mid-write leaves no truncated WAV behind.
    # Durable (file and folder synced) before the caller of ``keep`` removes Asterisk's copy.
    write_private(private_dir(folder) / name, data, fsync=True)
    return folder / name
