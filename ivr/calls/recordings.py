"""Filing a call's recording with its case: the WAV in the recordings folder, and a record of it.

Both the call flow (calls it ends) and the fallback-journal import (calls the
dialplan ended alone) file recordings this one way.
"""

from __future__ import annotations

import asyncio
from pathlib import Path


async def file_recording(store, recordings_dir: Path, ticket: str, data: bytes) -> str:
    """Write ``data`` as ``<ticket>.wav`` and journal it on the case; returns the file name."""
    name = f"{ticket}.wav"
    await asyncio.to_thread(_write, recordings_dir, name, data)
    await store.write(
        store.update_op(ticket, recording=name),
        store.event_op(ticket, "recording.saved", {"file": name, "bytes": len(data)}),
    )
    return name


def _write(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
