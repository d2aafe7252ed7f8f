"""Seeded random event sequences against the shipped menus, checking invariants.

The driver plays the adapter's part: it tracks which prompt or timer is
outstanding from the actions, and sends a mix of current and stale tokens.
"""

from __future__ import annotations

import random

import pytest

from ivr.engine.actions import CancelTimer, EndIvr, Forward, Play, Select, StartTimer, StopPlayback
from ivr.engine.engine import handle, start
from ivr.engine.events import CallerHungUp, DigitPressed, PromptFinished, TimerExpired
from ivr.engine.model import CATEGORIES, DISTRICTS, LANGUAGES

KEYS = list("0123456789*#") + ["A", "", "12", None]
REASONS = {"selected", "operator", "no-input", "invalid-input"}


class Adapter:
    """What an adapter would see: the one prompt or timer outstanding, every token ever issued."""

    def __init__(self, menus, line):
        self.menus, self.line = menus, line
        self.state, actions = start(menus, line)
        self.outstanding = None  # ("p" | "t", token)
        self.tokens: list[str] = []
        self.after_end: list = []
        self.ends: list = []
        self.selected: dict[str, str] = {}
        self.apply(actions)

    def send(self, event):
        ended = {PromptFinished: "p", TimerExpired: "t"}.get(type(event))
        if ended and self.outstanding == (ended, event.token):
            self.outstanding = None  # the adapter's audio or timer really ended
        self.state, actions = handle(self.menus, self.state, event)
        self.apply(actions)

    def apply(self, actions):
        if self.ends:
            self.after_end.extend(actions)
            return
        for i, action in enumerate(actions):
            if isinstance(action, (Play, StartTimer)):
                assert self.outstanding is None, f"{action} while {self.outstanding} is outstanding"
                assert action.token not in self.tokens, f"token {action.token} reused"
                self.tokens.append(action.token)
                self.outstanding = ("p" if isinstance(action, Play) else "t", action.token)
            elif isinstance(action, (StopPlayback, CancelTimer)):
                kind = "p" if isinstance(action, StopPlayback) else "t"
                assert self.outstanding == (kind, action.token), f"{action} but {self.outstanding} is outstanding"
                self.outstanding = None
            elif isinstance(action, Select):
                self.selected[action.field] = action.value
            else:
                assert isinstance(action, (Forward, EndIvr))
                assert i == len(actions) - 1, "nothing may follow the end of the IVR"
                self.ends.append(action)

    def random_event(self, rng: random.Random):
        roll = rng.random()
        if roll < 0.45:
            return DigitPressed(rng.choice(KEYS))
        if roll < 0.85 and self.outstanding:
            kind, token = self.outstanding
            if rng.random() < 0.25 and self.tokens:  # stale, or a token never issued
                token = rng.choice(self.tokens + ["p0", "t999"])
                kind = rng.choice("pt")
            return PromptFinished(token) if kind == "p" else TimerExpired(token)
        if roll < 0.97:
            return rng.choice([PromptFinished, TimerExpired])(rng.choice(self.tokens + ["x"]))
        return CallerHungUp()

    def time_out(self):
        """Let whatever is outstanding run to its end, as a silent caller would."""
        kind, token = self.outstanding
        self.send(PromptFinished(token) if kind == "p" else TimerExpired(token))


def check_end(adapter: Adapter):
    assert len(adapter.ends) <= 1
    assert adapter.after_end == []
    if not adapter.ends:
        assert not adapter.state.done
        assert adapter.outstanding is not None, "a live IVR always waits on a prompt or a timer"
        return
    assert adapter.state.done
    end = adapter.ends[0]
    if isinstance(end, Forward):
        assert end.line == adapter.line and end.language in LANGUAGES and end.reason in REASONS
        assert end.category in CATEGORIES[adapter.line] and end.district in DISTRICTS
        assert end.category in {"operator", adapter.selected.get("category")}
        assert end.district == adapter.selected.get("district", "unknown")
        assert end.language == adapter.selected.get("language", "id")


@pytest.mark.parametrize("line", ["112", "14084"])
def test_random_event_sequences_keep_the_invariants(shipped, line):
    rng = random.Random(f"siaga-{line}")
    for _ in range(3000):
        adapter = Adapter(shipped, line)
        for _ in range(rng.randint(1, 40)):
            adapter.send(adapter.random_event(rng))
            check_end(adapter)


@pytest.mark.parametrize("line", ["112", "14084"])
def test_a_caller_who_goes_silent_always_reaches_a_forward(shipped, line):
    rng = random.Random(f"silent-{line}")
    # Each menu costs at most: "not an option", the menu prompt again, the timer.
    bound = 3 * len(shipped.line(line).menus)
    for _ in range(2000):
        adapter = Adapter(shipped, line)
        for _ in range(rng.randint(0, 10)):
            event = adapter.random_event(rng)
            if not isinstance(event, CallerHungUp):
                adapter.send(event)
        steps = 0
        while not adapter.ends:
            assert steps < bound, f"no Forward after {steps} timeouts"
            adapter.time_out()
            steps += 1
        assert isinstance(adapter.ends[0], Forward)
        check_end(adapter)
