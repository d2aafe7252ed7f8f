"""One call's flow: case first, IVR, forwarding, connection, hang-up.

Principle: the flow reacts to typed events one at a time (its worker feeds
them in order) and never speaks a protocol: it asks the port. The case row is
written before anything else happens, and every outcome, including errors and
hang-ups, ends in exactly one place (``_finish``) or in the dialplan
fallback (``_to_fallback``), so a 112 caller is never simply dropped.
Forwarding steps live in ``connecting.py``, endings in ``endings.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from app.clock import utcnow
from app.directory.schema import Directory
from app.live import events as live
from ivr.agents.queue import AgentOffered, NoAgentLeft
from ivr.agents.work import AgentWork
from ivr.calls import events as ev
from ivr.calls.base import AGENT_LEG, OTHER_LEGS, UnitLeg
from ivr.calls.casestore import AttemptKey, CaseStore
from ivr.calls.connecting import CONNECTING, Connecting, _outcome
from ivr.calls.dispatching import Dispatching
from ivr.calls.endings import Endings
from ivr.calls.forwarding import Forwarding
from ivr.calls.handover import Waiting
from ivr.calls.port import CallControl
from ivr.calls.queueing import HOLD, REASSURE, Queueing, QueueTimedOut
from ivr.calls.states import CallState, CallStates
from ivr.engine import actions as act
from ivr.engine import engine

log = logging.getLogger("siaga.call")

__all__ = ["CONNECTING", "CallFlow"]


class CallFlow(Queueing, Dispatching, Connecting, Endings):
    def __init__(
        self,
        *,
        line: str,
        caller_number: str,
        channel_id: str,
        port: CallControl,
        store: CaseStore,
        menus: engine.MenuSet,
        directory: Directory,
        recordings_dir: Path,
        post: Callable[[object], None],
        notify: Callable[[live.LiveEvent], None] = lambda event: None,
        waiting: Waiting | None = None,
        agent_work: AgentWork | None = None,
    ) -> None:
        self.line, self.caller_number, self.channel_id = line, caller_number, channel_id
        self.port, self.store, self.menus, self.directory = port, store, menus, directory
        self.recordings_dir, self.post = recordings_dir, post
        self.notify = notify  # live views; must never block or raise (LivePublisher.publish)
        self.ticket = ""
        self.states = CallStates("(new)")
        self.ivr: engine.IvrState | None = None
        self.selections: dict[str, str] = {}
        self.forwarding: Forwarding | None = None
        self.attempts: dict[str, AttemptKey] = {}  # leg id -> its attempt, keyed without the database
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.recording: str | None = None
        self.waiting = waiting or Waiting()  # callers waiting for a hand-over, shared with /healthz
        self.handover_tries = 0
        # What plays to the caller while agency lines ring, so that connecting stops only what
        # plays (each needless stop is an ARI request that Asterisk answers "not found").
        self.connecting_prompt = False
        self.ringback = False
        self.adopted_leg: str | None = None  # the agency leg of a conversation found after a restart
        self.before_fallback = CallState.RECEIVED
        # Call-takers (queueing.py): None when the service runs without them.
        self.agent_work = agent_work
        self.received_at = utcnow()
        self.queued: act.Forward | None = None
        self.silent = False
        self.hold: str | None = None
        self.offer_agent: str | None = None
        self.offer_legs: dict[str, str] = {}
        self.agent: str | None = None
        self.agent_leg: str | None = None
        self.unit_legs: dict[str, UnitLeg] = {}
        self.agency_answered = False
        self._seq = 0

    @property
    def finished(self) -> bool:
        return self.states.state is CallState.ENDED

    @property
    def language(self) -> str:
        return self.selections.get("language", "id")

    # -- arrival -------------------------------------------------------------
    async def start(self) -> None:
        self.received_at = utcnow()
        self.ticket = await self.store.open(
            line=self.line, caller_number=self.caller_number, channel_id=self.channel_id, received_at=self.received_at
        )
        self.states = CallStates(self.ticket)
        log.info(
            "%s received on line %s from %s (channel %s)", self.ticket, self.line, self.caller_number, self.channel_id
        )
        self.notify(live.CallReceived(self.ticket, line=self.line, caller_number=self.caller_number))
        await self.port.answer()
        self.states.move(CallState.IVR, "answered")
        self.ivr, actions = engine.start(self.menus, self.line)
        await self._apply(actions)

    async def adopt(self, connected_leg: str | None = None) -> None:
        """A caller found in the app after a restart: find (or write) its case.

        In the IVR or unknown: ServiceResumed follows (the safe path, to a human). Found
        talking on one of its agency legs (``connected_leg``): it stays connected and is
        followed to its end, which closes the case and files the recording.
        """
        self.adopted_leg = connected_leg  # first: should the records fail, it still is never sent away
        if connected_leg:  # and followed as a conversation, so that the end of its leg is seen whatever fails
            self.states.move(CallState.CONNECTED, f"resumed after restart, talking on leg {connected_leg}")
        self.ticket = await self.store.find_by_channel(self.channel_id) or await self.store.open(
            line=self.line, caller_number=self.caller_number, channel_id=self.channel_id, received_at=utcnow()
        )
        self.states.ticket = self.ticket
        self.notify(live.CallResumed(self.ticket, line=self.line, caller_number=self.caller_number))
        if connected_leg:
            answered = self.store.answered_attempt(self.ticket)
            if answered is not None:  # its end time is written when the conversation ends
                self.attempts[connected_leg] = answered
            await self.store.event(self.ticket, "resumed", {"channel": self.channel_id, "connected_leg": connected_leg})
            return
        self.states.move(CallState.IVR, "resumed after restart")
        await self.store.event(self.ticket, "resumed", {"channel": self.channel_id})

    # -- events --------------------------------------------------------------
    async def handle(self, event: object) -> None:
        if self.finished:
            if isinstance(event, ev.DispatchRequested):
                _refuse(event, 409, f"the call {self.ticket} has ended")
            elif isinstance(event, AgentOffered) and self.agent_work is not None:
                self.agent_work.board.withdraw(event.agent, self.ticket, utcnow(), missed=False)
            return
        leg = getattr(event, "leg", None)
        if isinstance(leg, str) and leg.startswith(OTHER_LEGS) and leg != self.adopted_leg:
            await self._other_leg(event)
        elif isinstance(event, (AgentOffered, NoAgentLeft, QueueTimedOut)):
            await self._queue_event(event)
        elif isinstance(event, ev.DispatchRequested):
            await self._dispatch(event)
        elif isinstance(event, ev.CallerHungUp):
            await self._caller_gone()
        elif isinstance(event, ev.CallerLeftApp):
            if self.states.state is CallState.HANDING_OVER:  # it left before our hand-over worked
                await self._left_while_handing_over()
            elif self.states.state is not CallState.IN_DIALPLAN:  # there, it left because we sent it
                await self._caller_gone()
        elif isinstance(event, ev.HandOverDue):
            if self.states.state is CallState.HANDING_OVER:
                await self._hand_over()
        elif isinstance(event, (ev.DigitPressed, ev.PromptFinished, ev.TimerExpired)):
            await self._input(event)
        elif isinstance(event, ev.LegRinging):
            await self._leg_ringing(event.leg)
        elif isinstance(event, ev.LegAnswered):
            await self._decide(self.forwarding.answered(event.leg) if self.forwarding else [])
        elif isinstance(event, ev.LegEnded):
            await self._leg_ended(event.leg, _outcome(event.cause))
        elif isinstance(event, ev.LegFailedToStart):
            await self._leg_ended(event.leg, "failed", event.reason)
        elif isinstance(event, ev.ServiceStopping):
            await self._stopping()
        elif isinstance(event, ev.ServiceResumed):
            await self._resumed()
        else:
            raise TypeError(f"unknown call event {event!r}")

    async def _other_leg(self, event: object) -> None:
        """A call-taker's phone or a dispatched unit (queueing.py)."""
        leg: str = event.leg  # type: ignore[attr-defined]
        agent = leg.startswith(AGENT_LEG)
        if not agent and leg not in self.unit_legs:
            return  # not ours (any more)
        if isinstance(event, ev.LegAnswered):
            await (self._agent_answered(leg) if agent else self._unit_answered(leg))
        elif isinstance(event, ev.LegRinging):
            if not agent:
                await self._unit_ringing(leg)
        elif isinstance(event, (ev.LegEnded, ev.LegFailedToStart)):
            outcome = _outcome(event.cause) if isinstance(event, ev.LegEnded) else "failed"
            cause = event.cause if isinstance(event, ev.LegEnded) else 0
            await (self._agent_leg_ended(leg, outcome, cause) if agent else self._unit_leg_ended(leg, outcome, cause))

    async def _input(self, event: ev.DigitPressed | ev.PromptFinished | ev.TimerExpired) -> None:
        if self.states.state is CallState.IVR and self.ivr is not None:
            before = getattr(self.ivr, "menu", None)
            self.ivr, actions = engine.handle(self.menus, self.ivr, event)
            after = getattr(self.ivr, "menu", None)
            if before != after and after is not None:
                self.states.note(f"menu {before} -> {after}")
            await self._apply(actions)
        elif isinstance(event, ev.PromptFinished) and event.token in (HOLD, REASSURE):
            await self._hold_finished(event.token)
        elif isinstance(event, ev.PromptFinished) and event.token == CONNECTING:
            self.connecting_prompt = False
            if self.states.state is CallState.FORWARDING:
                self.ringback = True
                await self.port.start_ringback()

    async def _apply(self, actions: list) -> None:
        # Choices are recorded once this batch's prompt has started (a Forward records them
        # before its own records): the caller's next prompt must not wait for the disk.
        chosen: list[act.Select] = []
        try:
            for a in actions:
                if isinstance(a, act.Play):
                    await self.port.play(a.prompt, a.language, a.token)
                elif isinstance(a, act.StopPlayback):
                    await self.port.stop_playback(a.token)
                elif isinstance(a, act.StartTimer):
                    loop = asyncio.get_running_loop()
                    self.timers[a.token] = loop.call_later(a.seconds, self.post, ev.TimerExpired(a.token))
                elif isinstance(a, act.CancelTimer):
                    handle = self.timers.pop(a.token, None)
                    if handle:
                        handle.cancel()
                elif isinstance(a, act.Select):
                    self.selections[a.field] = a.value
                    self.states.note(f"select {a.field}={a.value}")
                    self.notify(live.IvrChoiceMade(self.ticket, field=a.field, value=a.value))
                    chosen.append(a)
                elif isinstance(a, act.Forward):
                    await self._forward(a, chosen)
                elif isinstance(a, act.EndIvr):
                    pass  # the hang-up path that produced it does the unwinding
                else:
                    raise TypeError(f"unknown IVR action {a!r}")
        finally:  # recorded even when the prompt could not be played (the caller hung up)
            await self._record_choices(chosen)

    async def _record_choices(self, chosen: list) -> None:
        """The choices made, in one journal write."""
        ops = self._choice_ops(chosen)
        if ops:
            await self.store.write(*ops)

    def _choice_ops(self, chosen: list) -> list[dict]:
        """The ops recording ``chosen`` (emptied): stamped now, before any op that follows them."""
        ops = [
            op
            for a in chosen
            for op in (
                self.store.update_op(self.ticket, **{a.field: a.value}),
                self.store.event_op(self.ticket, "ivr.select", {a.field: a.value}),
            )
        ]
        chosen.clear()
        return ops


def _refuse(request: ev.DispatchRequested, status: int, detail: str) -> None:
    reply: asyncio.Future = request.reply  # type: ignore[assignment]
    if not reply.done():
        reply.set_exception(ev.DispatchRefused(status, detail))
