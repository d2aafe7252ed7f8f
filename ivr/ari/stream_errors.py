"""One readable line for each way the events websocket can fail.

An operator reading the log should know at once whether Asterisk is down,
the password is wrong, ARI is not enabled, or a live connection was lost.
"""

from __future__ import annotations

import errno

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus


def describe_failure(exc: BaseException | None, where: str, user: str) -> str:
    if exc is None:
        return f"ARI events connection to {where} ended"
    if isinstance(exc, InvalidStatus):
        return _refused_upgrade(exc.response.status_code, where, user)
    if isinstance(exc, ConnectionClosed):
        return f"ARI events connection to {where} lost ({_closed(exc)})"
    if isinstance(exc, TimeoutError):
        return f"ARI not reachable at {where} (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return f"ARI not reachable at {where} (connection refused)"
    if isinstance(exc, OSError):
        if exc.errno == errno.ECONNREFUSED or "Connect call failed" in str(exc):
            return f"ARI not reachable at {where} (connection refused)"
        return f"ARI not reachable at {where} ({exc.strerror or exc})"
    if isinstance(exc, InvalidHandshake):
        return f"ARI events websocket handshake with {where} failed ({exc})"
    return f"ARI events stream to {where} failed ({type(exc).__name__}: {exc})"


def _refused_upgrade(status: int, where: str, user: str) -> str:
    if status in (401, 403):
        return (
            f"ARI at {where} refused user '{user}' (HTTP {status}): wrong ARI user or password "
            "(ari.conf, SIAGA_ARI__USER / SIAGA_ARI__PASSWORD)"
        )
    if status == 404:
        return f"no ARI events endpoint at {where} (HTTP 404): is res_ari loaded and http.conf enabled?"
    return f"ARI at {where} refused the events websocket (HTTP {status})"


def _closed(exc: ConnectionClosed) -> str:
    if exc.rcvd is not None:  # Asterisk closed it: shutdown, restart, module unload
        return f"closed by Asterisk, code {exc.rcvd.code}" + (f": {exc.rcvd.reason}" if exc.rcvd.reason else "")
    if exc.sent is not None and exc.sent.reason:  # we gave up, e.g. "keepalive ping timeout"
        return f"{exc.sent.reason}, no answer from Asterisk"
    return "no close frame: Asterisk stopped or the link died"
