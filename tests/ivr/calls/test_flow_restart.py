"""CallFlow after a restart that found the caller still talking to an agency (fake port, real case store)."""

from __future__ import annotations

from ivr.calls import events as ev
from ivr.calls.states import CallState
from tests.ivr.calls.support import NORMAL_CLEARING, break_store, connected


async def restarted_mid_conversation(new_call, port):
    """A call connected to its agency; the service dies; the next run finds the caller still bridged."""
    before, first = await connected(new_call)
    leg = before.legs()[first]
    after = new_call()  # a new flow for the same caller channel, as the restarted service makes
    await after._guarded(after.flow.adopt(connected_leg=leg))
    port.requests.clear()
    return before, after, leg


async def test_a_conversation_found_after_a_restart_is_followed_and_closed_when_the_agency_hangs_up(new_call, port):
    before, after, leg = await restarted_mid_conversation(new_call, port)
    assert after.flow.ticket == before.flow.ticket and after.flow.states.state is CallState.CONNECTED
    await after.send(ev.LegEnded(leg, NORMAL_CLEARING, "Normal Clearing"))
    assert after.flow.finished
    assert port.sent("hangup_caller") == [()] and port.sent("save_recording") == [()]
    case = after.case()
    assert (case.status, case.disposition) == ("ended", "completed") and case.ended_at is not None
    assert case.recording == f"{case.ticket}.wav"
    [talk] = [a for a in after.attempts() if a.outcome == "answered"]
    assert talk.ended_at is not None  # the conversation's attempt ends with it
    resumed = after.events("resumed")
    assert [e.detail for e in resumed] == [{"channel": "1700000000.1", "connected_leg": leg}]


async def test_a_conversation_found_after_a_restart_releases_the_agency_line_when_the_caller_hangs_up(new_call, port):
    _, after, leg = await restarted_mid_conversation(new_call, port)
    await after.send(ev.CallerLeftApp())
    assert port.sent("hangup_leg") == [(leg,)] and port.sent("hangup_caller") == []
    assert port.sent("save_recording") == [()]
    case = after.case()
    assert (case.status, case.disposition) == ("ended", "completed")
    assert [a.ended_at is not None for a in after.attempts() if a.outcome == "answered"] == [True]


async def test_a_conversation_found_after_a_restart_is_not_sent_anywhere_by_a_later_reconnect(new_call, port):
    _, after, _leg = await restarted_mid_conversation(new_call, port)
    await after.send(ev.ServiceResumed())
    # Only asked whether its agency leg is still there (it is): nothing moved, nothing hung up.
    assert after.flow.states.state is CallState.CONNECTED and port.requests == [("gone", [_leg])]
    assert after.posted == []


async def test_a_conversation_found_after_a_restart_is_never_pulled_out_even_when_its_records_fail(new_call, port):
    after = new_call()
    break_store(after.store, "open")  # no case known for the channel, and none can be written
    await after._guarded(after.flow.adopt(connected_leg="leg1"))  # fails: fail_safe runs
    await after.send(ev.ServiceStopping(), ev.ServiceResumed())
    assert port.sent("to_fallback") == []


async def test_a_conversation_found_after_a_restart_whose_records_fail_still_ends_with_its_agency(new_call, port):
    """Found by review: the adopt failed before CONNECTED, so the agency's hang-up was ignored and the
    caller stayed alone in the bridge."""
    after = new_call()
    break_store(after.store, "open")
    await after._guarded(after.flow.adopt(connected_leg="leg1"))  # fails: fail_safe runs
    assert after.flow.states.state is CallState.CONNECTED
    await after.send(ev.LegEnded("leg1", NORMAL_CLEARING, "Normal Clearing"))
    assert port.sent("hangup_caller") == [()] and after.flow.finished


async def test_a_conversation_with_a_call_taker_found_after_a_restart_ends_when_the_agent_hangs_up(new_call, port):
    """The agent's phone leg (ag…) of an adopted conversation is followed like an agency's."""
    before = await new_call().start()
    after = new_call()
    await after._guarded(after.flow.adopt(connected_leg="ag1"))
    assert after.flow.ticket == before.flow.ticket and after.flow.states.state is CallState.CONNECTED
    await after.send(ev.LegEnded("ag1", NORMAL_CLEARING, "Normal Clearing"))
    assert after.flow.finished and port.sent("hangup_caller") == [()]
    assert after.case().disposition == "completed"


async def test_a_conference_adopted_on_the_units_leg_goes_on_when_the_call_taker_leaves(new_call, port):
    await new_call().start()
    after = new_call()
    await after._guarded(after.flow.adopt(connected_leg="un2"))
    await after.send(ev.LegEnded("ag1", NORMAL_CLEARING, "Normal Clearing"))  # the agent leaves the conference
    assert after.flow.states.state is CallState.CONNECTED and port.sent("hangup_caller") == []
    await after.send(ev.LegEnded("un2", NORMAL_CLEARING, "Normal Clearing"))
    assert after.flow.finished and after.case().disposition == "completed"
