"""The IVR state machine: ``(menus, state, event) -> (new state, actions)``.

Principle: pure and deterministic. No I/O, no clock, no randomness; a call's
whole IVR is a fold of its events. Tokens ("p1", "t2") come from a counter in
the state, so a PromptFinished or TimerExpired that is not for the prompt or
timer running now is recognised as stale and ignored.

At any moment while the IVR runs exactly one thing is outstanding: a prompt
playing (maybe with more prompts queued behind it) or the silence timer.
A digit interrupts whichever it is (StopPlayback / CancelTimer) and acts at once.

Invalid inputs are counted per call, not per menu: a caller who keeps pressing
wrong keys reaches a human after ``max_invalid`` of them wherever they are.
After Forward or EndIvr the state is done and every event is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ivr.engine.actions import Action, CancelTimer, EndIvr, Forward, Play, Select, StartTimer, StopPlayback
from ivr.engine.events import CallerHungUp, DigitPressed, Event, PromptFinished, TimerExpired
from ivr.engine.model import OPERATOR, OPTION_KEYS, UNKNOWN_DISTRICT, Choice, Menu, MenuSet


@dataclass(frozen=True)
class IvrState:
    line: str
    menu: str
    language: str
    counter: int = 0  # last token number handed out
    invalid: int = 0  # invalid inputs so far in this call
    selections: tuple[tuple[str, str], ...] = ()  # (field, value), latest wins
    playing: str | None = None  # token of the prompt playing now
    queued: tuple[str, ...] = ()  # prompt names to play after it (invalid -> menu prompt)
    timer: str | None = None  # token of the silence timer running now
    done: bool = False

    def chosen(self, field: str) -> str | None:
        return dict(self.selections).get(field)


Result = tuple[IvrState, list[Action]]


def start(menus: MenuSet, line: str) -> Result:
    """A new call on ``line``: play the start menu's prompt."""
    lm = menus.line(line)
    state = IvrState(line=line, menu=lm.start, language=lm.default_language)
    actions: list[Action] = []
    return _enter(menus, state, lm.start, actions), actions


def handle(menus: MenuSet, state: IvrState, event: Event) -> Result:
    if not isinstance(event, (DigitPressed, PromptFinished, TimerExpired, CallerHungUp)):
        raise TypeError(f"not an IVR event: {event!r}")
    if state.done:
        return state, []
    if isinstance(event, CallerHungUp):
        # The channel is gone: nothing to stop or cancel.
        return replace(state, done=True, playing=None, queued=(), timer=None), [EndIvr(state.menu)]
    actions: list[Action] = []
    menu = _menu(menus, state)
    if isinstance(event, PromptFinished):
        if event.token != state.playing:
            return state, []
        if state.queued:
            return _play(state, state.queued[0], actions, queued=state.queued[1:]), actions
        state, token = _token(state, "t")
        actions.append(StartTimer(token, menu.timeout))
        return replace(state, playing=None, timer=token), actions
    if isinstance(event, TimerExpired):
        if event.token != state.timer:
            return state, []
        return _choose(menus, replace(state, timer=None), menu.on_timeout, actions, timed_out=True), actions
    state = _interrupt(state, actions)
    digit = event.digit if isinstance(event.digit, str) else None
    choice = menu.options.get(digit)
    if choice is None and menu.others is not None and menu.others.next is not None and digit in OPTION_KEYS:
        # Pass the digit on: apply ``others`` without playing the next menu, and let
        # the digit act there (the next menu's own options, or invalid there).
        state = replace(_select(state, menu.others, actions), menu=menu.others.next)
        menu = _menu(menus, state)
        choice = menu.options.get(digit)
    if choice is None:
        return _invalid(menus, state, menu, actions), actions
    return _choose(menus, state, choice, actions, timed_out=False), actions


def _menu(menus: MenuSet, state: IvrState) -> Menu:
    return menus.line(state.line).menus[state.menu]


def _token(state: IvrState, prefix: str) -> tuple[IvrState, str]:
    state = replace(state, counter=state.counter + 1)
    return state, f"{prefix}{state.counter}"


def _play(state: IvrState, prompt: str, actions: list[Action], queued: tuple[str, ...] = ()) -> IvrState:
    state, token = _token(state, "p")
    actions.append(Play(prompt, state.language, token))
    return replace(state, playing=token, queued=queued, timer=None)


def _enter(menus: MenuSet, state: IvrState, menu_id: str, actions: list[Action]) -> IvrState:
    state = replace(state, menu=menu_id)
    return _play(state, _menu(menus, state).prompt, actions)


def _interrupt(state: IvrState, actions: list[Action]) -> IvrState:
    if state.playing is not None:
        actions.append(StopPlayback(state.playing))
    if state.timer is not None:
        actions.append(CancelTimer(state.timer))
    return replace(state, playing=None, queued=(), timer=None)


def _invalid(menus: MenuSet, state: IvrState, menu: Menu, actions: list[Action]) -> IvrState:
    state = replace(state, invalid=state.invalid + 1)
    if state.invalid >= menus.max_invalid:
        return _forward(state, actions, OPERATOR, "invalid-input")
    # "Not an option", then the menu again; the second play starts when the first finishes.
    return _play(state, menu.invalid_prompt, actions, queued=(menu.prompt,))


def _select(state: IvrState, choice: Choice, actions: list[Action]) -> IvrState:
    for field, value in choice.sets:
        actions.append(Select(field, value))
        state = replace(state, selections=(*[s for s in state.selections if s[0] != field], (field, value)))
        if field == "language":
            state = replace(state, language=value)
    return state


def _choose(menus: MenuSet, state: IvrState, choice: Choice, actions: list[Action], timed_out: bool) -> IvrState:
    state = _select(state, choice, actions)
    if choice.next is not None:
        return _enter(menus, state, choice.next, actions)
    category = OPERATOR if choice.operator else (state.chosen("category") or OPERATOR)
    if timed_out:
        reason = "no-input"
    else:
        reason = "operator" if category == OPERATOR else "selected"
    return _forward(state, actions, category, reason)


def _forward(state: IvrState, actions: list[Action], category: str, reason: str) -> IvrState:
    district = state.chosen("district") or UNKNOWN_DISTRICT
    actions.append(Forward(state.line, state.language, category, district, reason))
    return replace(state, done=True, playing=None, queued=(), timer=None)
