from __future__ import annotations

import dataclasses

import pytest

from app.settings import IvrSettings
from ivr.engine.actions import (
    CancelTimer,
    EndIvr,
    Forward,
    Play,
    Select,
    StartTimer,
    StopPlayback,
)
from ivr.engine.engine import handle, start
from ivr.engine.events import DigitPressed, PromptFinished, TimerExpired
from ivr.engine.menus import MenuError, load_menus


def test_call_starts_with_the_bilingual_welcome_in_indonesian(call):
    c = call("112")
    assert c.last == [Play("112-welcome", "id", "p1")]


def test_112_walk_9_1_2_selects_english_medical_kuta_and_forwards(call):
    c = call("112")
    c.finish()
    c.press("9")
    c.finish()
    c.press("1")
    c.finish()
    c.press("2")
    assert c.selected() == [("language", "en"), ("category", "medical"), ("district", "kuta")]
    assert c.forwards() == [Forward("112", "en", "medical", "kuta", "selected")]
    assert c.state.done


def test_prompts_after_choosing_english_are_played_in_english(call):
    c = call("112")
    c.press("9")
    assert c.latest(Play) == Play("112-category", "en", c.latest(Play).token)


def test_14084_walk_reports_department_and_district(call):
    c = call("14084")
    c.press("4", "6")
    assert c.selected() == [("language", "id"), ("category", "population"), ("district", "petang")]
    assert c.forwards() == [Forward("14084", "id", "population", "petang", "selected")]


def test_prompt_finished_starts_the_timer_with_the_menus_own_timeout(call, shipped):
    c = call("112")
    actions = c.finish()
    assert actions == [StartTimer(actions[0].token, shipped.line("112").menus["language"].timeout)]
    assert actions[0].token != "p1"


def test_menu_without_timeout_uses_the_settings_default():
    menus = load_menus(settings=IvrSettings(input_timeout_seconds=7.5))
    state, _ = start(menus, "14084")
    state, _ = handle(menus, state, DigitPressed("1"))
    state, actions = handle(menus, state, PromptFinished(state.playing))
    assert [a.seconds for a in actions if isinstance(a, StartTimer)] == [7.5]


def test_no_input_at_all_on_112_chooses_indonesian_then_goes_to_operator(call):
    c = call("112")
    c.finish()
    c.expire()
    assert c.last[0] == Select("language", "id")
    assert isinstance(c.last[1], Play) and c.last[1].prompt == "112-category"
    c.finish()
    c.expire()
    assert c.forwards() == [Forward("112", "id", "operator", "unknown", "no-input")]
    assert not any(isinstance(a, EndIvr) for a in c.history)


def test_no_input_on_district_keeps_the_chosen_category_but_routes_to_operator(call):
    c = call("112")
    c.press("1")
    c.finish()
    c.expire()
    assert ("category", "medical") in c.selected()
    assert c.forwards() == [Forward("112", "id", "operator", "unknown", "no-input")]


def test_digit_during_a_prompt_stops_playback_before_acting(call):
    c = call("112")
    actions = c.press("9")
    assert actions[0] == StopPlayback("p1")
    assert actions[1] == Select("language", "en")
    assert isinstance(actions[2], Play)


def test_digit_while_the_timer_runs_cancels_it_before_acting(call):
    c = call("112")
    timer = c.finish()[0].token
    actions = c.press("1")
    assert actions[:2] == [CancelTimer(timer), Select("language", "id")]


def test_type_ahead_digits_walk_the_menus_without_waiting_for_prompts(call):
    c = call("112")
    c.press("9", "3", "4")
    stopped = [a.token for a in c.history if isinstance(a, StopPlayback)]
    played = [a.token for a in c.history if isinstance(a, Play)]
    assert stopped == played  # every prompt was cut short by the next digit
    assert c.forwards() == [Forward("112", "en", "police", "mengwi", "selected")]


def test_invalid_digit_plays_invalid_then_the_menu_prompt_again(call):
    c = call("112")
    c.finish()
    c.expire()  # silence on the welcome: Indonesian
    c.finish()
    actions = c.press("7")
    assert isinstance(actions[0], CancelTimer)
    assert actions[1:] == [Play("invalid", "id", actions[1].token)]
    assert c.finish() == [Play("112-category", "id", c.latest(Play).token)]
    assert isinstance(c.finish()[0], StartTimer)


def test_the_language_menu_says_not_an_option_in_both_languages(call):
    c = call("112")
    assert c.press("x")[1].prompt == "invalid-bilingual"


