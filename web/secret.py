"""The key that signs tokens and session cookies.

``webapp.secret`` when set; otherwise a random key generated once into
``webapp.secret_file`` (0600, under var/secrets/), so tokens survive a restart
and several web processes on one machine agree. Changing or removing the key
ends every session and token at once: that is the way to log everybody out.
"""

from __future__ import annotations

from pathlib import Path

from app.files import kept_secret
from app.settings import Settings


def signing_key(settings: Settings) -> bytes:
    if settings.webapp.secret is not None:
        return settings.webapp.secret.get_secret_value().encode("utf-8")
    return _kept(settings.webapp.secret_file)


def _kept(path: Path) -> bytes:
    return kept_secret(path)
