"""A 112 caller and the call-takers: queue, answer, dispatch, and every way out of the queue.

Real flow, real case store and database; a fake port (the ARI adapter is tested on Asterisk in e2e).
"""

from __future__ import annotations

import asyncio

import pytest

from app.clock import utcnow
from app.settings import QueueSettings
from ivr.agents.board import AgentBoard
from ivr.agents.queue import AgentOffered, AgentQueue
from ivr.agents.work import AgentWork
from ivr.calls import events as ev
from ivr.calls.queueing import QueueTimedOut
from ivr.calls.states import CallState
from tests.ivr.calls.support import NORMAL_CLEARING, Call, break_store

NO_ANSWER = 19


class Told(list):
    def of(self, kind: str) -> list[dict]:
        return [m for m in self if m["type"] == kind]


@pytest.fixture
def told():
    return Told()


@pytest.fixture
def work(directory, told):
    board = AgentBoard(((a.name, a.languages) for a in directory.agents), wrapup_seconds=30)
    return AgentWork(AgentQueue(board), QueueSettings(max_wait_seconds=30, ring_seconds=12), told.append)


def ready(work: AgentWork, *names: str, kind: str = "sip") -> None:
    for name in names:
        work.board.phone(name, kind, True, utcnow())
        work.board.set_status(name, "available", utcnow())


@pytest.fixture
def agent_call(new_call, menus, work):
    def make(line: str = "112", menus=menus) -> Call:
        return new_call(line, menus, agent_work=work)

    return make


async def queued(agent_call) -> Call:
    call = await agent_call("112").start()
    await call.press("1", "2")  # medical, Kuta
    return call


def agent_legs(call: Call) -> dict[str, str]:
    """Dial string -> leg, of the agents' phones rung."""
    return {dial: leg for leg, dial, _t, _c in call.port.sent("dial_agent")}


async def taken(agent_call, work) -> Call:
    ready(work, "agent-1")
    call = await queued(agent_call)
    await call.pump()  # the offer
    leg = agent_legs(call)["PJSIP/agent-1"]
    await call.send(ev.LegAnswered(leg))
    return call


async def dispatch(call: Call, unit: str = "psc-kuta", mode: str = "conference", by: str = "agent-1", role="agent"):
    reply = asyncio.get_running_loop().create_future()
    await call.send(ev.DispatchRequested(unit, mode, by, role, reply))
    return reply


async def test_with_an_agent_available_the_caller_waits_hears_hold_and_the_agent_takes_the_call(agent_call, work, told):
    ready(work, "agent-1")
    call = await queued(agent_call)
    assert call.flow.states.state is CallState.QUEUED
    assert ("queue-hold", "id", "hold") in call.port.sent("play")
    assert call.dialled() == []  # no unit rings while the caller waits for a call-taker
    await call.pump()
    assert list(agent_legs(call)) == ["PJSIP/agent-1"]
    assert told.of("offer")[0] | {"received_at": None} == {
        "type": "offer",
        "agent": "agent-1",
        "ticket": call.flow.ticket,
        "line": "112",
        "caller_number": "081234567890",
        "language": "id",
        "category": "medical",
        "district": "kuta",
        "silent": False,
        "received_at": None,
    }
    await call.send(ev.PromptFinished("hold"))
    assert call.port.sent("play")[-1] == ("queue-reassure", "id", "reassure")  # reassured while waiting
    await call.send(ev.LegAnswered(agent_legs(call)["PJSIP/agent-1"]))
    assert call.flow.states.state is CallState.CONNECTED
    assert ("stop_playback", "reassure") in call.port.requests
    assert call.port.sent("connect") == [(agent_legs(call)["PJSIP/agent-1"],)]
    case = call.case()
    assert (case.agent, case.workflow, case.status) == ("agent-1", "taken", "connected")
    assert case.taken_at is not None and case.forwarded_at is None
    assert work.board.get("agent-1").status == "on-call"
    assert call.kinds()[-3:] == ["queued", "agent.offered", "agent.answered"]


async def test_both_phones_ring_and_the_first_to_answer_takes_it(agent_call, work):
    ready(work, "agent-1")
    work.board.phone("agent-1", "web", True, utcnow())
    call = await queued(agent_call)
    await call.pump()
    legs = agent_legs(call)
    assert set(legs) == {"PJSIP/agent-1", "PJSIP/agent-1-web"}
    await call.send(ev.LegAnswered(legs["PJSIP/agent-1-web"]))
    assert ("hangup_leg", legs["PJSIP/agent-1"]) in call.port.requests
    assert call.events("agent.answered")[0].detail == {"agent": "agent-1", "phone": "web"}


