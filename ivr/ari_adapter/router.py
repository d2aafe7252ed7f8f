"""One event reader, one worker per call.

The reader hands every ARI event to ``CallRouter.route``, which never blocks:
it finds the call the event belongs to and puts it on that call's queue. Each
call's worker handles its events in order; a slow call (a slow database
write, a slow ARI request) delays only itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from ivr.ari_adapter import ids
from ivr.ari_adapter.translate import translate
from ivr.calls.events import DispatchRefused, DispatchRequested

log = logging.getLogger("siaga.router")


class Flow(Protocol):
    """What a worker drives: ``ivr.calls.flow.CallFlow`` (tests give simpler ones)."""

    @property
    def finished(self) -> bool: ...

    async def start(self) -> None: ...

    async def adopt(self, connected_leg: str | None = None) -> None: ...

    async def handle(self, event: object) -> None: ...

    async def fail_safe(self, exc: BaseException) -> None: ...


# Builds the flow of a new call: (key, StasisStart event, post) -> flow
FlowFactory = Callable[[str, dict, Callable[[object], None]], Flow]


class CallWorker:
    def __init__(
        self,
        key: str,
        caller_channel: str,
        flow_factory: FlowFactory,
        first: dict,
        *,
        resumed: bool = False,
        connected_leg: str | None = None,
    ) -> None:
        self.key, self.caller, self.resumed = key, caller_channel, resumed
        self.connected_leg = connected_leg  # resumed while bridged with this agency leg
        self.queue: asyncio.Queue = asyncio.Queue()
        # The flow posts to the queue itself, not to this worker: no reference cycle, so an ended call
        # is freed at once (by reference counting) rather than by the cyclic garbage collector.
        self.flow = flow_factory(key, first, self.queue.put_nowait)
        self.task: asyncio.Task | None = None

    def post(self, item: object) -> None:
        self.queue.put_nowait(item)

    async def run(self, done: Callable[[str], None]) -> None:
        try:
            await self._guard(self.flow.adopt(self.connected_leg) if self.resumed else self.flow.start())
            while not self.flow.finished:
                await self._guard(self._handle(await self.queue.get()))
        finally:
            done(self.key)
            self._refuse_requests()

    def _refuse_requests(self) -> None:
        """Requests that arrived after the call ended (a dispatch behind the hang-up) get their answer now."""
        while not self.queue.empty():
            item = self.queue.get_nowait()
            reply = getattr(item, "reply", None)
            if isinstance(item, DispatchRequested) and isinstance(reply, asyncio.Future) and not reply.done():
                reply.set_exception(DispatchRefused(409, "the call has ended"))

    async def _handle(self, item: object) -> None:
        # Translation inside the guard too: a raw event it cannot read is an error of this call.
        event = translate(item, self.key, self.caller) if isinstance(item, dict) else item
        if event is not None:
            await self.flow.handle(event)

    async def _guard(self, coro: Awaitable) -> None:
        """Any error of this call goes to its fail-safe (a human takes the caller); the worker goes on."""
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            try:
                await self.flow.fail_safe(exc)
            except Exception:  # fail_safe guards itself; this is the last line, never a silent end
                log.critical("call %s: the fail-safe itself failed", self.key, exc_info=True)


class CallRouter:
    def __init__(
        self, flow_factory: FlowFactory, *, on_orphan: Callable[[dict], Awaitable[None]] | None = None
    ) -> None:
        self.flow_factory = flow_factory
        self.on_orphan = on_orphan
        self.workers: dict[str, CallWorker] = {}
        self.by_channel: dict[str, str] = {}  # caller channel id -> call key
        self._tasks: set[asyncio.Task] = set()

    def route(self, event: dict) -> None:
        key = self._key_of(event)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("event %s %s -> %s", event.get("type"), _ids(event), key)
        if key is not None:
            worker = self.workers.get(key)
            if worker is not None:
                worker.post(event)
            elif event.get("type") == "StasisStart" and self.on_orphan:
                self._spawn(self.on_orphan(event))  # e.g. a leg answered after its call ended
            return
        if event.get("type") == "StasisStart":
            self.start_call(event)

    def start_call(
        self, event: dict, *, resumed: bool = False, key: str | None = None, connected_leg: str | None = None
    ) -> CallWorker:
        """A worker for a new call; ``key``: an adopted call keeps the key its ids carry (bridge, legs)."""
        channel = event["channel"]["id"]
        # A new call's key follows from its channel, so the watchdog can name its playbacks after the
        # service died (ids.key_for_channel). An adopted one gets a fresh key (its old flow's legs may
        # still be around, released as orphans) unless it keeps the key of its bridge.
        key = key or (ids.new_key() if resumed else ids.key_for_channel(channel))
        worker = CallWorker(key, channel, self.flow_factory, event, resumed=resumed, connected_leg=connected_leg)
        self.workers[key] = worker
        self.by_channel[channel] = key
        worker.task = asyncio.create_task(worker.run(self._done), name=f"call-{key}")
        return worker

    def _key_of(self, event: dict) -> str | None:
        for field in ("channel", "peer", "playback", "bridge"):
            rid = (event.get(field) or {}).get("id")
            if rid:
                key = ids.key_of(rid) or self.by_channel.get(rid)
                if key:
                    return key
        return None

    def _done(self, key: str) -> None:
        worker = self.workers.pop(key, None)
        if worker:
            self.by_channel.pop(worker.caller, None)

    def _spawn(self, coro: Awaitable) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _ids(event: dict) -> str:
    return " ".join(
        f"{field}={(event.get(field) or {}).get('id')}"
        for field in ("channel", "peer", "playback", "bridge")
        if event.get(field)
    )
