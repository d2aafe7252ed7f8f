"""The agent page's live feed: Server-Sent Events from Redis and the call service's health.

Principle: the page learns everything as it happens and never from polling the
database. The call service publishes agent messages (offers, status, dispatch
progress) as JSON on ``CHANNEL``; each page gets, unchanged, those whose ``agent``
is its user. Every ``HEALTH_EVERY`` seconds the feed also says whether the call
service answers ``/healthz`` (``up``) and whether Redis does (``live``), so the page
can show what it cannot know by itself. Redis or the call service being down is a
message on the feed, never an error: the feed only ends when the browser goes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from app.settings import Settings

log = logging.getLogger("siaga.web.events")

CHANNEL = "siaga:agent-events"
HEALTH_EVERY = 2.0
RETRY_MS = 2000  # how soon the browser's EventSource reconnects after a drop


def sse(data: str) -> str:
    return f"data: {data}\n\n"


def for_agent(raw: bytes | str, agent: str) -> str | None:
    """The message as one SSE data line when it is addressed to ``agent``, else None."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
        message = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(message, dict) or message.get("agent") != agent:
        return None
    return text if "\n" not in text and "\r" not in text else json.dumps(message)


async def service_up(client: httpx.AsyncClient, settings: Settings) -> bool:
    try:
        response = await client.get(f"http://{settings.web.host}:{settings.web.port}/healthz", timeout=1.5)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


class _Subscription:
    """One Redis pub/sub subscription that comes back after Redis does."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._client: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._retry_at = 0.0

    @property
    def live(self) -> bool:
        return self._pubsub is not None

    async def ensure(self) -> None:
        if self._pubsub is not None or not self.url or time.monotonic() < self._retry_at:
            return
        self._retry_at = time.monotonic() + HEALTH_EVERY
        try:
            self._client = aioredis.from_url(self.url, socket_connect_timeout=1, socket_timeout=None)
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(CHANNEL)
            self._pubsub = pubsub
        except (RedisError, OSError) as exc:
            log.info("agent feed: Redis not reachable (%s)", exc)
            await self.close()

    async def next(self, timeout: float) -> bytes | None:
        if self._pubsub is None:
            await asyncio.sleep(timeout)
            return None
        try:
            message = await self._pubsub.get_message(timeout=timeout)
        except (RedisError, OSError) as exc:
            log.info("agent feed: Redis connection lost (%s)", exc)
            await self.close()
            return None
        return message["data"] if message and message.get("type") == "message" else None

    async def close(self) -> None:
        pubsub, client, self._pubsub, self._client = self._pubsub, self._client, None, None
        try:
            if pubsub is not None:
                await pubsub.aclose()
            if client is not None:
                await client.aclose()
        except (RedisError, OSError):
            pass


async def feed(settings: Settings, agent: str, disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[str]:
    """The SSE text for one page of ``agent``, until ``disconnected()``."""
    subscription = _Subscription(settings.redis.url)
    yield f"retry: {RETRY_MS}\n\n"
    async with httpx.AsyncClient() as client:
        try:
            next_health = 0.0
            while not await disconnected():
                await subscription.ensure()
                if time.monotonic() >= next_health:
                    up = await service_up(client, settings)
                    yield sse(json.dumps({"type": "service", "up": up, "live": subscription.live}))
                    next_health = time.monotonic() + HEALTH_EVERY
                raw = await subscription.next(timeout=min(0.5, max(0.05, next_health - time.monotonic())))
                if raw is not None and (line := for_agent(raw, agent)) is not None:
                    yield sse(line)
        finally:
            await subscription.close()
