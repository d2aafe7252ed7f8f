"""Cases a killed run left open, closed by the next run once Asterisk no longer has their calls.

The previous run is real: call flows on the fake port and the real case store; the next run is a new
case store on the same journal, as after a restart.
"""

from __future__ import annotations

import asyncio
import io
import wave
from datetime import timedelta

import pytest

from app.clock import utcnow
from ivr.calls import events as ev
from ivr.calls.casestore import CaseStore
from ivr.calls.leftovers import Leftovers, wav_seconds
from tests.ivr.calls.support import connected, medical_in_kuta
from tests.ivr.calls.test_flow_agents import agent_call, told, work  # noqa: F401 - the fixtures

CALLER = "1700000000.1"  # the support's caller channel


def recording(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))
    return out.getvalue()


class Spool:
    """The dialplan's recordings by caller channel; each taken once."""

    def __init__(self, **by_channel: bytes) -> None:
        self.files, self.asked = dict(by_channel), []

    async def take(self, channel: str, keep) -> bytes | None:
        """As ``take_call_recording``: the data goes to ``keep``, and leaves the spool once kept."""
        self.asked.append(channel)
        data = self.files.get(channel)
        if data is not None and await keep(data):
            del self.files[channel]
        return data


@pytest.fixture
def restart(store, sessions, tmp_path):
    """Stop the previous run's store (as a kill leaves its journal) and start the next run's."""
    started = []

    def make(spool: Spool) -> tuple[CaseStore, Leftovers]:
        store.close(drain_seconds=0)
        after = CaseStore(sessions, tmp_path / "journal")
        started.append(after)
        return after, Leftovers(after, take_recording=spool.take, recordings_dir=tmp_path / "recordings")

    yield make
    for s in started:
        s.close()


def case_of(call, store):
    call.store = store  # read back through the next run's store
    return call.case()


async def test_a_conversation_that_ended_while_the_service_was_down_is_completed_with_its_recording_and_end(
    new_call, restart, tmp_path, monkeypatch
):
    call, first = await connected(new_call)
    spool = Spool(**{CALLER: recording(42.0)})
    store, leftovers = restart(spool)
    later = utcnow() + timedelta(minutes=2)  # the service is back two minutes after the arrival
    monkeypatch.setattr("ivr.calls.leftovers.utcnow", lambda: later)
    assert leftovers.tickets == [call.flow.ticket]
    assert await leftovers.close_gone(alive=set()) == 1
    case = case_of(call, store)
    assert (case.status, case.disposition) == ("ended", "completed")
    # The dialplan records from the arrival to the hang-up: the recording's length tells the end.
    assert abs((case.ended_at - case.received_at) - timedelta(seconds=42)) < timedelta(seconds=1)
    assert case.recording == f"{case.ticket}.wav" and (tmp_path / "recordings" / case.recording).exists()
    answered = call.attempt(first)
    assert answered.outcome == "answered" and answered.ended_at == case.ended_at
    [event] = call.events("ended.while.down")
    assert event.detail == {"disposition": "completed", "end_from": "recording"}
    assert leftovers.tickets == [] and await leftovers.close_gone(alive=set()) == 0


async def test_a_call_still_going_on_is_left_alone_until_asterisk_no_longer_has_it(new_call, restart):
    call, _ = await connected(new_call)
    store, leftovers = restart(Spool())
    assert await leftovers.close_gone(alive={CALLER}) == 0
    assert case_of(call, store).status == "connected" and leftovers.tickets == [call.flow.ticket]
    assert await leftovers.close_gone(alive=set()) == 1
    case = case_of(call, store)
    # No recording to tell the end: the moment it was noticed, and the case says so.
    assert case.status == "ended" and case.recording is None and utcnow() - case.ended_at < timedelta(seconds=5)
    assert call.events("ended.while.down")[0].detail["end_from"] == "noticed"


