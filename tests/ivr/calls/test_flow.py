"""CallFlow end to end against a fake port and the real case store (SQLite)."""

from __future__ import annotations

import asyncio
import stat

import pytest

from app.directory.routing import route
from ivr.calls import events as ev
from ivr.calls.flow import CONNECTING
from ivr.calls.states import CallState
from tests.ivr.calls.support import BUSY, NORMAL_CLEARING, WAV, connected, medical_in_kuta


def dials(directory, category: str, district: str) -> list[str]:
    """Every dial string of the route, in the order the flow must try them."""
    return [d for c in route(directory, "112", category, district) for d in c.dials]


# -- arrival and the IVR -------------------------------------------------------
async def test_the_case_is_opened_before_the_call_is_answered(new_call, port):
    call = new_call("112")
    cases_at_answer = []
    port.on_answer = lambda: cases_at_answer.append(call.count_cases())
    await call.start()
    assert cases_at_answer == [1]
    assert port.requests[0] == ("answer",)
    assert call.case().status == "in-ivr" and call.case().channel_id == "1700000000.1"
    assert call.kinds() == ["received"]
    assert port.sent("play")[0][0] == "112-welcome"


async def test_choosing_medical_in_kuta_stores_the_choices_and_dials_the_nearest_psc_unit(new_call, port, directory):
    call = await medical_in_kuta(new_call)
    case = call.case()
    assert (case.language, case.category, case.district) == ("id", "medical", "kuta")
    assert case.status == "forwarding" and case.ivr_end_reason == "selected"
    assert case.forwarded_at is not None and case.ivr_completed_at is not None
    selects = [e.detail for e in call.events("ivr.select")]
    assert selects == [{"language": "id"}, {"category": "medical"}, {"district": "kuta"}]
    kinds = call.kinds()  # in the order they happened (at, then id): the last choice, then the IVR's end
    assert kinds.index("ivr.completed") > max(i for i, k in enumerate(kinds) if k == "ivr.select")
    assert call.flow.states.state is CallState.FORWARDING

    nearest = route(directory, "112", "medical", "kuta")[0]
    assert nearest.agency == "psc" and "kuta" in next(u for u in directory.units if u.id == nearest.id).districts
    assert port.sent("play")[-1] == ("connecting", "id", CONNECTING)
    [(leg, dial, timeout, caller_id)] = port.sent("dial")
    assert (dial, timeout) == (nearest.dials[0], nearest.ring_timeout)
    assert case.ticket in caller_id and "081234567890" in caller_id
    [attempt] = call.attempts()
    assert (attempt.unit, attempt.agency, attempt.outcome) == (nearest.id, "psc", "ringing")


async def test_the_connecting_prompt_is_followed_by_ringback_and_ringing_is_noted(new_call, port):
    call = await medical_in_kuta(new_call)
    first = call.dialled()[0]
    await call.send(ev.PromptFinished(CONNECTING), ev.LegRinging(call.legs()[first]))
    assert port.sent("start_ringback") == [()]
    assert call.attempt(first).ringing_at is not None


async def test_silence_in_the_category_menu_puts_the_caller_through_to_an_operator(
    new_call, quick_menus, port, directory
):
    call = await new_call("112", menus=quick_menus).start()
    for _ in range(2):  # the welcome, then the category menu: each prompt ends and nobody presses anything
        await call.send(ev.PromptFinished(port.sent("play")[-1][2]))
        deadline = asyncio.get_running_loop().time() + 5
        while not call.posted:
            assert asyncio.get_running_loop().time() < deadline, "the silence timer never fired"
            await asyncio.sleep(0.005)
        assert isinstance(call.posted[0], ev.TimerExpired)
        await call.pump()
    assert call.case().ivr_end_reason == "no-input"
    assert call.dialled() == list(route(directory, "112", "operator", "unknown")[0].dials)


# -- connection and endings ----------------------------------------------------
async def test_an_answered_leg_is_connected(new_call, port):
    call, first = await connected(new_call)
    assert port.sent("connect") == [(call.legs()[first],)]
    # Answered during the connecting prompt: that prompt stops; no ringback was started, none is stopped.
    assert ("stop_playback", CONNECTING) in port.requests and ("stop_ringback",) not in port.requests
    case = call.case()
    assert case.status == "connected" and case.agency_answered_at is not None
    assert case.answered_by_unit == call.attempt(first).unit
    assert call.attempt(first).outcome == "answered" and call.attempt(first).answered_at is not None
    assert call.flow.states.state is CallState.CONNECTED


