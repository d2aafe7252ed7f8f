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
import secrets as _random
from pathlib import Path

from app import paths
from app.files import append_private, private_dir, write_private
from app.settings import Settings

SECRETS_FILE = paths.VAR / "secrets" / "sip-passwords.json"


def endpoint_password(settings: Settings, name: str, store: Path | None = None) -> str:
    """The password endpoint ``name`` registers with."""
    if settings.sip.endpoint_password is not None:
        return settings.sip.endpoint_password.get_secret_value()
    return _generated(store or SECRETS_FILE, name)


def _generated(store: Path, name: str) -> str:
    private_dir(store.parent)
    # A lock file beside the store: two processes rendering at once must not
    # each generate a different password for the same endpoint.
    with append_private(store.with_suffix(".lock")) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        known = json.loads(store.read_text()) if store.exists() else {}
        if name not in known:
            known[name] = _random.token_urlsafe(24)
            write_private(store, json.dumps(known, indent=2, sort_keys=True) + "\n", fsync=True)
        return known[name]
