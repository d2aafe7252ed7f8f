"""LivePublisher against a private redis-server, including killing it mid-call."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
import redis.asyncio as aredis

from app.live import events as ev
from app.live.publisher import ACTIVE, CHANNEL, LivePublisher, call_key
from tests.support.parts import need
from tests.support.redis_server import BINARY, PrivateRedis
from tests.support.waiting import eventually


@pytest.fixture
def server(tmp_path):
    need(BINARY is not None, "redis-server")
    s = PrivateRedis(tmp_path / "redis").start()
    yield s
    s.kill()


@pytest.fixture
async def client(server):
    c = aredis.Redis.from_url(server.url)
    yield c
    await c.aclose()


@pytest.fixture
async def running():
    """Start publishers; each one is stopped (and must end cleanly) after the test."""
    started: list[tuple[LivePublisher, asyncio.Task]] = []

    def start(url: str, **opts) -> LivePublisher:
        publisher = LivePublisher(url, max_backoff=0.3, **opts)
        started.append((publisher, asyncio.create_task(publisher.run())))
        return publisher

    yield start
    for publisher, task in started:
        publisher.stop()
        await asyncio.wait_for(task, 5)  # an exception inside run() would surface here


async def tickets(client) -> set[str]:
    return {t.decode() for t in await client.zrange(ACTIVE, 0, -1)}


def timed_publish(publisher: LivePublisher, event: ev.LiveEvent) -> float:
    start = time.perf_counter()
    publisher.publish(event)
    return time.perf_counter() - start


def a_call(ticket: str) -> list[ev.LiveEvent]:
    return [
        ev.CallReceived(ticket, line="112", caller_number="081234567890"),
        ev.IvrChoiceMade(ticket, field="language", value="id"),
        ev.IvrChoiceMade(ticket, field="category", value="medical"),
        ev.CallForwarded(ticket, category="medical", district="kuta", language="id", reason="selected"),
        ev.AgencyRinging(ticket, unit="psc-kuta"),
        ev.CallConnected(ticket, unit="psc-kuta"),
    ]


async def test_events_reach_the_channel_and_the_call_hash_in_order(server, client, running):
    pubsub = client.pubsub()
    await pubsub.subscribe(CHANNEL)
    assert (await pubsub.get_message(timeout=2))["type"] == "subscribe"
    publisher = running(server.url)
    sent = a_call("112-T1")
    for event in sent:
        publisher.publish(event)

    received: list[ev.LiveEvent] = []

    async def all_received():
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message:
            received.append(ev.from_json(message["data"]))
        return len(received) == len(sent)

    await eventually(all_received, 5, "every event on the channel")
    assert received == sent
    state = {k.decode(): v.decode() for k, v in (await client.hgetall(call_key("112-T1"))).items()}
    assert state["status"] == "connected" and state["unit"] == "psc-kuta" and state["ringing"] == ""
    assert (state["line"], state["language"], state["category"], state["district"]) == ("112", "id", "medical", "kuta")
    assert state["last_event"] == "call.connected"
    assert 0 < await client.ttl(call_key("112-T1")) <= publisher.ttl
    assert await tickets(client) == {"112-T1"}
    assert publisher.status() == {"redis": "ok", "dropped": 0}
    await pubsub.aclose()


async def test_events_that_queue_up_go_in_one_round_trip_each_batch_in_order(server, client, running):
    pubsub = client.pubsub()
    await pubsub.subscribe(CHANNEL)
    assert (await pubsub.get_message(timeout=2))["type"] == "subscribe"
    publisher = running(server.url)
    sent = [event for n in range(20) for event in a_call(f"112-B{n}")]
    for event in sent:  # all before the publisher's task first runs: one queue-full
        publisher.publish(event)

    received: list[ev.LiveEvent] = []

    async def all_received():
        while message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05):
            received.append(ev.from_json(message["data"]))
        return len(received) >= len(sent)

    await eventually(all_received, 5, "every event on the channel")
    assert received == sent  # in order across the calls
    assert await tickets(client) == {f"112-B{n}" for n in range(20)}
    state = {k.decode(): v.decode() for k, v in (await client.hgetall(call_key("112-B7"))).items()}
    assert state["status"] == "connected" and state["unit"] == "psc-kuta"
    transactions = (await client.info("commandstats")).get("cmdstat_exec", {}).get("calls", 0)
    assert 1 <= transactions <= 3, transactions  # the restore, then the batch: not one per event (120)
    await pubsub.aclose()


async def test_publish_returns_at_once_and_a_full_queue_drops_the_oldest():
    publisher = LivePublisher("redis://127.0.0.1:1/0", queue_size=3)  # never run: nothing drains the queue
    events = [ev.IvrChoiceMade("112-T2", field="district", value=f"d{i}") for i in range(10)]
    assert max(timed_publish(publisher, e) for e in events) < 0.01
    assert publisher.status()["dropped"] == 7
    assert [publisher.queue.get_nowait() for _ in range(3)] == events[-3:]
    assert publisher.active.calls["112-T2"]["district"] == "d9"  # the snapshot misses nothing


async def test_ended_calls_leave_no_keys_behind(server, client, running):
    publisher = running(server.url)
    for ticket in ("112-T3", "112-T4"):
        for event in a_call(ticket):
            publisher.publish(event)
    await eventually(lambda: tickets(client), 5, "active calls in Redis")
    publisher.publish(ev.CallFellBack("112-T4", why="no agency line answered"))
    for ticket in ("112-T3", "112-T4"):
        publisher.publish(ev.CallEnded(ticket, disposition="completed"))

    async def empty():
        return not await client.keys("siaga:call*")

    await eventually(empty, 5, "every key of the ended calls to go")
    assert publisher.active.calls == {}


async def test_a_call_whose_end_was_never_announced_leaves_nothing_after_its_ttl(server, client, running):
    publisher = running(server.url, ttl_seconds=1, heartbeat=0.05)
    publisher.publish(ev.CallReceived("112-LOST", line="112", caller_number="0811"))
    await eventually(lambda: tickets(client), 5, "the call in Redis")

    async def gone():
        return not await tickets(client) and not await client.exists(call_key("112-LOST"))

    await eventually(gone, 5, "the silent call to be forgotten")
    assert publisher.active.calls == {}


async def test_calls_left_by_a_crashed_run_are_cleared_on_connect(server, client, running):
    await client.hset(call_key("112-OLD"), mapping={"status": "connected"})
    await client.zadd(ACTIVE, {"112-OLD": 1.0})
    publisher = running(server.url)
    publisher.publish(ev.CallReceived("112-NEW", line="112", caller_number="0811"))

    async def only_the_new_call():
        return await tickets(client) == {"112-NEW"} and not await client.exists(call_key("112-OLD"))

    await eventually(only_the_new_call, 5, "the stale call to be cleared")


async def test_redis_outage_degrades_then_recovers_by_itself_with_the_live_state(server, client, running, caplog):
    caplog.set_level(logging.INFO, logger="siaga.live")
    publisher = running(server.url)
    for event in a_call("112-A")[:3] + a_call("112-B")[:1]:
        publisher.publish(event)
    await eventually(lambda: tickets(client), 5, "the calls in Redis")
    await eventually(lambda: publisher.state == "ok", 5, "status ok")

    server.kill()
    during = [
        ev.CallForwarded("112-A", category="medical", district="kuta", language="id", reason="selected"),
        ev.AgencyRinging("112-A", unit="psc-kuta"),
        ev.CallEnded("112-B", disposition="abandoned-in-ivr"),
        ev.CallReceived("112-C", line="14084", caller_number="0822"),
    ]
    slowest = 0.0
    for event in during * 25:  # many events, while the publisher notices the outage
        slowest = max(slowest, timed_publish(publisher, event))
        await asyncio.sleep(0.005)
    assert slowest < 0.01
    await eventually(lambda: publisher.status()["redis"] == "degraded", 5, "status degraded")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "degraded" in r.getMessage()]
    assert len(warnings) == 1 and f":{server.port}" in warnings[0].getMessage()

    server.start()  # an empty Redis on the same port: everything it knew is gone
    await eventually(lambda: publisher.status()["redis"] == "ok", 5, "status ok again")
    fresh = aredis.Redis.from_url(server.url)
    try:
        await eventually(lambda: tickets(fresh), 5, "the active calls written back")
        assert await tickets(fresh) == {"112-A", "112-C"}
        a = {k.decode(): v.decode() for k, v in (await fresh.hgetall(call_key("112-A"))).items()}
        assert (a["status"], a["district"], a["category"], a["ringing"]) == (
            "forwarding",
            "kuta",
            "medical",
            "psc-kuta",
        )
        assert not await fresh.exists(call_key("112-B"))
        assert any("recovered" in r.getMessage() for r in caplog.records)
        for ticket in ("112-A", "112-C"):
            publisher.publish(ev.CallEnded(ticket, disposition="completed"))

        async def empty():
            return not await fresh.keys("siaga:call*")

        await eventually(empty, 5, "no keys once the calls ended")
    finally:
        await fresh.aclose()


async def test_without_a_redis_url_the_publisher_is_disabled():
    publisher = LivePublisher(None)
    publisher.publish(ev.CallReceived("112-T5", line="112", caller_number="0811"))
    await asyncio.wait_for(publisher.run(), 1)
    assert publisher.status() == {"redis": "disabled", "dropped": 0}
    assert publisher.queue.empty()
