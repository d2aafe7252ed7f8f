"""Free space where calls leave files: shown in ``/healthz`` before a disk fills up.

Principle: a full disk must be seen before it happens, and must never stop a
call. ``level`` is pure (free bytes and thresholds in, ``ok``/``low``/
``critical`` out). ``DiskWatch`` measures (``statvfs``, in a thread, every few
seconds: never per request, and a hung network mount cannot stall the event
loop), keeps the last result for ``/healthz`` and logs each change of level
once. Low or critical does not make the service unhealthy: calls still run,
and a recording that cannot be written is noted on its case.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

from app.asterisk.runtime import HostFiles
from app.settings import Settings
from ivr.pause import stopped_within

log = logging.getLogger("siaga.disk")

OK, LOW, CRITICAL = "ok", "low", "critical"
MB = 1024 * 1024


def level(free: Mapping[str, int], low: int, critical: int) -> str:
    """The worst of the folders: ``critical`` below ``critical`` bytes free, ``low`` below ``low``."""
    smallest = min(free.values(), default=None)
    if smallest is None or smallest >= low:
        return OK
    return CRITICAL if smallest < critical else LOW


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged writer may still use where ``folder`` is (or would be created)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            st = os.statvfs(candidate)
            return st.f_bavail * st.f_frsize
    raise FileNotFoundError(folder)


def watched_folders(settings: Settings, asterisk: HostFiles | None) -> dict[str, Path]:
    """The case journal, the recordings, the SQLite database, and Asterisk's when it runs on this host."""
    folders = {"journal": Path(settings.journal_dir), "recordings": Path(settings.recordings_dir)}
    url = make_url(settings.database.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        folders["database"] = Path(url.database).parent
    if asterisk is not None:
        folders["asterisk_recordings"] = asterisk.recordings  # MixMonitor writes every call here
        folders["asterisk_journal"] = asterisk.fallback_journal.parent  # the dialplan's fallback journal
    return folders


class DiskWatch:
    def __init__(
        self,
        folders: Mapping[str, Path],
        *,
        low_bytes: int,
        critical_bytes: int,
        every: float = 5.0,
        measure: Callable[[Path], int] = free_bytes,
    ) -> None:
        self.folders, self.low, self.critical = dict(folders), low_bytes, critical_bytes
        self.every, self.measure = every, measure
        self.free: dict[str, int] = {}
        self.level = OK
        self._unmeasurable: set[str] = set()
        self.check()

    @classmethod
    def from_settings(cls, settings: Settings, asterisk: HostFiles | None) -> DiskWatch:
        disk = settings.disk
        return cls(
            watched_folders(settings, asterisk),
            low_bytes=disk.low_free_mb * MB,
            critical_bytes=disk.critical_free_mb * MB,
        )

    def check(self) -> None:
        """Measure every folder once and log a change of level."""
        free = {}
        for name, folder in self.folders.items():
            try:
                free[name] = self.measure(folder)
                self._unmeasurable.discard(name)
            except OSError as exc:
                if name not in self._unmeasurable:
                    self._unmeasurable.add(name)
                    log.warning("free space of %s (%s) cannot be measured: %s", folder, name, exc)
        self.free = free
        now = level(free, self.low, self.critical)
        if now != self.level:
            self._tell(now)
        self.level = now

    def _tell(self, now: str) -> None:
        short = {name: f"{free // MB} MB" for name, free in sorted(self.free.items()) if free < self.low}
        if now == OK:
            log.info("disk space ok again")
        elif now == LOW:
            log.warning("disk space low (below %d MB free): %s; calls go on", self.low // MB, short)
        else:
            log.error(
                "disk space critical (below %d MB free): %s; calls go on, recordings and case writes may fail",
                self.critical // MB,
                short,
            )

    async def run(self, stop: asyncio.Event) -> None:
        while not await stopped_within(stop, self.every):
            await asyncio.to_thread(self.check)

    def status(self) -> dict:
        return {"disk": self.level, "disk_free_bytes": dict(self.free)}
