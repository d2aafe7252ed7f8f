"""Where caller numbers and voices lie on this host, from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.asterisk.locate import AsteriskError
from app.asterisk.runtime import LOGS, instance_folders
from app.settings import Settings


@dataclass(frozen=True)
class Places:
    recordings: Path  # <ticket>.wav, and unfiled/
    journal_dir: Path  # the case journals' rejected writes, the fallback journal's rejected lines and position
    spool: Path | None = None  # Asterisk's recordings folder: calls recorded and never filed
    logs: Path | None = None  # the instance's log folder: rotated "messages" files
    journal: Path | None = None  # the dialplan's fallback journal (its rotated files)
    console: Path | None = None  # Asterisk's console output, var/log/asterisk-<instance>.log (its copies)


def places(settings: Settings) -> Places:
    """The configured instance's folders; without Asterisk on this host, only the call service's own."""
    base = Places(recordings=settings.recordings_dir, journal_dir=settings.journal_dir)
    try:
        launcher, folders = instance_folders(settings, settings.asterisk.instance)
    except AsteriskError:
        return base
    return Places(
        recordings=base.recordings,
        journal_dir=base.journal_dir,
        spool=launcher.host_path(folders.recordings),
        logs=launcher.host_path(folders.log),
        journal=launcher.host_path(folders.fallback_journal),
        console=LOGS / f"asterisk-{settings.asterisk.instance}.log",
    )
