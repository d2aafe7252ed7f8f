"""The call-takers' board: who is offline, available, on a call, in wrap-up or away. Pure (no I/O, no clock).

The call service is its only writer: the web app asks for a status change over the internal
channel, the flows report answers, misses and ends. Every change is handed to ``on_change``
(published to the agent pages). Rules:

- ``available`` needs a registered phone (SIP desk/soft phone ``<name>`` or browser ``<name>-web``);
  the last phone going offline makes an available agent ``offline``.
- An offer reserves an available agent for one call at a time (``offered``).
- Answering makes the agent ``on-call``; the call's end starts ``wrap-up`` until ``wrapup_ends``,
  after which (``tick``) the agent is available again, or earlier by hand.
- An offer not answered (ring timeout, rejected) makes the agent ``away``: a phone nobody picks
  up must not keep taking callers' time (the usual "ring, no answer" rule of call centres).
- The longest-idle available agent who speaks the caller's language is picked first, then the
  longest-idle available agent at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

STATUSES = ("offline", "available", "on-call", "wrap-up", "away")
SETTABLE = ("offline", "available", "away")  # by the agent; on-call and wrap-up follow the calls
PHONES = ("sip", "web")


class Refused(Exception):
    """The change is not allowed now; the message says why (shown to the agent)."""


class UnknownAgent(KeyError):
    pass


@dataclass
class Agent:
    name: str
    languages: tuple[str, ...]
    status: str = "offline"
    since: datetime | None = None
    idle_since: datetime | None = None  # last became available (longest idle first)
    phones: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(PHONES, False))
    offered: str | None = None  # the ticket ringing this agent now
    ticket: str | None = None  # the call the agent is on (on-call, wrap-up)
    wrapup_ends: datetime | None = None
    reason: str = ""

    @property
    def registered(self) -> bool:
        return any(self.phones.values())

    def view(self) -> dict:
        return {
            "agent": self.name,
            "status": self.status,
            "since": _iso(self.since),
            "languages": list(self.languages),
            "phones": dict(self.phones),
            "offered": self.offered,
            "ticket": self.ticket,
            "wrapup_ends_at": _iso(self.wrapup_ends),
            "reason": self.reason,
        }


class AgentBoard:
    def __init__(
        self,
        agents: Iterable[tuple[str, Iterable[str]]],
        *,
        wrapup_seconds: float,
        on_change: Callable[[Agent], None] = lambda agent: None,
    ) -> None:
        self.agents = {name: Agent(name, tuple(languages)) for name, languages in agents}
        self.wrapup = timedelta(seconds=wrapup_seconds)
        self.on_change = on_change

    def get(self, name: str) -> Agent:
        try:
            return self.agents[name]
        except KeyError:
            raise UnknownAgent(name) from None

    # -- the agent's own choice ------------------------------------------------
    def set_status(self, name: str, status: str, now: datetime) -> Agent:
        agent = self.get(name)
        if status not in SETTABLE and not (status == "available" and agent.status == "wrap-up"):
            raise Refused(f"status {status!r} cannot be chosen; choose one of {', '.join(SETTABLE)}")
        if agent.status == "on-call" and status != "on-call":
            raise Refused(f"{name} is on a call ({agent.ticket}); the status changes when it ends")
        if status == "available" and not agent.registered:
            raise Refused(f"{name} has no registered phone: register the SIP phone {name} or open the browser phone")
        if agent.offered and status != "available":
            raise Refused(f"a call ({agent.offered}) is ringing {name}: answer it, or let it ring out")
        if status == agent.status:
            return agent
        agent.ticket = None if status != "wrap-up" else agent.ticket
        agent.wrapup_ends = None
        self._move(agent, status, now, "")
        return agent

    # -- phones ----------------------------------------------------------------
    def phone(self, name: str, kind: str, online: bool, now: datetime) -> None:
        agent = self.get(name)
        if agent.phones.get(kind) == online:
            return
        agent.phones[kind] = online
        if not agent.registered and agent.status == "available" and not agent.offered:
            self._move(agent, "offline", now, "no phone registered")
        else:
            self.on_change(agent)

    # -- the queue's side ------------------------------------------------------
    def pick(self, language: str | None, skip: frozenset[str] = frozenset()) -> Agent | None:
        free = [a for a in self.agents.values() if a.status == "available" and not a.offered and a.name not in skip]
        if not free:
            return None
        speaks = [a for a in free if language in a.languages]
        return min(speaks or free, key=lambda a: (a.idle_since or datetime.min, a.name))

    def any_available(self, skip: frozenset[str] = frozenset()) -> bool:
        return self.pick(None, skip) is not None

    def offer(self, name: str, ticket: str) -> None:
        agent = self.get(name)
        agent.offered = ticket
        self.on_change(agent)

    def withdraw(self, name: str, ticket: str, now: datetime, *, missed: bool) -> None:
        """The offer ended without an answer: ``missed`` (rang out, rejected) makes the agent away."""
        agent = self.agents.get(name)
        if agent is None or agent.offered != ticket:
            return
        agent.offered = None
        if missed and agent.status == "available":
            self._move(agent, "away", now, f"did not answer {ticket}")
        elif agent.status == "available" and not agent.registered:  # its phones went while it rang
            self._move(agent, "offline", now, "no phone registered")
        else:
            self.on_change(agent)

    def answered(self, name: str, ticket: str, now: datetime) -> None:
        agent = self.get(name)
        agent.offered, agent.ticket = None, ticket
        self._move(agent, "on-call", now, "")

    def call_ended(self, name: str, ticket: str, now: datetime) -> None:
        agent = self.agents.get(name)
        if agent is None or agent.ticket != ticket or agent.status != "on-call":
            return
        agent.wrapup_ends = now + self.wrapup
        self._move(agent, "wrap-up", now, "")

    def tick(self, now: datetime) -> list[Agent]:
        """Wrap-ups that have run their time end: those agents are available again (or offline without a phone)."""
        done = [a for a in self.agents.values() if a.status == "wrap-up" and a.wrapup_ends and a.wrapup_ends <= now]
        for agent in done:
            agent.ticket = agent.wrapup_ends = None
            self._move(agent, "available" if agent.registered else "offline", now, "wrap-up time over")
        return done

    def _move(self, agent: Agent, status: str, now: datetime, reason: str) -> None:
        agent.status, agent.since, agent.reason = status, now, reason
        if status == "available":
            agent.idle_since = now
        self.on_change(agent)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None
