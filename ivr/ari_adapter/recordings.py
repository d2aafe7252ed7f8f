"""Taking a finished call recording out of Asterisk.

Principle: the dialplan records every call (MixMonitor) into Asterisk's
recordings folder; once the caller's channel has gone and MixMonitor has
closed the file, the call service takes it to file it with the case, and
removes it there only once it is filed: a recording that cannot be written on
our side (a full disk) stays in Asterisk's folder for a person (retention
removes it after its period). Two ways to reach that folder, same result:

- ``LocalSpool``: Asterisk runs on this host (the project's instance, as for
  the fallback journal), so the file is read and removed on disk. Fetching it
  over ARI instead cost the call service about a tenth of its CPU under load
  (a whole WAV through HTTP for every call, polled until complete) and
  Asterisk the work of serving it (docs/PERFORMANCE.md, round 3).
- ``AriSpool``: Asterisk elsewhere: ARI's stored-recordings routes.

A recording not found in the local folder, or one we may not read or remove
(another user's files: one warning), is asked of ARI, so a wrong guess about
where Asterisk runs costs speed, never a recording. On disk, each look reads
the WAV header and the file's size in a worker thread, and the whole file only
once the header says Asterisk has closed it: the event loop never waits for
the disk, and a recording still being written is not read over and over.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NamedTuple, Protocol

from app.asterisk import constants as k
from ivr.ari import errors
from ivr.ari.client import AriClient

log = logging.getLogger("siaga.ari")

RECORDING_POLL, RECORDING_WAIT = 0.1, 5.0
WAV_HEADER = 44


class Gone(Exception):
    """No such recording (never made, or taken already)."""


class Look(NamedTuple):
    """A recording as it is now: its bytes once Asterisk has closed it (else None), and its size."""

    data: bytes | None
    size: int


class Spool(Protocol):
    async def look(self, name: str) -> Look: ...  # raises Gone
    async def delete(self, name: str) -> None: ...  # quietly, if already gone


class AriSpool:
    def __init__(self, client: AriClient) -> None:
        self.client = client

    async def fetch(self, name: str) -> bytes:
        """The file as it is now; raises Gone."""
        try:
            return await self.client.stored_recording_file(name)
        except errors.AriNotFound as exc:
            raise Gone(name) from exc

    async def look(self, name: str) -> Look:
        data = await self.fetch(name)  # ARI serves the whole file or nothing
        return Look(data if wav_closed(data) else None, len(data))

    async def delete(self, name: str) -> None:
        try:
            await self.client.delete_stored_recording(name)
        except (errors.AriNotFound, errors.AriConflict):
            pass


class LocalSpool:
    """Asterisk's recordings folder on this host (``folder`` as the host sees it)."""

    def __init__(self, folder: Path, fallback: Spool) -> None:
        self.folder, self.fallback = Path(folder), fallback
        self._warned = False

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.wav"

    async def look(self, name: str) -> Look:
        try:
            return await asyncio.to_thread(_look_on_disk, self._path(name))
        except FileNotFoundError:  # not here (an Asterisk elsewhere after all?): ask ARI
            return await self.fallback.look(name)
        except OSError as exc:  # e.g. Asterisk's files are not ours to read
            self._warn(exc)
            return await self.fallback.look(name)

    async def delete(self, name: str) -> None:
        try:
            await asyncio.to_thread(os.unlink, self._path(name))
        except OSError as exc:
            if not isinstance(exc, FileNotFoundError):
                self._warn(exc)
            await self.fallback.delete(name)

    def _warn(self, exc: OSError) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "Asterisk's recordings folder %s not usable here (%s); recordings are fetched over ARI",
                self.folder,
                exc,
            )


def spool(client: AriClient, folder: Path | None) -> Spool:
    """The cheapest way to the recordings: on disk when Asterisk's folder is on this host."""
    ari = AriSpool(client)
    return LocalSpool(folder, ari) if folder is not None else ari


Keep = Callable[[bytes], Awaitable[object]]  # files a recording; truthy once it is safe on our side


async def take_call_recording(
    source: Spool, channel_id: str, wait: float = RECORDING_WAIT, keep: Keep | None = None
) -> bytes | None:
    """The finished recording of the call whose caller channel was ``channel_id``, taken out of Asterisk.

    With ``keep``, the data is handed to it first, and removed from Asterisk only if it answers truthy
    (a failure of ``keep`` propagates, and the file stays); without, it is removed at once.
    """
    name = k.call_recording(channel_id)
    await asyncio.sleep(RECORDING_POLL)  # MixMonitor closes the file just after the channel goes
    size = 0
    for _ in range(max(1, int(wait / RECORDING_POLL))):
        try:
            data, size = await source.look(name)
        except Gone:  # MixMonitor made it at the call's arrival: none, or taken already
            return None
        if data is not None:
            if keep is None or await keep(data):
                await source.delete(name)
            else:
                log.warning("recording %s not filed: left in Asterisk's recordings", name)
            return data
        await asyncio.sleep(RECORDING_POLL)
    if size == WAV_HEADER:  # a header and no audio: the call never carried any (e.g. hung up while ringing)
        await source.delete(name)
        return None
    log.warning("recording %s not complete after %.0f s; left in Asterisk's recordings", name, wait)
    return None


def wav_closed(data: bytes) -> bool:
    """A WAV Asterisk has finished: its header states the length (written when the file is closed)."""
    return _header_closed(data[:WAV_HEADER], len(data))


def _header_closed(header: bytes, size: int) -> bool:
    if len(header) < WAV_HEADER or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return False
    return int.from_bytes(header[40:44], "little") == size - WAV_HEADER and size > WAV_HEADER


def _look_on_disk(path: Path) -> Look:
    """In a worker thread: the header and the size first, the audio only once the header says it is all there."""
    with open(path, "rb") as fh:
        header = fh.read(WAV_HEADER)
        size = os.fstat(fh.fileno()).st_size
        if not _header_closed(header, size):
            return Look(None, size)
        data = header + fh.read()
    return Look(data if wav_closed(data) else None, len(data))  # it may have grown between the stat and the read
