"""Redis stopped: calls and cases are unaffected; live views report degraded and recover by themselves.

The system of this module uses its own redis-server, killed and restarted by
the tests like a crash would.
"""

from __future__ import annotations

import time

import httpx
import pytest

from app.live.events import from_json
from app.live.publisher import CHANNEL, call_key
from tests.e2e.conftest import running_system
from tests.e2e.system import new_caller

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]


@pytest.fixture(scope="module")
def system(tmp_path_factory, redis_server):
    yield from running_system(tmp_path_factory, "e2e-redis", redis_url=redis_server.url)


@pytest.fixture
def redis_down(system, redis_server):
    """Redis killed for the test, and running again after it."""
    system.until(lambda: system.health().get("redis") == "ok", 10, "the service to use Redis")
    redis_server.kill()
    yield redis_server
    if redis_server.proc is None:
        redis_server.start()


def healthz(system) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{system.values['SIAGA_WEB__PORT']}/healthz", timeout=2)


def put_through(system, caller: str) -> None:
    """A 112 caller choosing medical (1) in Kuta (2), taken by the Kuta PSC unit."""
    with system.line("psc-kuta", answer_after=0.3) as unit:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, duration=20) as citizen:
            unit.wait_for("answered", 25)
            system.case(caller, status={"connected"})
            citizen.stop()


def warnings_about_redis(system) -> int:
    return system.service_log.read_text(errors="replace").count("live views degraded")


def test_with_redis_down_a_112_call_is_still_put_through_and_its_case_written(system, redis_down):
    before = warnings_about_redis(system)
    system.until(lambda: system.health().get("redis") == "degraded", 10, "/healthz to report Redis degraded")
    caller = new_caller()
    put_through(system, caller)
    case = system.case(caller, status={"ended"})
    assert (case["category"], case["district"], case["disposition"]) == ("medical", "kuta", "completed")
    assert [(a["unit"], a["outcome"]) for a in case["attempts"]] == [("psc-kuta", "answered")]
    response = healthz(system)
    assert response.status_code == 200  # Redis only feeds the live views: the service itself is fine
    assert response.json()["status"] == "ok" and response.json()["redis"] == "degraded"
    assert warnings_about_redis(system) == before + 1  # one readable line, not one per event


def test_after_redis_returns_live_views_recover_without_a_restart(system, redis_down):
    service_pid = system.service.pid
    system.until(lambda: system.health().get("redis") == "degraded", 10, "/healthz to report Redis degraded")
    redis_down.start()
    started = time.monotonic()
    system.until(lambda: system.health().get("redis") == "ok", 10, "/healthz to report Redis ok again")
    assert time.monotonic() - started < 10 and system.service.pid == service_pid

    client = redis_down.client()
    pubsub = client.pubsub()
    pubsub.subscribe(CHANNEL)
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    caller = new_caller()
    with system.line("psc-kuta", answer_after=0.3) as unit:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, duration=20) as citizen:
            unit.wait_for("answered", 25)
            ticket = system.case(caller, status={"connected"})["ticket"]
            live = system.until(lambda: client.hgetall(call_key(ticket)), 5, "the live state of the call")
            assert live[b"status"] == b"connected" and live[b"unit"] == b"psc-kuta"
            citizen.stop()
    system.case(caller, status={"ended"})

    events = []

    def call_ended() -> bool:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message:
            events.append(from_json(message["data"]))
        return any(e.kind == "call.ended" and e.ticket == ticket for e in events)

    system.until(call_ended, 10, "the call's events on siaga:events")
    mine = [e.kind for e in events if e.ticket == ticket]
    steps = ["call.received", "call.forwarded", "call.connected", "call.ended"]
    assert [k for k in mine if k in steps] == steps
    assert mine.count("ivr.choice-made") == 3
    assert not client.exists(call_key(ticket)) and client.zscore("siaga:calls:active", ticket) is None
    pubsub.close()
    client.close()
