"""Signed, expiring tokens: API bearer tokens, page sessions and the login form's CSRF cookie.

A token is ``v1.<payload>.<signature>``: the payload is base64url JSON, the
signature HMAC-SHA256 over the token's kind and payload with the web app's key
(``web.secret``), so a token of one kind never passes as another. Tokens carry
the user's id, not their rights: every request reads the user again, so a
disabled user's tokens stop working at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any, Literal

Kind = Literal["api", "session", "login"]
_VERSION = "v1"


def issue(key: bytes, kind: Kind, seconds: float, now: float | None = None, **claims: Any) -> str:
    issued = int(now if now is not None else time.time())
    payload = {"k": kind, "iat": issued, "exp": issued + int(seconds), "nonce": secrets.token_urlsafe(12), **claims}
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{_VERSION}.{body}.{_sign(key, kind, body)}"


def read(key: bytes, kind: Kind, token: str | None, now: float | None = None) -> dict[str, Any] | None:
    """The claims of a genuine, unexpired token of ``kind``; None for anything else."""
    if not token or len(token) > 4096:
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        return None
    _, body, signature = parts
    if not hmac.compare_digest(signature, _sign(key, kind, body)):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    if not isinstance(claims, dict) or claims.get("k") != kind or not isinstance(claims.get("exp"), int):
        return None
    if claims["exp"] <= (now if now is not None else time.time()):
        return None
    return claims


def _sign(key: bytes, kind: str, body: str) -> str:
    return _b64(hmac.new(key, f"{_VERSION}.{kind}.{body}".encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
