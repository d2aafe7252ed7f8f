"""Filing a call's recording with its case: the WAV in the recordings folder, and a record of it.

Both the call flow (calls it ends) and the fallback-journal import (calls the
dialplan ended alone) file recordings this one way. A recording is the
caller's voice: it is written 0600 in a 0700 folder (``app.files``). One that
cannot be written (a full disk, a folder not ours) is logged and noted on the
case; it never fails the call, which is over by then.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from app.files import private_dir, write_private

log = logging.getLogger("siaga.call")


async def file_recording(store, recordings_dir: Path, ticket: str, data: bytes) -> str | None:
    """Write ``data`` as ``<ticket>.wav`` and journal it on the case; the file name, None if not written."""
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


def _write(folder: Path, name: str, data: bytes) -> None:
    # Whole or not at all: a disk that fills up mid-write leaves no truncated WAV behind.
    write_private(private_dir(folder) / name, data)
