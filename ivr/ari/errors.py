"""ARI failures as exceptions callers can tell apart.

``AriUnavailable`` means Asterisk could not be reached (refused, timed out,
connection dropped): retrying later may help. Every other ``AriError``
means Asterisk answered and rejected the request; its ``message`` is the
``message`` field Asterisk put in the response body.
"""

from __future__ import annotations


class AriError(Exception):
    """Asterisk rejected a request (``status`` is the HTTP status, 0 when no answer came)."""

    def __init__(self, status: int, method: str, path: str, message: str) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        super().__init__(f"ARI {method} {path} -> {status or 'no answer'}: {message}")


class AriBadRequest(AriError):
    """400: a parameter is missing or invalid."""


class AriAuthError(AriError):
    """401/403: wrong ARI user or password, or a read-only user writing."""


class AriNotFound(AriError):
    """404: the channel, bridge, playback, recording or endpoint does not exist (any more)."""


class AriConflict(AriError):
    """409: the resource exists but is in the wrong state (e.g. recording a bridged channel)."""


class AriUnavailable(AriError):
    """Asterisk did not answer: connection refused, timed out or dropped."""


_BY_STATUS: dict[int, type[AriError]] = {
    400: AriBadRequest,
    401: AriAuthError,
    403: AriAuthError,
    404: AriNotFound,
    409: AriConflict,
}


def error_for(status: int, method: str, path: str, message: str) -> AriError:
    """The most specific ``AriError`` for an HTTP status Asterisk answered with."""
    return _BY_STATUS.get(status, AriError)(status, method, path, message)