async def test_no_agent_available_goes_direct_at_once(agent_call, work):
    call = await queued(agent_call)
    assert call.flow.states.state is CallState.FORWARDING
    assert call.dialled()[0] == "PJSIP/psc-kuta"
    await call.send(ev.LegAnswered(call.legs()["PJSIP/psc-kuta"]))
    case = call.case()
    assert (case.workflow, case.agent, case.answered_by_unit) == ("agency-answered", None, "psc-kuta")


async def test_an_agent_who_does_not_answer_is_followed_by_the_next_then_direct(agent_call, work, told):
    ready(work, "agent-1", "agent-2")
    call = await queued(agent_call)
    await call.pump()
    first = agent_legs(call)["PJSIP/agent-1"]
    await call.send(ev.LegEnded(first, NO_ANSWER))
    assert work.board.get("agent-1").status == "away"
    await call.pump()
    second = agent_legs(call)["PJSIP/agent-2"]
    await call.send(ev.LegEnded(second, NO_ANSWER))
    await call.pump()  # nobody left: direct
    assert call.flow.states.state is CallState.FORWARDING
    assert call.dialled()[0] == "PJSIP/psc-kuta"
    assert [e.detail["agent"] for e in call.events("agent.missed")] == ["agent-1", "agent-2"]
    assert call.events("queue.left")[0].detail == {"why": "no call-taker available"}
    assert [m["agent"] for m in told.of("offer.withdrawn")] == ["agent-1", "agent-2"]
    case = call.case()
    assert case.ivr_completed_at is not None and case.forwarded_at is not None and case.agent is None


async def test_nobody_answering_within_the_bound_goes_direct(agent_call, work):
    ready(work, "agent-1")
    call = await queued(agent_call)
    await call.pump()
    leg = agent_legs(call)["PJSIP/agent-1"]
    await call.send(QueueTimedOut())
    assert ("hangup_leg", leg) in call.port.requests
    assert work.board.get("agent-1").offered is None
    assert work.board.get("agent-1").status == "available"  # the caller left; the agent did not fail
    assert call.flow.states.state is CallState.FORWARDING
    await call.send(ev.LegAnswered(leg))  # the agent answers too late: released
    assert call.port.requests[-1] == ("hangup_leg", leg)


async def test_a_caller_who_hangs_up_in_the_queue_is_abandoned_in_queue(agent_call, work):
    ready(work, "agent-1")
    call = await queued(agent_call)
    await call.pump()
    await call.send(ev.CallerHungUp())
    assert call.case().disposition == "abandoned-in-queue"
    assert work.board.get("agent-1").offered is None
    assert len(work.queue) == 0


async def test_a_silent_caller_is_queued_flagged_silent(agent_call, work, quick_menus, told):
    ready(work, "agent-1")
    call = await agent_call("112", menus=quick_menus).start()
    for _ in range(2):  # the welcome, then the category menu: each prompt ends and nobody presses anything
        await call.send(ev.PromptFinished(call.port.sent("play")[-1][2]))
        await call.next_timer()
    assert call.flow.states.state is CallState.QUEUED
    await call.pump()
    assert told.of("offer")[0]["silent"] is True
    assert call.case().silent is True


async def test_conference_dispatch_then_the_agent_leaves_and_caller_and_unit_stay(agent_call, work, told):
    call = await taken(agent_call, work)
    reply = await dispatch(call)
    assert reply.result() == {"ticket": call.flow.ticket, "unit": "psc-kuta", "mode": "conference", "state": "ringing"}
    unit_leg = call.legs()["PJSIP/psc-kuta"]
    assert call.case().workflow == "dispatched" and call.case().dispatched_unit == "psc-kuta"
    await call.send(ev.LegRinging(unit_leg), ev.LegAnswered(unit_leg))
    assert call.port.sent("join") == [(unit_leg,)]
    case = call.case()
    assert (case.workflow, case.answered_by_unit) == ("agency-answered", "psc-kuta")
    assert case.agency_answered_at is not None and case.dispatched_at <= case.agency_answered_at
    assert [m["state"] for m in told.of("dispatch")] == ["ringing", "answered"]
    agent_leg = call.flow.agent_leg
    await call.send(ev.LegEnded(agent_leg, NORMAL_CLEARING))  # the agent leaves the conference
    assert call.flow.states.state is CallState.CONNECTED
    assert work.board.get("agent-1").status == "wrap-up"
    await call.send(ev.LegEnded(unit_leg, NORMAL_CLEARING))
    assert call.case().disposition == "completed"
    assert call.attempt("PJSIP/psc-kuta").outcome == "answered"
    assert "agent.left" in call.kinds() and "unit.left" in call.kinds()