async def test_callers_who_hung_up_in_the_ivr_or_while_lines_rang_are_abandoned(new_call, restart):
    in_ivr = await new_call("112").start()
    await in_ivr.press("1")
    ringing = await medical_in_kuta(new_call)
    store, leftovers = restart(Spool())
    assert sorted(leftovers.tickets) == sorted([in_ivr.flow.ticket, ringing.flow.ticket])
    assert await leftovers.close_gone(alive=set()) == 2
    assert case_of(in_ivr, store).disposition == "abandoned-in-ivr"
    assert case_of(ringing, store).disposition == "abandoned-while-forwarding"


async def test_ended_calls_and_calls_in_the_fallback_route_are_not_leftovers(new_call, restart):
    ended, _ = await connected(new_call)
    await ended.send(ev.CallerHungUp())
    fallback = await new_call("112").start()
    await fallback.send(ev.ServiceStopping())  # handed to the dialplan: its journal tells the end
    assert fallback.flow.states.state.name == "IN_DIALPLAN"
    spool = Spool()
    store, leftovers = restart(spool)
    assert leftovers.tickets == [fallback.flow.ticket]
    # What the fallback-journal import (run before the leftovers) writes for its start line.
    await store.event(fallback.flow.ticket, "fallback.dialplan", {"reason": "app"})
    assert await leftovers.close_gone(alive=set()) == 0
    assert leftovers.tickets == [] and spool.asked == []
    assert case_of(fallback, store).status == "fallback"


async def test_a_call_that_could_not_be_handed_to_the_fallback_route_is_closed_once_gone(new_call, restart):
    """Under overload ARI stopped answering: the flow wrote "fallback" but the caller never reached the
    dialplan, so no journal line will ever tell its end (a 60 calls/s bench left 435 such cases open)."""
    call = new_call("112")
    call.port.fail["to_fallback"] = ConnectionError("ARI not reachable (timed out)")
    await call.start()
    await call.send(ev.ServiceStopping())
    assert call.flow.states.state.name == "HANDING_OVER"
    store, leftovers = restart(Spool(**{CALLER: recording(9.0)}))
    assert leftovers.tickets == [call.flow.ticket]
    assert await leftovers.close_gone(alive={CALLER}) == 0  # still there: the resync's safe path takes it
    assert await leftovers.close_gone(alive=set()) == 1
    case = case_of(call, store)
    assert (case.status, case.disposition) == ("ended", "abandoned-in-ivr")
    assert call.events("ended.while.down")[0].detail == {"disposition": "abandoned-in-ivr", "end_from": "recording"}


def test_the_length_of_a_recording():
    assert wav_seconds(recording(2.5)) == 2.5
    assert wav_seconds(b"RIFF\x24\x00\x00\x00WAVEfmt ") is None and wav_seconds(b"") is None


async def test_two_looks_at_once_close_each_call_once(new_call, restart):
    talking, _ = await connected(new_call)
    ringing = await medical_in_kuta(new_call)
    store, leftovers = restart(Spool())
    assert sorted(await asyncio.gather(leftovers.close_gone(set()), leftovers.close_gone(set()))) == [0, 2]
    for call in (talking, ringing):
        assert case_of(call, store).status == "ended" and len(call.events("ended.while.down")) == 1


async def test_a_call_takers_conversation_and_a_queued_caller_gone_while_down_are_closed_truthfully(
    agent_call, work, restart
):
    from ivr.calls.states import CallState
    from tests.ivr.calls.test_flow_agents import queued, ready, taken

    talking = await taken(agent_call, work)  # agent-1 took it, then the service died
    ready(work, "agent-2")
    waiting = await queued(agent_call)  # agent-2's phone rings for it when the service dies
    assert waiting.flow.states.state is CallState.QUEUED
    store, leftovers = restart(Spool())
    assert await leftovers.close_gone(alive=set()) == 2
    assert case_of(talking, store).disposition == "completed"
    assert case_of(waiting, store).disposition == "abandoned-in-queue"
