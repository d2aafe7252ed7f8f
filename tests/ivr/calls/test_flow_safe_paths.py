"""CallFlow's safe paths against a fake port and the real case store (SQLite): a reconnect, an error, a
failed hand-over to the fallback route, a case store that fails, a stopping service. Every one ends
with the caller at a human."""

from __future__ import annotations

import pytest

from ivr.calls import events as ev
from ivr.calls.flow import CONNECTING
from ivr.calls.handover import retry_delay
from ivr.calls.port import CallerGone
from ivr.calls.states import CallState
from tests.ivr.calls.support import PortError, break_store, medical_in_kuta


# -- the safe paths ----------------------------------------------------------
async def test_a_reconnect_during_the_ivr_sends_the_caller_to_a_human(new_call, port):
    call = await new_call("112").start()
    await call.send(ev.ServiceResumed())
    assert port.sent("to_fallback") == [("112",)]
    assert call.case().status == "fallback"
    assert call.events("fallback")[0].detail["why"] == "service reconnected mid-IVR"


async def test_an_error_in_the_port_during_the_ivr_sends_the_caller_to_the_fallback_route(new_call, port):
    call = await new_call("112").start()
    port.fail["play"] = PortError("playback refused")
    await call.press("1")
    assert port.sent("to_fallback") == [("112",)]
    [error] = call.events("error")
    assert "playback refused" in error.detail["error"]
    assert call.case().status == "fallback"


async def test_an_error_while_forwarding_releases_the_ringing_lines_before_the_fallback(new_call, port):
    call = await new_call("112").start()
    await call.press("0")
    port.fail["connect"] = PortError("bridge refused")
    legs = list(call.legs().values())
    await call.send(ev.LegAnswered(legs[0]))
    assert set(port.sent("hangup_leg")) == {(leg,) for leg in legs}
    assert port.sent("to_fallback") == [("112",)]
    assert "error" in call.kinds() and call.case().status == "fallback"


async def test_a_caller_gone_before_the_fallback_handover_is_abandoned_not_left_in_fallback(new_call, port):
    # The caller hangs up just as the agency answers: the bridge fails, and there is nobody to hand over.
    call = await new_call("112").start()
    await call.press("1", "2")
    port.fail["connect"] = PortError("Channel not found")
    port.fail["to_fallback"] = CallerGone("channel gone")
    await call.send(ev.LegAnswered(list(call.legs().values())[0]))
    assert (call.case().status, call.case().disposition) == ("ended", "abandoned-while-forwarding")
    assert call.flow.finished


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr("ivr.calls.endings.retry_delay", lambda tries: 0.001)


async def test_a_failed_fallback_handover_is_tried_again_on_a_timer_until_it_works(new_call, port, quick_retries):
    port.refuse.add("*")
    port.fail["to_fallback"] = PortError("ARI unreachable")
    call = await medical_in_kuta(new_call)
    await call.pump()  # the dials that fail at once, then the first hand-over try
    for _ in range(5):  # each failed try times the next one
        assert call.flow.states.state is CallState.HANDING_OVER
        assert isinstance(await call.next_timer(), ev.HandOverDue)
    assert len(port.sent("to_fallback")) == 6 and call.flow.waiting.status()["handing_over"] == 1
    assert call.case().status == "fallback"  # written once, at the first try
    del port.fail["to_fallback"]
    await call.next_timer()
    assert call.flow.states.state is CallState.IN_DIALPLAN and call.flow.waiting.status()["handing_over"] == 0
    assert len(port.sent("to_fallback")) == 7 and not call.flow.timers  # no timer left once handed over


async def test_a_reconnect_tries_a_failed_handover_again_at_once(new_call, port):
    port.refuse.add("*")
    port.fail["to_fallback"] = PortError("ARI unreachable")
    call = await medical_in_kuta(new_call)
    await call.pump()
    del port.fail["to_fallback"]
    await call.send(ev.ServiceResumed())
    assert call.flow.states.state is CallState.IN_DIALPLAN and len(port.sent("to_fallback")) == 2
    assert not call.flow.timers  # the failed try's timer is cancelled
    await call.send(ev.HandOverDue())  # and one that fires late anyway does nothing
    assert len(port.sent("to_fallback")) == 2


async def test_a_caller_who_hangs_up_while_waiting_for_the_handover_is_abandoned(new_call, port):
    port.fail["to_fallback"] = PortError("ARI unreachable")
    call = await new_call("112").start()
    await call.press("1")
    await call.send(ev.ServiceStopping())
    assert call.flow.states.state is CallState.HANDING_OVER
    await call.send(ev.CallerHungUp())
    assert (call.case().status, call.case().disposition) == ("ended", "abandoned-in-ivr")
    assert call.flow.waiting.status() == {"handing_over": 0, "handing_over_oldest_seconds": 0.0}


