"""A thin, in-house Asterisk ARI client: REST over httpx, events over websockets.

``AriClient`` sends REST requests and maps failures onto ``AriError``
subclasses; ``EventStream`` keeps the events websocket open, reconnecting
with backoff. Both are built by the composition root and handed to the
parts that need them: nothing here is global.
"""

from ivr.ari.client import AriClient
from ivr.ari.errors import (
    AriAuthError,
    AriBadRequest,
    AriConflict,
    AriError,
    AriNotFound,
    AriUnavailable,
)
from ivr.ari.stream import EventStream

__all__ = [
    "AriAuthError",
    "AriBadRequest",
    "AriClient",
    "AriConflict",
    "AriError",
    "AriNotFound",
    "AriUnavailable",
    "EventStream",
]
