"""The one publisher of live events: calls announce, Redis follows when it can.

Principle: a call never waits for Redis and never fails because of it.
``publish`` only folds the event into an in-memory snapshot of the active
calls and puts it on a bounded queue (full: the oldest event is dropped and
counted); ``run`` writes the queue to Redis. When Redis is unreachable the
publisher says "degraded" (one warning line per outage), discards what it
cannot send, and reconnects with a capped backoff; once back it rewrites the
whole snapshot, so the live views are right again without anyone's help.

In Redis: ``siaga:call:<ticket>`` (a hash per active call; its TTL, renewed
by every event, is how a lost hang-up or a crash stops leaking), ``siaga:calls:active`` (a sorted set of
tickets, scored by arrival time) and every event as JSON on ``siaga:events``.
One call service owns these keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from app.clock import utcnow
from app.live.events import LiveEvent, LiveStateRestored
from app.live.state import ActiveCalls

log = logging.getLogger("siaga.live")

CHANNEL = "siaga:events"
ACTIVE = "siaga:calls:active"
_STOP = object()


def call_key(ticket: str) -> str:
    return f"siaga:call:{ticket}"


class LivePublisher:
    def __init__(
        self,
        redis_url: str | None,
        *,
        queue_size: int = 1000,
        ttl_seconds: int = 4 * 3600,
        max_backoff: float = 2.0,
        heartbeat: float = 1.0,
    ) -> None:
        self.url = redis_url or None  # None or "": disabled (no Redis in this deployment)
        self.ttl, self.max_backoff, self.heartbeat = ttl_seconds, max_backoff, heartbeat
        self.active = ActiveCalls()
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=queue_size)
        self.dropped = 0
        self.state = "disabled" if self.url is None else "degraded"  # degraded until first connected
        self._stopping = False
        self._unsent = 0  # events discarded during the current outage
        self._down_since: float | None = None

    # -- the calls' side: never blocks, never raises ------------------------------
    def publish(self, event: LiveEvent) -> None:
        if self.url is None or self._stopping:
            return
        try:
            self.active.apply(event)
            self._put(event)
        except Exception:  # a bug here must not reach a call
            log.exception("live event %r not published", event)

    def tell(self, channel: str, message: dict) -> None:
        """A message for another kind of live view (the agent pages): published as JSON on ``channel``.

        Same rules as ``publish``: never blocks, never raises, dropped while Redis is away.
        """
        if self.url is None or self._stopping:
            return
        try:
            self._put(_Told(channel, json.dumps(message, separators=(",", ":"), default=str)))
        except Exception:
            log.exception("live message %r not published", message)

    def _put(self, item: object) -> None:
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()
                self.dropped += 1

    def status(self) -> dict:
        return {"redis": self.state, "dropped": self.dropped}

    def stop(self) -> None:
        """Write what is queued, then end ``run``."""
        if not self._stopping and self.url is not None:
            self._stopping = True
            self._put(_STOP)

    # -- the Redis side ------------------------------------------------------------
    async def run(self) -> None:
        if self.url is None:
            return
        delay = 0.1
        while True:
            client = Redis.from_url(
                self.url, socket_connect_timeout=1, socket_timeout=2, retry=Retry(NoBackoff(), 0)
            )  # our own loop does the retrying
            try:
                await self._restore(client)
                delay = 0.1
                if await self._pump(client):
                    return
            except (RedisError, OSError) as exc:
                self._down(exc)
            except Exception as exc:  # a bug: live views suffer, calls must not; start over
                log.exception("live publisher error")
                self._down(exc)
            finally:
                await client.aclose()
            if await self._discard_for(delay):
                return
            delay = min(delay * 2, self.max_backoff)

    async def _restore(self, client: Redis) -> None:
        """Make Redis hold exactly the snapshot: after an outage, or a previous run that crashed."""
        old = cast(list[bytes], await client.zrange(ACTIVE, 0, -1))  # bytes: the client does not decode
        calls = self.active.calls
        pipe = client.pipeline(transaction=True)
        for ticket in {t.decode() for t in old} - calls.keys():
            pipe.delete(call_key(ticket))
        pipe.delete(ACTIVE)
        for ticket, fields in calls.items():
            self._write_call(pipe, ticket, fields)
        if self._down_since is not None:  # tell the live views to read the active calls again
            pipe.publish(CHANNEL, LiveStateRestored("", active=len(calls)).to_json())
        await pipe.execute()
        if self._down_since is not None:
            log.info(
                "live views recovered: Redis is back after %.0fs; %d events were not published; "
                "live state of %d active calls restored",
                time.monotonic() - self._down_since,
                self._unsent,
                len(calls),
            )
            self._down_since = None
        self.state, self._unsent = "ok", 0

    async def _pump(self, client: Redis) -> bool:
        """Write queued events until Redis fails (raises) or we are stopped (True)."""
        pruned = time.monotonic()
        while True:
            try:
                event = await asyncio.wait_for(self.queue.get(), self.heartbeat)
            except TimeoutError:
                await client.ping()  # notices an outage while no call is happening
                if time.monotonic() - pruned > min(60.0, self.ttl / 4):
                    await self._forget_quiet(client)
                    pruned = time.monotonic()
                continue
            if event is _STOP:
                return True
            batch = [event]
            while not self.queue.empty():  # whatever queued up during the last round trip goes with it
                item = self.queue.get_nowait()
                if item is _STOP:
                    await self._write(client, batch)
                    return True
                batch.append(item)
            await self._write(client, batch)

    async def _forget_quiet(self, client: Redis) -> None:
        """A call without an event for a whole TTL has lost its end: its hash expires, this drops the rest."""
        quiet = self.active.forget_quiet(utcnow() - timedelta(seconds=self.ttl))
        if quiet:
            await client.zrem(ACTIVE, *quiet)

    async def _write(self, client: Redis, events: list[LiveEvent]) -> None:
        """One round trip (one transaction) for a batch: each call's newest state once, every event in order.

        Under load events queue up while the previous batch is on its way, so a call's
        several events cost one Redis round trip, not one each (docs/PERFORMANCE.md, round 3).
        """
        pipe = client.pipeline(transaction=True)
        told = [e for e in events if isinstance(e, _Told)]
        events = [e for e in events if not isinstance(e, _Told)]
        for ticket in dict.fromkeys(e.ticket for e in events if e.ticket):
            fields = self.active.calls.get(ticket)
            if fields is not None:  # the snapshot may be ahead of these events: it is the newest truth
                self._write_call(pipe, ticket, fields)
            else:  # ended (now or by a later event already folded in)
                pipe.delete(call_key(ticket))
                pipe.zrem(ACTIVE, ticket)
        for event in events:
            pipe.publish(CHANNEL, event.to_json())
        for message in told:
            pipe.publish(message.channel, message.body)
        await pipe.execute()

    def _write_call(self, pipe, ticket: str, fields: dict[str, str]) -> None:
        key = call_key(ticket)
        pipe.hset(key, mapping=fields)
        pipe.expire(key, self.ttl)
        pipe.zadd(ACTIVE, {ticket: _epoch(fields.get("received_at") or fields.get("updated_at"))})

    def _down(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "live views degraded: Redis at %s is not reachable (%s); calls and cases are unaffected; reconnecting",
                _where(self.url),
                exc or type(exc).__name__,
            )
        self.state = "degraded"

    async def _discard_for(self, seconds: float) -> bool:
        """Wait before reconnecting, emptying the queue (the snapshot keeps its effect). True: stopped."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = await asyncio.wait_for(self.queue.get(), left)
            except TimeoutError:
                break
            if item is _STOP:
                return True
            self._unsent += 1
        return False


@dataclass(frozen=True)
class _Told:
    channel: str
    body: str


def _epoch(stamp: str | None) -> float:
    return datetime.fromisoformat(stamp).timestamp() if stamp else time.time()


def _where(url: str | None) -> str:
    """The URL without its password, for log lines."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"