def test_a_category_digit_on_the_language_menu_means_indonesian_and_that_category(call):
    c = call("112")
    c.press("1", "2")
    assert c.selected() == [("language", "id"), ("category", "medical"), ("district", "kuta")]
    assert c.forwards() == [Forward("112", "id", "medical", "kuta", "selected")]


def test_a_digit_passed_on_from_the_language_menu_can_still_be_invalid_in_the_category_menu(call):
    c = call("112")
    actions = c.press("7")
    assert ("language", "id") in c.selected()
    assert c.state.menu == "category" and c.state.invalid == 1
    assert [a.prompt for a in actions if isinstance(a, Play)] == ["invalid"]


@pytest.mark.parametrize("phase", ["invalid", "replayed menu"])
def test_digit_during_the_invalid_sequence_barges_in(call, phase):
    c = call("112")
    c.press("8")
    if phase == "replayed menu":
        c.finish()
    playing = c.latest(Play).token
    actions = c.press("2")
    assert actions[:2] == [StopPlayback(playing), Select("category", "fire")]
    assert c.send(PromptFinished(playing)) == []  # the cut-short prompt's end is stale


@pytest.mark.parametrize("digit", ["*", "#", "A", "", "12", " ", None])
def test_star_hash_and_garbage_are_invalid_input(call, digit):
    c = call("112")
    c.press("1")
    actions = c.send(DigitPressed(digit))
    assert [a.prompt for a in actions if isinstance(a, Play)] == ["invalid"]
    assert c.state.invalid == 1


def test_three_invalid_digits_go_to_the_operator(call):
    c = call("112")
    c.press("7", "8")
    assert c.forwards() == []
    c.press("5")
    assert c.forwards() == [Forward("112", "id", "operator", "unknown", "invalid-input")]


def test_invalid_inputs_are_counted_per_call_not_per_menu(call):
    c = call("112")
    c.press("9", "#", "1", "*", "8")
    assert ("category", "medical") in c.selected()
    assert c.forwards() == [Forward("112", "en", "operator", "unknown", "invalid-input")]


def test_max_invalid_comes_from_the_settings():
    menus = load_menus(settings=IvrSettings(max_invalid=1))
    state, _ = start(menus, "112")
    state, actions = handle(menus, state, DigitPressed("*"))
    assert actions[-1] == Forward("112", "id", "operator", "unknown", "invalid-input")


def test_pressing_0_for_the_category_goes_to_the_operator(call):
    c = call("112")
    c.press("9", "0")
    assert c.selected()[-1] == ("category", "operator")
    assert c.forwards() == [Forward("112", "en", "operator", "unknown", "operator")]


def test_unknown_district_still_routes_the_chosen_category(call):
    c = call("112")
    c.press("2", "0")
    assert c.forwards() == [Forward("112", "id", "fire", "unknown", "selected")]


def test_stale_prompt_finished_is_ignored(call):
    c = call("112")
    c.press("9")
    before = c.state
    assert c.send(PromptFinished("p1")) == []
    assert c.send(PromptFinished("p999")) == []
    assert c.state == before


def test_stale_timer_expired_is_ignored(call):
    c = call("112")
    timer = c.finish()[0].token
    c.press("9")
    before = c.state
    assert c.send(TimerExpired(timer)) == []
    assert c.send(TimerExpired("t999")) == []
    assert c.state == before


def test_hang_up_mid_ivr_ends_it_at_the_current_menu_and_ignores_later_events(call):
    c = call("112")
    c.press("9")
    assert c.hang_up() == [EndIvr("category")]
    assert c.press("1", "2") == []
    assert c.send(PromptFinished(c.latest(Play).token)) == []
    assert c.send(TimerExpired("t1")) == []
    assert c.hang_up() == []


def test_events_after_a_forward_do_nothing(call):
    c = call("112")
    c.press("1", "0", "0")  # category 0 → operator, then a late digit
    assert len(c.forwards()) == 1
    assert c.last == []
    assert c.hang_up() == []


@pytest.mark.parametrize("event", [object(), "1", DigitPressed])
def test_unknown_event_types_raise_type_error(shipped, event):
    state, _ = start(shipped, "112")
    with pytest.raises(TypeError):
        handle(shipped, state, event)
    with pytest.raises(TypeError):
        handle(shipped, dataclasses.replace(state, done=True), event)


def test_unknown_line_is_a_menu_error(shipped):
    with pytest.raises(MenuError, match="999"):
        start(shipped, "999")


def test_handle_is_pure_same_state_and_event_give_the_same_result(shipped):
    state, _ = start(shipped, "112")
    first = handle(shipped, state, DigitPressed("9"))
    second = handle(shipped, state, DigitPressed("9"))
    assert first == second
    assert state.menu == "language" and state.playing == "p1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.menu = "district"  # type: ignore[misc]
