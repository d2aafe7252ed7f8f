"""A scripted caller for the pure engine: feeds events, remembers the actions."""

from __future__ import annotations

import pytest

from ivr.engine import engine
from ivr.engine.actions import Forward, Play, Select, StartTimer
from ivr.engine.events import CallerHungUp, DigitPressed, PromptFinished, TimerExpired
from ivr.engine.menus import load_menus


class Call:
    def __init__(self, menus, line: str) -> None:
        self.menus = menus
        self.state, self.last = engine.start(menus, line)
        self.history = list(self.last)

    def send(self, event):
        self.state, self.last = engine.handle(self.menus, self.state, event)
        self.history.extend(self.last)
        return self.last

    def press(self, *digits: str):
        return [a for d in digits for a in self.send(DigitPressed(d))]

    def finish(self):
        """The most recently started prompt ends."""
        return self.send(PromptFinished(self.latest(Play).token))

    def expire(self):
        """The most recently started timer fires."""
        return self.send(TimerExpired(self.latest(StartTimer).token))

    def hang_up(self):
        return self.send(CallerHungUp())

    def latest(self, kind):
        return [a for a in self.history if isinstance(a, kind)][-1]

    def selected(self) -> list[tuple[str, str]]:
        return [(a.field, a.value) for a in self.history if isinstance(a, Select)]

    def forwards(self) -> list[Forward]:
        return [a for a in self.history if isinstance(a, Forward)]


@pytest.fixture(scope="session")
def shipped():
    return load_menus()


@pytest.fixture
def call(shipped):
    return lambda line: Call(shipped, line)