async def test_the_prompt_playing_is_stopped_before_the_handover(new_call, port):
    call = await new_call("112").start()
    [(_prompt, _lang, token)] = port.sent("play")
    await call.send(ev.ServiceStopping())
    # Asterisk would run the continue only once the prompt had ended (a district menu: ~10 s).
    assert [r[0] for r in port.requests[-2:]] == ["stop_playback", "to_fallback"]
    assert port.sent("stop_playback") == [(token,)]


async def test_ringback_is_stopped_before_the_handover(new_call, port):
    call = await medical_in_kuta(new_call)
    await call.send(ev.PromptFinished(CONNECTING))
    assert port.sent("start_ringback") == [()]
    await call.send(ev.ServiceStopping())
    assert [r[0] for r in port.requests[-2:]] == ["stop_ringback", "to_fallback"]


def test_retries_come_sooner_first_then_every_two_seconds():
    assert [retry_delay(n) for n in range(1, 7)] == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]


async def test_leaving_the_app_before_the_fallback_handover_ends_the_case(new_call, port):
    port.refuse.add("*")
    port.fail["to_fallback"] = PortError("ARI unreachable")
    call = await medical_in_kuta(new_call)
    await call.pump()
    await call.send(ev.CallerLeftApp())
    assert (call.case().status, call.case().disposition) == ("ended", "abandoned-while-forwarding")


async def test_a_caller_the_watchdog_took_while_we_were_handing_over_is_followed_in_the_fallback_route(new_call, port):
    """Found by review: leaving the app while being handed over was always taken for a hang-up."""
    port.fail["to_fallback"] = PortError("ARI unreachable")
    call = await new_call("112").start()
    await call.press("1")
    await call.send(ev.ServiceStopping())
    assert call.flow.states.state is CallState.HANDING_OVER
    port.in_fallback = True  # the watchdog continued it to [siaga-fallback]
    await call.send(ev.CallerLeftApp())
    assert call.flow.states.state is CallState.IN_DIALPLAN and call.case().status != "ended"
    assert call.flow.waiting.status()["handing_over"] == 0 and "hand-over" not in call.flow.timers  # no more tries
    await call.send(ev.CallerHungUp())  # the end of the call in the fallback route
    assert (call.case().status, call.case().disposition) == ("ended", "fallback")


# -- the case store failing -----------------------------------------------------
async def test_a_caller_still_reaches_the_fallback_route_when_the_case_cannot_be_written(new_call, store, port):
    break_store(store, "open")
    call = await new_call("112").start()
    assert port.sent("to_fallback") == [("112",)]
    assert call.flow.states.state is CallState.IN_DIALPLAN


async def test_a_caller_still_reaches_the_fallback_route_when_recording_the_fallback_fails(new_call, store, port):
    port.refuse.add("*")
    call = await medical_in_kuta(new_call)
    break_store(store, "update", when=lambda ticket, **fields: fields.get("status") == "fallback")
    await call.pump()
    assert port.sent("to_fallback") == [("112",)]


async def test_a_hang_up_ends_the_call_even_when_the_case_cannot_be_updated(new_call, store, port):
    call = await new_call("112").start()
    break_store(store, "update")
    await call.send(ev.CallerHungUp())
    assert call.flow.finished  # its worker stops
    assert port.sent("to_fallback") == []  # nobody to transfer: the caller is gone


async def test_every_ringing_line_is_released_even_when_attempts_cannot_be_updated(new_call, store, port):
    call = await new_call("112").start()
    await call.press("0")
    break_store(store, "update_attempt")
    await call.send(ev.CallerHungUp())
    assert sorted(port.sent("hangup_leg")) == sorted((leg,) for leg in call.legs().values())
    assert call.flow.finished and call.case().disposition == "abandoned-while-forwarding"


async def test_a_stopping_service_sends_callers_in_the_ivr_to_the_fallback_route(new_call, port):
    call = await new_call("112").start()
    await call.send(ev.ServiceStopping())
    assert port.sent("to_fallback") == [("112",)]
    assert call.events("fallback")[0].detail["why"] == "call service stopping"


async def test_a_stopping_service_leaves_a_connected_call_alone(new_call, port):
    call = await new_call("112").start()
    await call.press("1", "2")
    await call.send(ev.LegAnswered(list(call.legs().values())[0]))
    await call.send(ev.ServiceStopping())
    assert port.sent("to_fallback") == [] and call.flow.states.state is CallState.CONNECTED
