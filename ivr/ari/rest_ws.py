"""``RestOverStream``: ARI REST requests sent over the events websocket.

Principle: one connection carries both ways. Asterisk (22.3 and later) takes a
``RESTRequest`` message on the events websocket, runs it exactly as the HTTP
route would, and answers with a ``RESTResponse`` message in the same stream,
matched here by ``request_id``. That saves an HTTP request per ARI call (the
biggest single cost of the call service under load, docs/PERFORMANCE.md) and
orders every answer with the events Asterisk sent before it. It is an
optimisation only: until a probe request on the current connection has been
answered, ``ready`` is False and ``AriClient`` keeps using HTTP, so an older
Asterisk, or a connection being rebuilt, changes nothing but the speed. A
connection lost with requests in flight fails them with ``AriUnavailable``,
exactly as a broken HTTP request would (they are not resent: a POST may have
been carried out).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from ivr.ari.errors import AriUnavailable, error_for

log = logging.getLogger(__name__)

Sender = Callable[[str], Awaitable[None]]
PROBE_SECONDS = 2.0


class RestOverStream:
    def __init__(self, *, timeout: float = 5.0, probe_path: str = "asterisk/ping") -> None:
        self.timeout = timeout
        self.probe_path = probe_path
        self.ready = False
        self.sent = 0
        self._send: Sender | None = None
        self._pending: dict[str, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._generation = 0
        self._probe: asyncio.Task | None = None

    # -- the stream's side -------------------------------------------------

    def attach(self, send: Sender) -> None:
        """A connection is up and its reader runs: probe it, then use it."""
        self.detach("a new connection replaced the old one")
        self._send = send
        self._generation += 1
        self._probe = asyncio.get_running_loop().create_task(self._try(self._generation), name="ari-rest-probe")

    def detach(self, reason: str) -> None:
        """The connection is gone: requests in flight fail, new ones go over HTTP."""
        self.ready, self._send = False, None
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
        self._probe = None
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionError(f"ARI events connection lost ({reason})"))

    def deliver(self, message: dict) -> bool:
        """Take a ``RESTResponse``; False for anything else (an event for the app)."""
        if message.get("type") != "RESTResponse":
            return False
        future = self._pending.pop(str(message.get("request_id") or ""), None)
        if future is None:
            log.warning("ARI answered a request we are not waiting for: %.200r", message)
        elif not future.done():
            future.set_result(message)
        return True

    async def _try(self, generation: int) -> None:
        try:
            await self.request("GET", self.probe_path, None, None, probe=True)
        except Exception as exc:  # an Asterisk without REST over websocket: HTTP it is
            log.info(
                "ARI requests stay on HTTP: the events websocket did not answer a request (%s)",
                str(exc) or type(exc).__name__,
            )
            return
        if generation == self._generation and self._send is not None:
            self.ready = True
            log.info("ARI requests go over the events websocket")

    # -- the client's side -------------------------------------------------

    async def request(self, method: str, path: str, params: dict | None, body: Any, *, probe: bool = False) -> Any:
        """Like ``AriClient.request``: the parsed JSON answer, None without a body; raises ``AriError``."""
        send = self._send
        if send is None or not (self.ready or probe):
            raise AriUnavailable(0, method, path, "ARI events connection not ready for requests")
        uri = path.lstrip("/")
        query = {k: _text(v) for k, v in (params or {}).items() if v is not None}
        if query:
            uri += "?" + urlencode(query)
        request_id = str(next(self._ids))
        message: dict[str, Any] = {"type": "RESTRequest", "request_id": request_id, "method": method, "uri": uri}
        if body is not None:
            message["content_type"] = "application/json"
            message["message_body"] = json.dumps(body)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await send(json.dumps(message))
            self.sent += 1
            answer = await asyncio.wait_for(future, PROBE_SECONDS if probe else self.timeout)
        except TimeoutError:
            raise AriUnavailable(0, method, path, "ARI did not answer over the events websocket (timed out)") from None
        except Exception as exc:  # the socket failed under us (lost, closed, websockets' ConnectionClosed)
            raise AriUnavailable(0, method, path, f"ARI not reachable over the events websocket ({exc})") from exc
        finally:
            self._pending.pop(request_id, None)
        status = int(answer.get("status_code") or 0)
        text = answer.get("message_body") or ""
        payload = json.loads(text) if text else None
        if 200 <= status < 300:
            return payload
        message_text = payload.get("message") if isinstance(payload, dict) else None
        raise error_for(status, method, path, str(message_text or answer.get("reason_phrase") or status))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