async def test_transfer_drops_the_agent_once_the_unit_answered(agent_call, work):
    call = await taken(agent_call, work)
    agent_leg = call.flow.agent_leg
    await dispatch(call, mode="transfer")
    unit_leg = call.legs()["PJSIP/psc-kuta"]
    await call.send(ev.LegAnswered(unit_leg))
    assert ("hangup_leg", agent_leg) in call.port.requests
    assert work.board.get("agent-1").status == "wrap-up"
    assert call.events("agent.left")[0].detail == {"agent": "agent-1", "transfer": "psc-kuta"}
    await call.send(ev.LegEnded(agent_leg, NORMAL_CLEARING))  # its end arrives: nothing more happens
    assert call.flow.states.state is CallState.CONNECTED


async def test_a_busy_unit_is_reported_and_the_next_can_be_dispatched(agent_call, work, told):
    call = await taken(agent_call, work)
    await dispatch(call)
    busy = call.legs()["PJSIP/psc-kuta"]
    second = await dispatch(call, unit="psc-kuta-utara")
    with pytest.raises(ev.DispatchRefused, match="still ringing"):
        second.result()
    await call.send(ev.LegEnded(busy, 17))
    assert told.of("dispatch")[-1]["state"] == "busy"
    third = await dispatch(call, unit="psc-kuta-utara")
    assert third.result()["state"] == "ringing"
    assert [e.detail["outcome"] for e in call.events("dispatch.failed")] == ["busy"]


async def test_dispatch_refusals_say_why(agent_call, work):
    call = await taken(agent_call, work)
    for unit, by, role, status, why in [
        ("psc-kuta", "agent-2", "agent", 409, "taken by agent-1"),
        ("no-such-unit", "agent-1", "agent", 422, "no unit 'no-such-unit'"),
    ]:
        reply = await dispatch(call, unit=unit, by=by, role=role)
        with pytest.raises(ev.DispatchRefused, match=why) as refused:
            reply.result()
        assert refused.value.status == status
    supervisor = await dispatch(call, by="supervisor-1", role="supervisor")
    assert supervisor.result()["state"] == "ringing"  # a supervisor may act on any call
    await call.send(ev.CallerHungUp())
    late = await dispatch(call)
    with pytest.raises(ev.DispatchRefused, match="has ended"):
        late.result()


async def test_an_agents_phone_that_drops_sends_the_caller_to_the_fallback_group(agent_call, work):
    call = await taken(agent_call, work)
    await call.send(ev.LegEnded(call.flow.agent_leg, 38))  # network out of order: not a hang-up
    assert call.flow.states.state is CallState.IN_DIALPLAN
    assert call.port.sent("to_fallback") == [("112",)]
    assert "agent.dropped" in call.kinds()


async def test_the_agent_hanging_up_ends_the_call(agent_call, work):
    call = await taken(agent_call, work)
    await call.send(ev.LegEnded(call.flow.agent_leg, NORMAL_CLEARING))
    assert call.case().disposition == "completed"
    assert ("hangup_caller",) in call.port.requests
    assert work.board.get("agent-1").status == "wrap-up"


async def test_a_stopping_service_sends_a_waiting_caller_to_the_fallback_route(agent_call, work):
    ready(work, "agent-1")
    call = await queued(agent_call)
    await call.pump()
    leg = agent_legs(call)["PJSIP/agent-1"]
    await call.send(ev.ServiceStopping())
    assert call.flow.states.state is CallState.IN_DIALPLAN
    assert ("hangup_leg", leg) in call.port.requests
    assert ("stop_playback", "hold") in call.port.requests


async def test_an_offer_that_arrives_after_the_caller_went_on_frees_the_agent(agent_call, work):
    ready(work, "agent-1")
    call = await queued(agent_call)
    call.posted.clear()  # the offer is lost in the race
    await call.send(QueueTimedOut())
    work.board.offer("agent-1", call.flow.ticket)
    await call.send(AgentOffered("agent-1"))
    assert work.board.get("agent-1").offered is None


# -- found in review: the caller stays with a unit that still rings, records never strand a caller --------