async def test_answered_after_the_prompt_only_the_ringback_is_stopped(new_call, port):
    call = await medical_in_kuta(new_call)
    first = call.dialled()[0]
    await call.send(ev.PromptFinished(CONNECTING), ev.LegRinging(call.legs()[first]))
    before = len(port.requests)
    await call.send(ev.LegAnswered(call.legs()[first]))
    stops = [r for r in port.requests[before:] if r[0] in ("stop_playback", "stop_ringback")]
    assert stops == [("stop_ringback",)]
    assert port.sent("connect") == [(call.legs()[first],)]


async def test_the_agency_hanging_up_ends_the_call_and_saves_the_recording(new_call, port):
    call, first = await connected(new_call)
    await call.send(ev.LegEnded(call.legs()[first], NORMAL_CLEARING, "Normal Clearing"))
    assert port.sent("hangup_caller") == [()]
    assert port.sent("save_recording") == [()]
    case = call.case()
    assert (case.status, case.disposition) == ("ended", "completed") and case.ended_at is not None
    assert case.recording == f"{case.ticket}.wav"
    assert (call.recordings / case.recording).read_bytes() == WAV
    assert stat.S_IMODE((call.recordings / case.recording).stat().st_mode) == 0o600  # the caller's voice
    assert call.events("recording.saved")[0].detail == {"file": case.recording, "bytes": len(WAV)}
    assert call.attempt(first).ended_at is not None and call.attempt(first).outcome == "answered"
    assert call.flow.finished


async def test_the_caller_hanging_up_a_connected_call_releases_the_agency_line(new_call, port):
    call, first = await connected(new_call)
    await call.send(ev.CallerLeftApp())
    assert port.sent("hangup_leg") == [(call.legs()[first],)]
    assert port.sent("hangup_caller") == []
    assert call.case().disposition == "completed" and call.case().recording is not None


async def test_a_call_without_a_recording_still_ends_completed(new_call, port):
    port.recording = None
    call, first = await connected(new_call)
    await call.send(ev.CallerHungUp())
    case = call.case()
    assert case.disposition == "completed" and case.recording is None
    assert "recording.saved" not in call.kinds()


async def test_a_recording_that_cannot_be_written_is_noted_and_the_call_still_ends_completed(new_call, port, caplog):
    call, first = await connected(new_call)
    call.recordings.parent.mkdir(parents=True, exist_ok=True)
    call.recordings.write_text("a file where the recordings folder should be")  # as unusable as a full disk
    await call.send(ev.CallerHungUp())
    case = call.case()
    assert (case.status, case.disposition, case.recording) == ("ended", "completed", None)
    [failed] = call.events("recording.failed")
    assert failed.detail["file"] == f"{case.ticket}.wav" and failed.detail["bytes"] == len(WAV)
    assert failed.detail["error"]  # the reason the disk gave
    assert "recording.saved" not in call.kinds() and call.kinds()[-1] == "ended"
    assert f"{case.ticket} recording ({len(WAV)} bytes) not saved" in caplog.text
    assert call.flow.finished and port.sent("to_fallback") == []


async def test_the_caller_hanging_up_in_the_ivr_is_abandoned_and_nothing_is_dialled(new_call, port):
    call = await new_call("112").start()
    await call.press("1")
    await call.send(ev.CallerHungUp())
    case = call.case()
    assert (case.status, case.disposition) == ("ended", "abandoned-in-ivr")
    assert port.sent("dial") == [] and port.sent("hangup_caller") == []
    assert call.kinds()[-1] == "ended" and call.flow.finished
    # Recorded from its arrival: an abandoned call's audio is filed with its case too.
    assert port.sent("save_recording") == [()] and case.recording == f"{case.ticket}.wav"


async def test_a_call_without_a_recording_still_ends(new_call, port):
    port.recording = None
    call = await new_call("112").start()
    await call.send(ev.CallerHungUp())
    case = call.case()
    assert (case.status, case.recording) == ("ended", None) and call.flow.finished


async def test_leaving_the_app_during_the_ivr_is_an_abandoned_call(new_call):
    call = await new_call("14084").start()
    await call.send(ev.CallerLeftApp())
    assert (call.case().status, call.case().disposition) == ("ended", "abandoned-in-ivr")


