"""Filing a call's recording with its case: the WAV in the recordings folder, and a record of it.

Both the call flow (calls it ends) and the fallback-journal import (calls the
dialplan ended alone) file recordings this one way. Only under a real ticket:
a recording handed over without one (the case never opened) is not filed as
``.wav`` or under another case's name; it is kept in ``unfiled/`` for a person,
with a critical log line. Callers should check ``is_ticket`` before they take
a recording out of Asterisk, so that it simply stays there.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from app.cases.callers import UNFILED, is_ticket
from app.clock import utcnow

log = logging.getLogger("siaga.recordings")


class UnfiledRecording(ValueError):
    """No valid ticket to file the recording under; the data was kept in ``unfiled/``."""


async def file_recording(store, recordings_dir: Path, ticket: str, data: bytes) -> str:
    """Write ``data`` as ``<ticket>.wav`` and journal it on the case; returns the file name."""
    if not is_ticket(ticket):
        kept = await asyncio.to_thread(_write, recordings_dir / UNFILED, _unfiled_name(data), data)
        log.critical("recording without a valid ticket (%r) not filed with any case; kept as %s", ticket, kept)
        raise UnfiledRecording(f"no valid ticket ({ticket!r}); recording kept as {kept}")
    name = f"{ticket}.wav"
    await asyncio.to_thread(_write, recordings_dir, name, data)
    await store.write(
        store.update_op(ticket, recording=name),
        store.event_op(ticket, "recording.saved", {"file": name, "bytes": len(data)}),
    )
    return name


def _unfiled_name(data: bytes) -> str:
    return f"{utcnow():%Y%m%dT%H%M%S}-{hashlib.sha256(data).hexdigest()[:12]}.wav"


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name
