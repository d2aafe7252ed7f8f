"""The key that signs tokens and session cookies.

``webapp.secret`` when set; otherwise a random key generated once into
``webapp.secret_file`` (0600, under var/secrets/), so tokens survive a restart
and several web processes on one machine agree. Changing or removing the key
ends every session and token at once: that is the way to log everybody out.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from pathlib import Path

from app.files import open_private, private_dir
from app.settings import Settings


def signing_key(settings: Settings) -> bytes:
    if settings.webapp.secret is not None:
        return settings.webapp.secret.get_secret_value().encode("utf-8")
    return _kept(settings.webapp.secret_file)


def _kept(path: Path) -> bytes:
    private_dir(path.parent)
    fd = open_private(path, os.O_RDWR)
    with os.fdopen(fd, "r+", encoding="ascii") as file:
        fcntl.flock(file, fcntl.LOCK_EX)  # two processes starting at once must not each write a key
        key = file.read().strip()
        if not key:
            key = secrets.token_urlsafe(48)
            file.write(key + "\n")
            file.flush()
            os.fsync(file.fileno())
        return key.encode("ascii")
