"""The call flow announces each step of the call as a live event, in order."""

from __future__ import annotations

from app.live import events as live
from ivr.calls import events as ev
from tests.ivr.calls.support import BUSY


async def started(new_call, line: str = "112"):
    call = new_call(line)
    call.live = []
    call.flow.notify = call.live.append
    return await call.start()


def kinds(call) -> list[str]:
    return [e.kind for e in call.live]


async def test_a_connected_and_completed_call_announces_every_step(new_call):
    call = await started(new_call)
    await call.press("1", "2")
    first = call.dialled()[0]
    leg = call.legs()[first]
    await call.send(ev.LegRinging(leg), ev.LegAnswered(leg), ev.LegEnded(leg, 16))
    assert kinds(call) == [
        "call.received",
        "ivr.choice-made",
        "ivr.choice-made",
        "ivr.choice-made",
        "call.forwarded",
        "agency.ringing",
        "call.connected",
        "call.ended",
    ]
    assert {e.ticket for e in call.live} == {call.flow.ticket}
    received, *choices, forwarded, ringing, connected, ended = call.live
    assert (received.line, received.caller_number) == ("112", "081234567890")
    assert [(c.field, c.value) for c in choices] == [("language", "id"), ("category", "medical"), ("district", "kuta")]
    assert (forwarded.category, forwarded.district, forwarded.language) == ("medical", "kuta", "id")
    assert ringing.unit == connected.unit == call.attempts()[0].unit
    assert ended.disposition == "completed" == call.case().disposition


async def test_a_busy_unit_is_announced_as_missed(new_call):
    call = await started(new_call)
    await call.press("1", "2")
    first = call.dialled()[0]
    await call.send(ev.LegEnded(call.legs()[first], BUSY, "User busy"))
    missed = [e for e in call.live if isinstance(e, live.AgencyMissed)]
    assert [(m.unit, m.outcome) for m in missed] == [(call.attempt(first).unit, "busy")]


async def test_no_agency_answering_is_announced_as_fallback_then_ended(new_call, port):
    port.refuse.add("*")  # every line fails at once
    call = await started(new_call)
    await call.press("1", "2")
    await call.pump()
    assert kinds(call)[-1] == "call.fell-back"
    await call.send(ev.CallerHungUp())
    assert kinds(call)[-2:] == ["call.fell-back", "call.ended"]
    assert call.live[-1].disposition == "fallback"


async def test_hanging_up_in_the_ivr_ends_the_live_call(new_call):
    call = await started(new_call)
    await call.send(ev.CallerHungUp())
    assert kinds(call) == ["call.received", "call.ended"]
    assert call.live[-1].disposition == "abandoned-in-ivr"
