"""Live events as JSON: what a subscriber reads is the event that was published."""

from __future__ import annotations

import json

import pytest

from app.live import events as ev

SAMPLES = [
    ev.CallReceived("112-1", line="112", caller_number="0811"),
    ev.CallResumed("112-1", line="112", caller_number="0811"),
    ev.IvrChoiceMade("112-1", field="district", value="kuta"),
    ev.CallForwarded("112-1", category="medical", district=None, language="id", reason="selected"),
    ev.AgencyRinging("112-1", unit="psc-kuta"),
    ev.AgencyMissed("112-1", unit="psc-kuta", outcome="busy"),
    ev.CallConnected("112-1", unit="psc-kuta-utara"),
    ev.CallFellBack("112-1", why="no agency line answered"),
    ev.CallEnded("112-1", disposition="completed"),
    ev.LiveStateRestored("", active=3),
]


def test_every_kind_has_a_sample_and_a_unique_name():
    assert {type(e) for e in SAMPLES} == set(ev.KINDS.values())
    assert len(ev.KINDS) == len(SAMPLES)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.kind)
def test_an_event_survives_its_json_form(event):
    text = event.to_json()
    body = json.loads(text)
    assert body["kind"] == event.kind and body["ticket"] == event.ticket
    assert body["at"].endswith("+00:00")  # always UTC, always with its zone
    assert ev.from_json(text) == event
