"""CallRouter: one worker per call, events in order, calls independent of each other."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from ivr.ari_adapter import ids
from ivr.ari_adapter.router import CallRouter
from ivr.calls import events as ev
from tests.ivr.ari_adapter.ari_events import (
    channel,
    destroyed,
    dtmf,
    leg_channel,
    playback_finished,
    stasis_start,
    state_change,
)

BOOM = ev.DigitPressed("7")  # the fake flow raises on this one


class FakeFlow:
    """Remembers what it was fed; ``gate`` holds every event until it is set."""

    def __init__(self, key: str, first: dict, post) -> None:
        self.key, self.first, self.post = key, first, post
        self.how: str | None = None
        self.seen: list[object] = []
        self.errors: list[BaseException] = []
        self.gate: asyncio.Event | None = None
        self.finished = False
        self._changed = asyncio.Event()

    async def start(self) -> None:
        self.how = "start"

    async def adopt(self, connected_leg: str | None = None) -> None:
        self.how = "adopt" if connected_leg is None else f"adopt connected {connected_leg}"

    async def handle(self, event: object) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.seen.append(event)
        self._changed.set()
        if event == BOOM:
            raise RuntimeError("flow broke")
        if isinstance(event, ev.CallerHungUp):
            self.finished = True

    async def fail_safe(self, exc: BaseException) -> None:
        self.errors.append(exc)

    async def until_seen(self, count: int) -> list[object]:
        async def wait() -> None:
            while len(self.seen) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), 2)
        return self.seen


@pytest.fixture
def flows() -> list[FakeFlow]:
    return []


@pytest.fixture
def orphans() -> asyncio.Queue:
    return asyncio.Queue()


@pytest.fixture
def router(flows, orphans):
    def factory(key, first, post):
        flows.append(FakeFlow(key, first, post))
        return flows[-1]

    async def on_orphan(event: dict) -> None:
        orphans.put_nowait(event)

    return CallRouter(factory, on_orphan=on_orphan)


def arrive(router: CallRouter, channel_id: str) -> dict:
    caller = channel(channel_id)
    router.route(stasis_start(caller, "112"))
    return caller


async def test_a_new_caller_starts_one_worker_with_its_flow(router, flows):
    caller = arrive(router, "1764215000.1")
    [flow] = flows
    assert list(router.workers) == [flow.key] and router.by_channel == {caller["id"]: flow.key}
    assert flow.first["channel"]["id"] == caller["id"]
    router.route(dtmf(caller, "1"))
    await flow.until_seen(1)
    assert flow.how == "start" and len(flows) == 1


async def test_events_of_a_call_reach_its_flow_in_order(router, flows):
    caller = arrive(router, "1764215000.1")
    [flow] = flows
    leg = leg_channel(flow.key, "leg1")
    for raw in (
        dtmf(caller, "1"),
        dtmf(caller, "2"),
        playback_finished(ids.playback_id(flow.key, "p3")),
        state_change(leg, "Ringing"),
        stasis_start({**leg, "state": "Up"}, "leg"),
        dtmf(caller, "3"),
    ):
        router.route(raw)
    assert await flow.until_seen(6) == [
        ev.DigitPressed("1"),
        ev.DigitPressed("2"),
        ev.PromptFinished("p3"),
        ev.LegRinging("leg1"),
        ev.LegAnswered("leg1"),
        ev.DigitPressed("3"),
    ]


async def test_what_a_flow_posts_to_itself_is_handled_in_turn(router, flows):
    caller = arrive(router, "1764215000.1")
    [flow] = flows
    router.route(dtmf(caller, "1"))
    flow.post(ev.TimerExpired("t2"))
    assert await flow.until_seen(2) == [ev.DigitPressed("1"), ev.TimerExpired("t2")]


async def test_a_slow_call_does_not_hold_up_another_call(router, flows):
    slow_caller, fast_caller = arrive(router, "1764215000.1"), arrive(router, "1764215000.2")
    slow, fast = flows
    slow.gate = asyncio.Event()
    router.route(dtmf(slow_caller, "1"))
    router.route(dtmf(fast_caller, "2"))
    assert await fast.until_seen(1) == [ev.DigitPressed("2")]
    assert slow.seen == []
    slow.gate.set()
    assert await slow.until_seen(1) == [ev.DigitPressed("1")]


async def test_an_error_in_a_flow_goes_to_its_fail_safe_and_the_call_goes_on(router, flows):
    caller = arrive(router, "1764215000.1")
    [flow] = flows
    router.route(dtmf(caller, BOOM.digit))
    router.route(dtmf(caller, "1"))
    await flow.until_seen(2)
    assert [str(e) for e in flow.errors] == ["flow broke"]
    assert flow.key in router.workers


async def test_an_event_that_cannot_be_translated_goes_to_the_fail_safe_and_the_call_goes_on(router, flows):
    caller = arrive(router, "1764215000.1")
    [flow] = flows
    router.route({"type": "PlaybackFinished", "channel": {"id": caller["id"]}, "playback": "not an object"})
    router.route(dtmf(caller, "1"))
    await flow.until_seen(1)
    assert [type(e).__name__ for e in flow.errors] == ["AttributeError"]
    assert flow.seen == [ev.DigitPressed("1")] and flow.key in router.workers


async def test_a_fail_safe_that_fails_itself_does_not_end_the_worker(router, flows, caplog):
    caller = arrive(router, "1764215000.1")
    [flow] = flows

    async def broken(exc: BaseException) -> None:
        raise RuntimeError("fail-safe broke")

    flow.fail_safe = broken
    router.route(dtmf(caller, BOOM.digit))
    router.route(dtmf(caller, "1"))
    await flow.until_seen(2)
    assert "the fail-safe itself failed" in caplog.text and flow.key in router.workers


async def test_a_new_call_key_follows_from_its_channel_and_an_adopted_one_does_not(router, flows):
    arrive(router, "1764215000.1")
    assert flows[0].key == ids.key_for_channel("1764215000.1")
    router.start_call(stasis_start(channel("1764215000.2"), "112"), resumed=True)
    assert flows[1].key != ids.key_for_channel("1764215000.2")


async def test_a_worker_ends_and_is_removed_when_its_flow_finishes(router, flows):
    caller = arrive(router, "1764215000.1")
    [flow] = flows
    worker = router.workers[flow.key]
    router.route(destroyed(caller))
    await asyncio.wait_for(worker.task, 2)
    assert router.workers == {} and router.by_channel == {}
    router.route(dtmf(caller, "1"))  # too late: nobody is listening, and no new call starts
    assert router.workers == {} and len(flows) == 1


async def test_a_leg_entering_the_app_after_its_call_is_gone_is_an_orphan(router, flows, orphans):
    caller = arrive(router, "1764215000.1")
    [flow] = flows
    worker = router.workers[flow.key]
    router.route(destroyed(caller))
    await asyncio.wait_for(worker.task, 2)
    late = stasis_start(leg_channel(flow.key, "leg1", state="Up"), "leg")
    router.route(late)
    assert await asyncio.wait_for(orphans.get(), 2) is late
    assert router.workers == {} and len(flows) == 1


async def test_other_events_of_a_gone_call_are_dropped(router, flows, orphans):
    caller = arrive(router, "1764215000.1")
    [flow] = flows
    worker = router.workers[flow.key]
    router.route(destroyed(caller))
    await asyncio.wait_for(worker.task, 2)
    router.route(destroyed(leg_channel(flow.key, "leg1"), 17))
    router.route(playback_finished(ids.playback_id(flow.key, "p1")))
    assert orphans.empty() and router.workers == {} and len(flows) == 1


async def test_a_caller_adopted_after_a_restart_is_adopted_not_started(router, flows):
    worker = router.start_call(stasis_start(channel("1764215000.9"), "112"), resumed=True)
    worker.post(ev.ServiceResumed())
    [flow] = flows
    assert await flow.until_seen(1) == [ev.ServiceResumed()]
    assert flow.how == "adopt"


async def test_a_caller_found_talking_after_a_restart_keeps_its_call_key_and_gets_its_legs_events(router, flows):
    caller = channel("1764215000.10")
    worker = router.start_call(stasis_start(caller, "112"), resumed=True, key="0123456789abcdef", connected_leg="leg2")
    [flow] = flows
    assert worker.key == flow.key == "0123456789abcdef"
    router.route(destroyed(leg_channel("0123456789abcdef", "leg2"), 16))  # the agency hangs up
    [event] = await flow.until_seen(1)
    assert event == ev.LegEnded("leg2", 16, "Normal Clearing")
    assert flow.how == "adopt connected leg2"


async def test_a_worker_whose_call_ended_is_freed_at_once_without_the_cyclic_garbage_collector():
    # Garbage in reference cycles waits for the cyclic collector: at 17.5 calls/s the service
    # held ~600 ended calls that way, with their events (docs/PERFORMANCE.md, round 4).
    made: list[weakref.ref] = []

    def factory(key, first, post):
        flow = FakeFlow(key, first, post)  # like CallFlow, it keeps ``post`` to feed itself events
        made.append(weakref.ref(flow))
        return flow

    router = CallRouter(factory)
    gc.collect()
    gc.disable()
    try:
        caller = arrive(router, "1764215000.9")
        [worker] = router.workers.values()
        task, worker = worker.task, weakref.ref(worker)
        router.route(destroyed(caller))
        await asyncio.wait_for(task, 2)
        del task
        assert worker() is None and made[0]() is None
    finally:
        gc.enable()
