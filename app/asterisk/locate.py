"""Which Asterisk 22 to run: a host binary when it is 22.x, else the project chroot."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from app.settings import Settings

CHROOT_BINARY = "/usr/sbin/asterisk"
# Asterisk's compiled-in data directory on Debian and Ubuntu (core sounds live below it).
SYSTEM_DATADIR = PurePosixPath("/usr/share/asterisk")
# Asterisk gets a small, predictable environment, not whatever the caller had.
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}


class AsteriskError(RuntimeError):
    """Asterisk cannot be found, started, reached or stopped; the message says what to do."""


class AsteriskNotFound(AsteriskError):
    pass


@dataclass(frozen=True)
class Launcher:
    """How to run Asterisk: a host binary, or the binary inside a chroot."""

    binary: str
    chroot: Path | None = None

    def command(self, *args: str) -> list[str]:
        if self.chroot is None:
            return [self.binary, *args]
        return ["chroot", str(self.chroot), self.binary, *args]

    def host_path(self, inside: PurePosixPath | str) -> Path:
        """The host path of a path as Asterisk sees it."""
        if self.chroot is None:
            return Path(inside)
        return self.chroot / PurePosixPath(inside).relative_to("/")

    @property
    def sounds_dir(self) -> Path:
        """Host path of Asterisk's sounds folder (our prompts go to its ``siaga/``)."""
        return self.host_path(SYSTEM_DATADIR / "sounds")

    def version(self) -> str:
        out = subprocess.run(self.command("-V"), capture_output=True, text=True, timeout=30, env=ENV)
        return out.stdout.strip()


def is_22(version_line: str) -> bool:
    return re.match(r"Asterisk 22\.", version_line) is not None


def find_asterisk(settings: Settings) -> Launcher:
    """The configured host binary, else a host ``asterisk`` 22.x, else the project chroot."""
    if settings.asterisk.binary:
        launcher = Launcher(settings.asterisk.binary)
        if not is_22(_try_version(launcher)):
            raise AsteriskNotFound(f"asterisk.binary={settings.asterisk.binary} is not a working Asterisk 22")
        return launcher
    host = shutil.which("asterisk")
    if host and is_22(_try_version(Launcher(host))):
        return Launcher(host)
    root = Path(settings.asterisk.chroot)
    if (root / CHROOT_BINARY.lstrip("/")).exists():
        return Launcher(CHROOT_BINARY, chroot=root)
    raise AsteriskNotFound(
        f"no Asterisk 22 found: no host 'asterisk' 22.x on PATH and no chroot at {root}. "
        "Run `make bootstrap` to provision it."
    )


def _try_version(launcher: Launcher) -> str:
    try:
        return launcher.version()
    except (OSError, subprocess.SubprocessError):
        return ""
