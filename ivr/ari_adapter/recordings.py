"""Taking a finished call recording out of Asterisk.

Principle: the dialplan records every call (MixMonitor) into Asterisk's
recordings folder; once the caller's channel has gone and MixMonitor has
closed the file, the call service takes it (and removes it there) to file it
with the case. Two ways to reach that folder, same result:

- ``LocalSpool``: Asterisk runs on this host (the project's instance, as for
  the fallback journal), so the file is read and removed on disk. Fetching it
  over ARI instead cost the call service about a tenth of its CPU under load
  (a whole WAV through HTTP for every call, polled until complete) and
  Asterisk the work of serving it (docs/PERFORMANCE.md, round 3).
- ``AriSpool``: Asterisk elsewhere: ARI's stored-recordings routes.

A recording not found in the local folder, or one we may not read or remove
(another user's files: one warning), is asked of ARI, so a wrong guess about
where Asterisk runs costs speed, never a recording.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Protocol

from app.asterisk import constants as k
from ivr.ari import errors
from ivr.ari.client import AriClient

log = logging.getLogger("siaga.ari")

RECORDING_POLL, RECORDING_WAIT = 0.1, 5.0
WAV_HEADER = 44


class Gone(Exception):
    """No such recording (never made, or taken already)."""


class Spool(Protocol):
    async def fetch(self, name: str) -> bytes: ...  # the file as it is now; raises Gone
    async def delete(self, name: str) -> None: ...  # quietly, if already gone


class AriSpool:
    def __init__(self, client: AriClient) -> None:
        self.client = client

    async def fetch(self, name: str) -> bytes:
        try:
            return await self.client.stored_recording_file(name)
        except errors.AriNotFound as exc:
            raise Gone(name) from exc

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

    async def fetch(self, name: str) -> bytes:
        try:
            return self._path(name).read_bytes()  # from the page cache: cheap
        except FileNotFoundError:  # not here (an Asterisk elsewhere after all?): ask ARI
            return await self.fallback.fetch(name)
        except OSError as exc:  # e.g. Asterisk's files are not ours to read
            self._warn(exc)
            return await self.fallback.fetch(name)

    async def delete(self, name: str) -> None:
        try:
            os.unlink(self._path(name))
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


async def take_call_recording(source: Spool, channel_id: str, wait: float = RECORDING_WAIT) -> bytes | None:
    """The finished recording of the call whose caller channel was ``channel_id``, moved out of Asterisk."""
    name = k.call_recording(channel_id)
    await asyncio.sleep(RECORDING_POLL)  # MixMonitor closes the file just after the channel goes
    data = b""
    for _ in range(max(1, int(wait / RECORDING_POLL))):
        try:
            data = await source.fetch(name)
        except Gone:  # MixMonitor made it at the call's arrival: none, or taken already
            return None
        if wav_closed(data):
            await source.delete(name)
            return data
        await asyncio.sleep(RECORDING_POLL)
    if len(data) == WAV_HEADER:  # a header and no audio: the call never carried any (e.g. hung up while ringing)
        await source.delete(name)
        return None
    log.warning("recording %s not complete after %.0f s; left in Asterisk's recordings", name, wait)
    return None


def wav_closed(data: bytes) -> bool:
    """A WAV Asterisk has finished: its header states the length (written when the file is closed)."""
    if len(data) < WAV_HEADER or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return False
    return int.from_bytes(data[40:44], "little") == len(data) - WAV_HEADER and len(data) > WAV_HEADER
