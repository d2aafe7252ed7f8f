"""What a call flow needs of the call-takers: the queue (and its board), the queue settings, and
``tell`` (a message for the agent pages, published on Redis; never blocks, never raises)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.settings import QueueSettings
from ivr.agents.board import AgentBoard
from ivr.agents.queue import AgentQueue

AGENT_CHANNEL = "siaga:agent-events"  # Redis pub/sub: one JSON message per change, with the agent's name


@dataclass
class AgentWork:
    queue: AgentQueue
    settings: QueueSettings
    tell: Callable[[dict], None]

    @property
    def board(self) -> AgentBoard:
        return self.queue.board

    def phones_of(self, name: str) -> list[tuple[str, str]]:
        """``(kind, dial)`` of the agent's registered phones: the SIP phone ``<name>``, the browser ``<name>-web``."""
        agent = self.board.agents.get(name)
        if agent is None:
            return []
        dials = {"sip": f"PJSIP/{name}", "web": f"PJSIP/{name}-web"}
        return [(kind, dials[kind]) for kind, online in agent.phones.items() if online]
