"""Callers waiting for a call-taker, matched to agents as they become free. No I/O: it posts events to calls.

Order: 112 before 14084, then the longest wait. Each waiting call rings one agent at a time
(``AgentOffered`` posted to its worker; the flow dials the agent's phones); an agent who does not
answer is not offered that call again. A waiting call for which no agent is left (none
available, none ringing) gets ``NoAgentLeft`` at once: it goes on as ``direct``. The bound on the
whole wait (``queue.max_wait_seconds``) is the flow's own timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ivr.agents.board import AgentBoard


@dataclass(frozen=True)
class AgentOffered:
    """Posted to a waiting call: ring this agent's phones."""

    agent: str


@dataclass(frozen=True)
class NoAgentLeft:
    """Posted to a waiting call: no call-taker can take it now; it goes on as direct."""

    why: str


@dataclass
class Waiting:
    ticket: str
    line: str
    language: str
    received_at: datetime
    post: Callable[[object], None]
    skip: set[str] = field(default_factory=set)  # agents who did not answer this call
    ringing: str | None = None

    def order(self) -> tuple:
        return (self.line != "112", self.received_at, self.ticket)


class AgentQueue:
    def __init__(self, board: AgentBoard) -> None:
        self.board = board
        self.waiting: dict[str, Waiting] = {}
        self._scheduled = False

    def __len__(self) -> int:
        return len(self.waiting)

    def can_take(self) -> bool:
        """Whether a new caller should wait at all: some agent is available now."""
        return self.board.any_available()

    def join(self, entry: Waiting) -> None:
        self.waiting[entry.ticket] = entry
        self.match()

    def leave(self, ticket: str, now: datetime) -> None:
        """The call no longer waits (answered elsewhere, hung up, gone direct); its ringing agent is freed."""
        entry = self.waiting.pop(ticket, None)
        if entry is not None and entry.ringing:
            self.board.withdraw(entry.ringing, ticket, now, missed=False)
        self.soon()

    def missed(self, ticket: str, agent: str, now: datetime) -> None:
        """The agent's phones did not answer this call: the agent goes away, the call tries the next one."""
        self.board.withdraw(agent, ticket, now, missed=True)
        entry = self.waiting.get(ticket)
        if entry is not None:
            entry.skip.add(agent)
            if entry.ringing == agent:
                entry.ringing = None
        self.match()

    def answered(self, ticket: str, agent: str, now: datetime) -> None:
        self.waiting.pop(ticket, None)
        self.board.answered(agent, ticket, now)
        self.soon()

    def soon(self) -> None:
        """Match on the next turn of the loop (safe to call from a board change)."""
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.match()
            return
        self._scheduled = True
        loop.call_soon(self._scheduled_match)

    def _scheduled_match(self) -> None:
        self._scheduled = False
        self.match()

    def match(self) -> None:
        for entry in sorted(self.waiting.values(), key=Waiting.order):
            if entry.ringing:
                continue
            agent = self.board.pick(entry.language, frozenset(entry.skip))
            if agent is None:
                if not self._anyone_for(entry):
                    self.waiting.pop(entry.ticket, None)
                    entry.post(NoAgentLeft("no call-taker available"))
                continue
            entry.ringing = agent.name
            self.board.offer(agent.name, entry.ticket)
            entry.post(AgentOffered(agent.name))

    def _anyone_for(self, entry: Waiting) -> bool:
        """An agent who could still take this call: available (not skipped), even if ringing another caller."""
        return any(
            a.status == "available" and a.name not in entry.skip and a.registered for a in self.board.agents.values()
        )