async def test_the_caller_hanging_up_while_forwarding_releases_the_ringing_lines(new_call, port):
    call = await new_call("112").start()
    await call.press("0")  # the operator: every command-center line rings at once
    legs = call.legs()
    assert len(legs) > 1
    await call.send(ev.CallerHungUp())
    assert sorted(port.sent("hangup_leg")) == sorted((leg,) for leg in legs.values())
    assert {a.outcome for a in call.attempts()} == {"cancelled"}
    assert call.case().disposition == "abandoned-while-forwarding"
    assert port.sent("connect") == [] and port.sent("hangup_caller") == []


async def test_digits_and_legs_after_the_hang_up_do_nothing(new_call, port):
    call = await medical_in_kuta(new_call)
    leg = call.legs()[call.dialled()[0]]
    await call.send(ev.CallerHungUp())
    before = list(port.requests)
    await call.press("1", "2")
    await call.send(ev.LegAnswered(leg), ev.ServiceResumed())
    assert port.requests == before
    assert call.kinds().count("ended") == 1


# -- forwarding failures -------------------------------------------------------
async def test_a_busy_unit_hands_over_to_the_next_nearest_unit(new_call, directory):
    call = await medical_in_kuta(new_call)
    first, second = dials(directory, "medical", "kuta")[:2]
    await call.send(ev.LegEnded(call.legs()[first], BUSY, "User busy"))
    assert call.dialled() == [first, second]
    assert call.attempt(first).outcome == "busy" and call.attempt(first).ended_at is not None
    assert call.attempt(second).outcome == "ringing"
    assert call.events("attempt.failed")[0].detail["outcome"] == "busy"


@pytest.mark.parametrize("cause, outcome", [(19, "no-answer"), (21, "busy"), (34, "failed")])
async def test_a_leg_ending_before_answer_is_recorded_by_its_cause_and_the_next_unit_rings(new_call, cause, outcome):
    call = await medical_in_kuta(new_call)
    first = call.dialled()[0]
    await call.send(ev.LegEnded(call.legs()[first], cause))
    assert call.attempt(first).outcome == outcome
    assert len(call.dialled()) == 2 and "error" not in call.kinds()


async def test_a_dial_that_fails_at_once_moves_on_to_the_next_unit(new_call, port, directory):
    first, second = dials(directory, "medical", "kuta")[:2]
    port.refuse.add(first)
    call = await medical_in_kuta(new_call)
    [failed] = call.posted
    assert isinstance(failed, ev.LegFailedToStart) and failed.leg == call.legs()[first]
    await call.pump()
    assert call.dialled() == [first, second]
    assert call.attempt(first).outcome == "failed"


async def test_when_every_line_fails_the_caller_goes_to_the_fallback_route(new_call, port, directory):
    port.refuse.add("*")
    call = await medical_in_kuta(new_call)
    await call.pump()
    assert call.dialled() == dials(directory, "medical", "kuta")
    assert port.sent("to_fallback") == [("112",)]
    assert (call.case().status, call.case().disposition) == ("fallback", "fallback")
    assert {a.outcome for a in call.attempts()} == {"failed"}
    assert call.flow.states.state is CallState.IN_DIALPLAN and not call.flow.finished


async def test_leaving_the_app_for_the_fallback_route_does_not_end_the_case_but_hanging_up_does(new_call, port):
    port.refuse.add("*")
    call = await medical_in_kuta(new_call)
    await call.pump()
    await call.send(ev.CallerLeftApp())
    assert call.case().status == "fallback" and not call.flow.finished
    await call.send(ev.CallerHungUp())
    assert (call.case().status, call.case().disposition) == ("ended", "fallback")
    assert call.flow.finished and port.sent("hangup_caller") == []


async def test_a_second_group_line_answering_after_the_winner_is_released(new_call, port):
    call = await new_call("112").start()
    await call.press("0")
    winner, other, *rest = call.legs().values()
    await call.send(ev.LegAnswered(winner))
    assert port.sent("connect") == [(winner,)]
    assert {(leg,) for leg in (other, *rest)} <= set(port.sent("hangup_leg"))
    await call.send(ev.LegAnswered(other))
    assert port.sent("connect") == [(winner,)]
    assert port.sent("hangup_leg").count((other,)) == 2
    assert call.flow.states.state is CallState.CONNECTED
    outcomes = {a.dial: a.outcome for a in call.attempts()}
    assert sorted(outcomes.values()) == sorted(["answered"] + ["cancelled"] * (len(outcomes) - 1))
