"""SIP endpoint passwords.

Principle: the demo profile uses the one well-known demo password so
softphones can be configured from the README; every other profile uses the
configured ``sip.endpoint_password`` or, when that is unset, a strong password
per endpoint, generated once and kept in ``var/secrets/sip-passwords.json``
(mode 0600) so re-rendering the config does not lock registered phones out.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets as _random
from pathlib import Path

from app import paths
from app.settings import Settings

SECRETS_FILE = paths.VAR / "secrets" / "sip-passwords.json"


def endpoint_password(settings: Settings, name: str, store: Path | None = None) -> str:
    """The password endpoint ``name`` registers with."""
    if settings.sip.endpoint_password is not None:
        return settings.sip.endpoint_password.get_secret_value()
    return _generated(store or SECRETS_FILE, name)


def _generated(store: Path, name: str) -> str:
    store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A lock file beside the store: two processes rendering at once must not
    # each generate a different password for the same endpoint.
    with open(store.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        known = json.loads(store.read_text()) if store.exists() else {}
        if name not in known:
            known[name] = _random.token_urlsafe(24)
            _write_private(store, json.dumps(known, indent=2, sort_keys=True) + "\n")
        return known[name]


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
