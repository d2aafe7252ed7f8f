"""``EventStream``: the ARI events websocket, kept open for as long as the service runs.

Principle: events reach ``on_event`` one at a time, in the order Asterisk
sent them, from this one task (no task per message, so no reordering); the
handler must not block. Events sent while we were disconnected are lost, so
after every (re)connect ``on_connected`` runs before any event is handed on,
for the service to rebuild its state from Asterisk. Every failure becomes one
readable log line and a retry with capped exponential backoff; only
``stop()`` ends ``run``. With a ``RestOverStream`` attached, the same
connection also carries REST requests once it is up (``rest_ws.py``); their
answers are taken out of the stream before the events are handed on.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from base64 import b64encode
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any
from urllib.parse import urlencode, urlsplit

from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect

from ivr.ari.backoff import Backoff
from ivr.ari.rest_ws import RestOverStream
from ivr.ari.stream_errors import describe_failure

log = logging.getLogger(__name__)

EventHandler = Callable[[dict], Awaitable[None] | None]
ConnectedHandler = Callable[[], Awaitable[None] | None]


class EventStream:
    def __init__(
        self,
        ws_url_base: str,
        user: str,
        password: str | SecretStr,
        app: str,
        *,
        max_backoff: float = 5.0,
        subscribe_all: bool = False,
        initial_backoff: float = 0.1,
        stable_after: float = 2.0,  # a connection up this long resets the backoff
        ping_interval: float = 2.0,  # with ping_timeout: a dead Asterisk is noticed within ~6 s
        ping_timeout: float = 4.0,
        open_timeout: float = 5.0,
        rest: RestOverStream | None = None,
    ) -> None:
        query = {"app": app, **({"subscribeAll": "true"} if subscribe_all else {})}
        base = ws_url_base.rstrip("/")
        if base.startswith("http"):  # accept AriSettings.base_url as it is: http -> ws, https -> wss
            base = "ws" + base[4:]
        self.url = f"{base}/events?{urlencode(query)}"
        self.where = urlsplit(self.url).netloc
        self.app = app
        self.user = user
        secret = password.get_secret_value() if isinstance(password, SecretStr) else password
        self._headers = {"Authorization": "Basic " + b64encode(f"{user}:{secret}".encode()).decode()}
        self._backoff = Backoff(initial_backoff, max_backoff)
        self._stable_after = stable_after
        self._connect_options: dict[str, Any] = dict(
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            open_timeout=open_timeout,
            close_timeout=1.0,
            max_size=2**24,
            proxy=None,
            compression=None,
        )
        self.rest = rest
        self._stop = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._closing: asyncio.Task | None = None
        self.connected = asyncio.Event()
        self.state = "stopped"  # connecting | connected | backoff | stopped
        self.connects = 0  # successful connections, the first included
        self.failed_attempts = 0  # attempts that never connected
        self.disconnects = 0  # connections lost after they were up
        self.events = 0
        self.malformed = 0
        self.last_error: str | None = None
        self.last_delay: float | None = None

    @classmethod
    def from_settings(cls, ari, **kwargs: Any) -> EventStream:
        """From ``app.settings.AriSettings``."""
        return cls(ari.base_url, ari.user, ari.password or "", ari.app, max_backoff=ari.reconnect_max_seconds, **kwargs)

    @property
    def reconnects(self) -> int:
        return max(0, self.connects - 1)

    def stop(self) -> None:
        """End ``run`` promptly: no further reconnects, the open websocket is closed."""
        self._stop.set()
        if self._ws is not None and self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._ws.close())

    async def run(self, on_event: EventHandler, on_connected: ConnectedHandler | None = None) -> None:
        loop = asyncio.get_running_loop()
        try:
            while not self._stop.is_set():
                self.state = "connecting"
                up_since = None
                try:
                    self._ws = await self._unless_stopped(
                        connect(self.url, additional_headers=self._headers, **self._connect_options)
                    )
                    if self._ws is None:
                        break
                    up_since = loop.time()
                    await self._session(self._ws, on_event, on_connected)
                    reason = describe_failure(self._ws.protocol.close_exc, self.where, self.user)
                except Exception as exc:  # every failure is one line and a retry, never a traceback
                    reason = describe_failure(exc, self.where, self.user)
                finally:
                    self.connected.clear()
                    self._ws, self._closing = None, None
                    if self.rest is not None:
                        self.rest.detach("the events websocket closed")
                if self._stop.is_set():
                    break
                if up_since is None:
                    self.failed_attempts += 1
                else:
                    self.disconnects += 1
                    if loop.time() - up_since >= self._stable_after:
                        self._backoff.reset()
                await self._pause(reason)
        finally:
            self.state = "stopped"
            self.connected.clear()

    async def _session(
        self, ws: ClientConnection, on_event: EventHandler, on_connected: ConnectedHandler | None
    ) -> None:
        async with ws:
            self.connects += 1
            self.state = "connected"
            self.connected.set()
            log.info("ARI events connected to %s (app %s)", self.where, self.app)
            if on_connected is not None:
                try:
                    await _maybe_await(on_connected())
                except Exception:
                    # Events still flow; a failed rebuild must not cut the stream.
                    log.exception("on_connected failed after connecting to ARI; events continue")
            if self.rest is not None:
                self.rest.attach(ws.send)
            async for message in ws:
                await self._deliver(message, on_event)

    async def _deliver(self, message: str | bytes, on_event: EventHandler) -> None:
        try:
            event = json.loads(message)
            if not isinstance(event, dict):
                raise ValueError(f"a JSON {type(event).__name__}, not an object")
        except ValueError as exc:
            self.malformed += 1
            log.warning("ARI sent a malformed event (%s), skipped: %.200r", exc, message)
            return
        if self.rest is not None and self.rest.deliver(event):
            return
        self.events += 1
        try:
            await _maybe_await(on_event(event))
        except Exception:
            log.exception("event handler failed on %s; the stream goes on", event.get("type"))

    async def _pause(self, reason: str) -> None:
        delay = self._backoff.next()
        level = logging.INFO if reason == self.last_error else logging.WARNING  # a long outage: one warning
        log.log(level, "%s; retrying in %.1f s", reason, delay)
        self.last_error, self.last_delay = reason, delay
        self.state = "backoff"
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    async def _unless_stopped(self, attempt: Awaitable[ClientConnection]) -> ClientConnection | None:
        """The connection, or None when ``stop()`` came first (a blackholed host would hold us)."""
        task = asyncio.ensure_future(attempt)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not task.done():
                task.cancel()
                await asyncio.wait({task})  # let the attempt unwind; its exception is not ours
        if task.cancelled():
            return None
        ws = task.result()
        if self._stop.is_set():
            await ws.close()
            return None
        return ws


async def _maybe_await(result: Awaitable[None] | None) -> None:
    if inspect.isawaitable(result):
        await result
