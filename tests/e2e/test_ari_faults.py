"""ARI failing under a running call service, end to end: callers still reach a human, talks are never cut.

The call service reaches the real Asterisk through a fault-injecting proxy
(tests/support/ari_proxy.py) that refuses chosen requests or changes chosen
events; the watchdog talks to Asterisk directly. Each test is a row of
docs/RELIABILITY.md.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.e2e.conftest import running_system
from tests.e2e.system import new_caller
from tests.support.ari_proxy import AriProxy

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]

CHANNEL = r"channels/[^/]+"


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    yield from running_system(tmp_path_factory, "e2e-ari")


@pytest.fixture
def proxy(system):
    """The call service restarted behind a fresh proxy; afterwards, restarted without it."""
    proxied = AriProxy(system.settings.ari.port).start()
    system.stop_service()
    yield proxied
    system.stop_service()
    proxied.stop()
    system.start_service()


def through(proxy: AriProxy, **settings: str) -> dict[str, str]:
    return {"SIAGA_ARI__PORT": str(proxy.port), **settings}


def fallback_case(system, caller: str) -> dict:
    """The case once the fallback journal's end line has told who answered (read every 2 s)."""
    return system.until(
        lambda: (case := system.case(caller, status={"ended"})).get("answered_by_unit") and case,
        15,
        "the fallback journal's end line applied",
    )


def test_a_caller_whose_handover_fails_for_a_while_reaches_the_fallback_group_once_ari_recovers(system, proxy):
    system.start_service(**through(proxy, SIAGA_IVR__HANDOVER_UNHEALTHY_SECONDS="30"))
    proxy.fail("POST", f"{CHANNEL}/play/")  # the welcome prompt fails: the flow hands the caller over ...
    continues = proxy.fail("POST", f"{CHANNEL}/continue$")  # ... and that fails too, for now
    caller = new_caller()
    with system.line("operator-1", answer_after=0.3) as operator, system.call("112", caller, duration=30):
        system.until(lambda: continues.hits >= 3, 15, "three hand-over tries")
        health = system.health()
        assert health["handing_over"] == 1 and health["status"] == "ok"  # counted; not yet past the bound
        continues.active = False
        healed = time.monotonic()
        operator.wait_for("answered", 10)
        assert time.monotonic() - healed < 4  # the next try (every 2 s at most), then the group rings
        assert system.health()["handing_over"] == 0
    case = fallback_case(system, caller)
    assert case["disposition"] == "fallback" and case["answered_by_unit"] == "operator-1"
    kinds = [e["kind"] for e in case["events"]]
    assert kinds.index("error") < kinds.index("fallback") < kinds.index("fallback.dialplan")
    assert "fallback route not reached (try 3" in system.log_tail(400)


def test_a_caller_whose_handover_keeps_failing_is_taken_by_the_watchdog(system, proxy):
    system.start_service(**through(proxy))  # unhealthy after 3 s of failing (the default bound)
    proxy.fail("POST", f"{CHANNEL}/play/")
    proxy.fail("POST", f"{CHANNEL}/continue$")  # for good: only the watchdog's own connection works
    caller = new_caller()
    with system.line("operator-1", answer_after=0.3) as operator, system.call("112", caller, duration=30):
        system.until(lambda: system.health().get("handing_over") == 1, 15, "the caller waiting for its hand-over")
        unhealthy = system.until(lambda: _if_degraded(system.health()), 10, "the service reporting itself unhealthy")
        assert unhealthy["handing_over_oldest_seconds"] >= 3 and unhealthy["ari"] == "connected"
        operator.wait_for("answered", 15)
    case = fallback_case(system, caller)
    assert case["disposition"] == "fallback" and case["answered_by_unit"] == "operator-1"
    reasons = [e["detail"]["reason"] for e in case["events"] if e["kind"] == "fallback.dialplan"]
    assert reasons == ["WATCHDOG"]
    system.until(lambda: system.health().get("status") == "ok", 10, "healthy again once the caller has gone")


def test_a_conversation_is_not_cut_when_the_bridges_cannot_be_listed_after_a_restart(system, proxy):
    system.start_service(**through(proxy))
    caller = new_caller()
    with system.line("psc-kuta", answer_after=0.5) as unit:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, dtmf_gap=0.8, duration=120) as citizen:
            unit.wait_for("answered", 30)
            system.case(caller, status={"connected"})
            system.stop_service(signal.SIGKILL)
            bridges = proxy.fail("GET", r"^bridges$")
            system.start_service(**through(proxy))
            system.until(lambda: bridges.hits >= 3, 15, "resync passes that cannot list the bridges")
            assert "adopted as connected" not in system.log_tail(400)
            assert "disconnected" not in citizen.names() and "disconnected" not in unit.names()  # never cut
            bridges.active = False
            system.until(lambda: "adopted as connected" in system.log_tail(400), 10, "the conversation adopted")
            assert "disconnected" not in citizen.names() and "disconnected" not in unit.names()
            citizen.stop()
            unit.wait_for("disconnected", 10)
    case = system.case(caller, status={"ended"})
    assert case["disposition"] == "completed" and case["answered_by_unit"] == "psc-kuta"


def test_an_event_the_service_cannot_read_sends_the_caller_to_a_human(system, proxy):
    system.start_service(**through(proxy))
    # The busy unit's leg ends with a cause that is not a number: translating that event raises.
    garbled = proxy.change_event(
        lambda e: e.get("type") == "ChannelDestroyed" and "-leg" in (e.get("channel") or {}).get("id", ""),
        lambda e: {**e, "cause": "not-a-number"},
    )
    caller = new_caller()
    with system.line("psc-kuta", busy=True), system.line("operator-1", answer_after=0.3) as operator:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, dtmf_gap=0.8, duration=30):
            operator.wait_for("answered", 30)
    assert garbled.done == 1
    case = fallback_case(system, caller)
    assert case["disposition"] == "fallback" and case["answered_by_unit"] == "operator-1"
    [error] = [e for e in case["events"] if e["kind"] == "error"]
    assert "not-a-number" in error["detail"]["error"]


def test_the_watchdog_stops_the_prompt_of_a_dead_service_before_handing_the_caller_over(system):
    caller = new_caller()
    with system.line("operator-1", answer_after=0.3) as operator:
        with system.call("112", caller, dtmf=["1"], dtmf_after=1.0, duration=60):
            # Chosen, so the district prompt (about 10 s) has just started.
            system.until(lambda: system.case(caller).get("category") == "medical", 15, "the district menu")
            system.stop_service(signal.SIGKILL)
            killed = time.monotonic()
            operator.wait_for("incoming", 15)
            # Grace 1.5 s + one health poll; before, the continue waited for the prompt to end.
            assert time.monotonic() - killed < 4.5
            operator.wait_for("answered", 5)
    system.start_service()
    case = system.case(caller, status={"ended"})
    assert case["disposition"] == "fallback"


def _if_degraded(health: dict) -> dict | None:
    return health if health.get("status") == "degraded" else None
