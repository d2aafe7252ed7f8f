"""What the parts of a call flow share: its fields, and the steps one part asks of another.

``CallFlow`` is put together from ``Connecting`` (forwarding) and ``Endings``
(hang-ups, the fallback route, errors); both read and write the same call.
This base names that shared state once, with its types, so each part says
what it relies on and a type checker holds them to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from app.directory.schema import Directory
from app.live import events as live
from ivr.calls.casestore import AttemptKey, CaseStore
from ivr.calls.forwarding import Forwarding
from ivr.calls.handover import Waiting
from ivr.calls.port import CallControl
from ivr.calls.states import CallState, CallStates
from ivr.engine import engine

T = TypeVar("T")


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
