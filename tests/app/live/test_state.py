"""The live state folded from events: what a live view shows for each active call."""

from __future__ import annotations

from datetime import UTC, datetime

from app.live import events as ev
from app.live.state import ActiveCalls


def fold(*events) -> ActiveCalls:
    calls = ActiveCalls()
    for e in events:
        calls.apply(e)
    return calls


def test_a_call_is_followed_from_the_ivr_to_the_agency():
    calls = fold(
        ev.CallReceived("T", line="112", caller_number="0811"),
        ev.IvrChoiceMade("T", field="category", value="fire"),
        ev.CallForwarded("T", category="fire", district="kuta", language="en", reason="selected"),
        ev.AgencyRinging("T", unit="damkar-kuta"),
        ev.AgencyRinging("T", unit="damkar-kuta"),
        ev.AgencyMissed("T", unit="damkar-kuta", outcome="busy"),
        ev.AgencyRinging("T", unit="damkar-mengwi"),
    )
    call = calls.calls["T"]
    assert (call["status"], call["category"], call["district"], call["language"]) == (
        "forwarding",
        "fire",
        "kuta",
        "en",
    )
    assert call["ringing"] == "damkar-mengwi"
    assert all(isinstance(v, str) for v in call.values())  # a Redis hash holds strings


def test_connecting_or_falling_back_stops_the_ringing():
    connected = fold(
        ev.CallReceived("T"), ev.AgencyRinging("T", unit="psc-kuta"), ev.CallConnected("T", unit="psc-kuta")
    )
    assert (connected.calls["T"]["status"], connected.calls["T"]["ringing"]) == ("connected", "")
    fell_back = fold(ev.CallReceived("T"), ev.AgencyRinging("T", unit="psc-kuta"), ev.CallFellBack("T", why="x"))
    assert (fell_back.calls["T"]["status"], fell_back.calls["T"]["ringing"]) == ("fallback", "")


def test_an_ended_call_and_a_call_without_a_ticket_are_not_kept():
    calls = fold(ev.CallReceived("T"), ev.CallEnded("T", disposition="completed"), ev.CallFellBack("", why="db down"))
    assert calls.calls == {}


def test_a_call_silent_for_too_long_is_forgotten_and_a_recent_one_kept():
    old = ev.CallReceived("OLD", at=datetime(2026, 1, 1, tzinfo=UTC))
    calls = fold(old, ev.CallReceived("NEW"))
    assert calls.forget_quiet(datetime(2026, 1, 2, tzinfo=UTC)) == ["OLD"]
    assert list(calls.calls) == ["NEW"]