async def test_the_agent_leaving_while_the_unit_rings_leaves_the_caller_hearing_ringing_for_the_unit(agent_call, work):
    call = await taken(agent_call, work)
    await dispatch(call, mode="transfer")
    unit_leg = call.legs()["PJSIP/psc-kuta"]
    await call.send(ev.LegEnded(call.flow.agent_leg, NORMAL_CLEARING))  # hung up right after "transfer"
    assert call.flow.states.state is CallState.CONNECTED and ("hangup_caller",) not in call.port.requests
    assert ("start_ringback",) in call.port.requests
    await call.send(ev.LegAnswered(unit_leg))
    assert call.port.sent("join") == [(unit_leg,)] and ("stop_ringback",) in call.port.requests
    await call.send(ev.LegEnded(unit_leg, NORMAL_CLEARING))
    assert call.case().disposition == "completed"


async def test_the_agent_gone_and_the_unit_not_answering_sends_the_caller_to_the_fallback_route(agent_call, work):
    call = await taken(agent_call, work)
    await dispatch(call)
    unit_leg = call.legs()["PJSIP/psc-kuta"]
    await call.send(ev.LegEnded(call.flow.agent_leg, NORMAL_CLEARING))
    await call.send(ev.LegEnded(unit_leg, NO_ANSWER))
    assert call.flow.states.state is CallState.IN_DIALPLAN
    assert call.port.sent("to_fallback") == [("112",)]


async def test_a_unit_that_drops_after_the_agent_left_sends_the_caller_to_the_fallback_route(agent_call, work):
    call = await taken(agent_call, work)
    await dispatch(call)
    unit_leg = call.legs()["PJSIP/psc-kuta"]
    await call.send(ev.LegAnswered(unit_leg), ev.LegEnded(call.flow.agent_leg, NORMAL_CLEARING))
    await call.send(ev.LegEnded(unit_leg, 38))
    assert call.flow.states.state is CallState.IN_DIALPLAN


async def test_a_case_log_that_cannot_be_written_does_not_leave_the_caller_alone_in_the_bridge(agent_call, work, store):
    call = await taken(agent_call, work)
    await dispatch(call)
    unit_leg = call.legs()["PJSIP/psc-kuta"]
    await call.send(ev.LegAnswered(unit_leg), ev.LegEnded(call.flow.agent_leg, NORMAL_CLEARING))
    break_store(store, "event", lambda ticket, **f: f.get("kind") == "unit.left")
    await call.send(ev.LegEnded(unit_leg, NORMAL_CLEARING))
    assert call.flow.finished and ("hangup_caller",) in call.port.requests


async def test_a_dispatch_whose_records_fail_rings_nothing_and_can_be_tried_again(agent_call, work, store):
    call = await taken(agent_call, work)
    real = store.write
    break_store(store, "start_attempt")
    reply = await dispatch(call)
    with pytest.raises(ev.DispatchRefused, match="could not be written") as refused:
        reply.result()
    assert refused.value.status == 503 and call.dialled() == []
    store.write = real
    assert (await dispatch(call)).result()["state"] == "ringing"


async def test_a_unit_that_cannot_join_is_released_and_the_next_can_be_dispatched(agent_call, work, port):
    call = await taken(agent_call, work)
    await dispatch(call)
    unit_leg = call.legs()["PJSIP/psc-kuta"]
    port.fail["join"] = RuntimeError("bridge gone")
    await call.send(ev.LegAnswered(unit_leg))
    assert ("hangup_leg", unit_leg) in port.requests and call.flow.states.state is CallState.CONNECTED
    del port.fail["join"]
    assert (await dispatch(call, unit="psc-kuta-utara")).result()["state"] == "ringing"


async def test_a_connect_that_fails_releases_the_agents_phone_and_the_caller_goes_to_a_human(agent_call, work, port):
    ready(work, "agent-1")
    call = await queued(agent_call)
    await call.pump()
    leg = agent_legs(call)["PJSIP/agent-1"]
    port.fail["connect"] = RuntimeError("bridge refused")
    await call.send(ev.LegAnswered(leg))
    assert ("hangup_leg", leg) in port.requests
    assert call.flow.states.state is CallState.IN_DIALPLAN
    assert work.board.get("agent-1").offered is None


async def test_after_a_reconnect_a_conversation_whose_agent_is_gone_is_ended(agent_call, work, port):
    call = await taken(agent_call, work)
    port.gone_legs.add(call.flow.agent_leg)
    await call.send(ev.ServiceResumed())
    await call.pump()
    assert call.case().disposition == "completed"
