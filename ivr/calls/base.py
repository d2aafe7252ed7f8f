"""What the parts of a call flow share: its fields, and the steps one part asks of another.

``CallFlow`` is put together from ``Connecting`` (forwarding) and ``Endings``
(hang-ups, the fallback route, errors); both read and write the same call.
This base names that shared state once, with its types, so each part says
what it relies on and a type checker holds them to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from app.directory.schema import Directory, Unit
from app.live import events as live
from ivr.agents.work import AgentWork
from ivr.calls.casestore import AttemptKey, CaseStore
from ivr.calls.forwarding import Forwarding
from ivr.calls.handover import Waiting
from ivr.calls.port import CallControl
from ivr.calls.states import CallState, CallStates
from ivr.engine import actions as act
from ivr.engine import engine

T = TypeVar("T")

AGENT_LEG, UNIT_LEG = "ag", "un"  # leg ids: ag1 (an agent's phone), un2 (a dispatched unit); forwarding's are leg1
OTHER_LEGS = (AGENT_LEG, UNIT_LEG)
NORMAL_CLEARING = 16  # Q.850: a hang-up, as opposed to a phone or network that dropped


@dataclass
class UnitLeg:
    """A unit a call-taker dispatched (``dispatching.py``)."""

    unit: Unit
    mode: str
    by: str
    attempt: AttemptKey
    state: str = "ringing"  # ringing, answered, ended


class FlowBase:
    line: str
    caller_number: str
    channel_id: str
    port: CallControl
    store: CaseStore
    menus: engine.MenuSet
    directory: Directory
    recordings_dir: Path
    post: Callable[[object], None]
    notify: Callable[[live.LiveEvent], None]
    ticket: str  # "" until the case is opened (it may never be, when the journal refuses it)
    states: CallStates
    ivr: engine.IvrState | None
    selections: dict[str, str]
    forwarding: Forwarding | None
    attempts: dict[str, AttemptKey]  # leg id -> its attempt, keyed without the database
    timers: dict[str, asyncio.TimerHandle]
    recording: str | None
    waiting: Waiting
    handover_tries: int
    connecting_prompt: bool  # the connecting prompt is playing
    ringback: bool  # ringback is playing
    adopted_leg: str | None  # the agency leg of a conversation found after a restart
    before_fallback: CallState
    # Call-takers (queueing.py) and the units they dispatch (dispatching.py)
    agent_work: AgentWork | None
    queued: act.Forward | None  # the IVR's answers while the caller waits (for going on as direct)
    silent: bool
    hold: str | None  # the hold message playing
    offer_agent: str | None
    offer_legs: dict[str, str]  # leg -> phone kind ("sip", "web")
    agent: str | None  # the call-taker who took the call
    agent_leg: str | None  # ... while still in the call
    unit_legs: dict[str, UnitLeg]
    agency_answered: bool
    received_at: datetime
    _seq: int

    @property
    def caller_id(self) -> str:
        """What the phones we ring show: the line, the ticket and the caller's number."""
        return f'"{self.line} {self.ticket}" <{self.caller_number}>'

    # -- steps one part of the flow takes from another ---------------------------------
    def _choice_ops(self, chosen: list) -> list[dict]:
        raise NotImplementedError

    async def _to_fallback(self, why: str) -> None:
        raise NotImplementedError

    async def _finish(self, disposition: str, caller_gone: bool = False) -> None:
        raise NotImplementedError

    def _cancel_timers(self) -> None:
        raise NotImplementedError

    async def _cancel_leg(self, leg_id: str) -> None:
        raise NotImplementedError

    async def _safely(self, coro: Awaitable[T]) -> T | None:
        raise NotImplementedError

    def _start_timer(self, token: str, seconds: float, event: object) -> None:
        raise NotImplementedError

    def _cancel_timer(self, token: str) -> None:
        raise NotImplementedError

    async def _forward(self, fwd, chosen: list | None = None, direct: bool = False) -> None:
        raise NotImplementedError

    async def _release_agent_work(self, why: str = "call ended") -> None:
        raise NotImplementedError

    async def _stop_hold(self) -> None:
        raise NotImplementedError

    async def _recheck_legs(self) -> None:
        raise NotImplementedError

    async def _record(self, *ops: dict) -> None:
        raise NotImplementedError

    async def _release_units(self, now: datetime) -> None:
        raise NotImplementedError

    def _agent_done(self, now: datetime, *, goes_on: bool) -> None:
        raise NotImplementedError
