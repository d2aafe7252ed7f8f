"""Raw ARI events of one call become typed call events; everything else is None."""

from __future__ import annotations

import pytest

from ivr.ari_adapter import ids
from ivr.ari_adapter.translate import translate
from ivr.calls import events as ev
from ivr.calls.flow import CONNECTING
from tests.ivr.ari_adapter.ari_events import (
    CALLER,
    channel,
    destroyed,
    dtmf,
    leg_channel,
    playback_finished,
    stasis_end,
    stasis_start,
    state_change,
)

KEY, OTHER_KEY = "a1b2c3d4e5f60718", "ffffeeeeddddcccc"
CALLER_CHANNEL = channel(CALLER)


def mine(raw: dict):
    return translate(raw, KEY, CALLER)


@pytest.mark.parametrize("digit", ["1", "0", "#", "*"])
def test_a_digit_on_the_caller_is_a_digit_pressed(digit):
    assert mine(dtmf(CALLER_CHANNEL, digit)) == ev.DigitPressed(digit)


def test_a_digit_on_an_agency_leg_is_not_the_caller_pressing():
    assert mine(dtmf(leg_channel(KEY, "leg1", state="Up"), "5")) is None


@pytest.mark.parametrize("token", ["p1", "p12", CONNECTING])
def test_the_end_of_one_of_our_playbacks_is_prompt_finished_with_its_token(token):
    assert mine(playback_finished(ids.playback_id(KEY, token))) == ev.PromptFinished(token)


def test_the_ringback_tone_and_other_calls_playbacks_are_not_prompts():
    assert mine(playback_finished(ids.ringback_id(KEY))) is None
    assert mine(playback_finished(ids.playback_id(OTHER_KEY, "p1"))) is None
    assert mine(playback_finished("1764215000.99")) is None  # a playback Asterisk named


def test_the_caller_leaving_the_app_is_caller_left_app():
    assert mine(stasis_end(CALLER_CHANNEL)) == ev.CallerLeftApp()


def test_the_caller_channel_destroyed_is_caller_hung_up():
    assert mine(destroyed(CALLER_CHANNEL)) == ev.CallerHungUp()


def test_other_caller_events_mean_nothing_to_the_flow():
    assert mine(stasis_start(CALLER_CHANNEL, "112")) is None
    assert mine(state_change(CALLER_CHANNEL, "Up")) is None


def test_a_leg_entering_the_app_is_the_agency_answering():
    assert mine(stasis_start(leg_channel(KEY, "leg1", state="Up"), "leg")) == ev.LegAnswered("leg1")


def test_a_leg_ringing_is_leg_ringing():
    assert mine(state_change(leg_channel(KEY, "leg2"), "Ringing")) == ev.LegRinging("leg2")


@pytest.mark.parametrize("state", ["Up", "Down", "Ring", "Busy"])
def test_other_leg_state_changes_are_ignored(state):
    assert mine(state_change(leg_channel(KEY, "leg2"), state)) is None


@pytest.mark.parametrize("cause, text", [(17, "User busy"), (19, "No user responding"), (16, "Normal Clearing")])
def test_a_leg_destroyed_is_leg_ended_with_its_cause(cause, text):
    assert mine(destroyed(leg_channel(KEY, "leg3"), cause, text)) == ev.LegEnded("leg3", cause, text)


def test_a_leg_destroyed_without_a_cause_ends_with_cause_zero():
    raw = destroyed(leg_channel(KEY, "leg3"))
    del raw["cause"], raw["cause_txt"]
    assert mine(raw) == ev.LegEnded("leg3", 0, "")


def test_the_dialplan_half_of_a_local_leg_is_not_followed():
    half = leg_channel(KEY, "leg1", half=";2", state="Up")
    for raw in (stasis_start(half, "leg"), state_change(half, "Ringing"), destroyed(half), dtmf(half, "1")):
        assert mine(raw) is None


def test_events_of_another_call_are_ignored():
    other_leg = leg_channel(OTHER_KEY, "leg1", state="Up")
    other_caller = channel("1764215000.42")
    for raw in (
        stasis_start(other_leg, "leg"),
        destroyed(other_leg, 17),
        state_change(other_leg, "Ringing"),
        dtmf(other_caller, "1"),
        stasis_end(other_caller),
        destroyed(other_caller),
    ):
        assert mine(raw) is None


def test_an_event_without_a_channel_is_ignored():
    assert mine({"type": "BridgeDestroyed", "bridge": {"id": ids.bridge_id(KEY)}}) is None
