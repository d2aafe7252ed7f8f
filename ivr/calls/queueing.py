"""Call-takers in a call: the caller waits in the queue, an agent answers, the agent dispatches units.

Principle: the queue (``ivr/agents``) decides who rings; these steps ring the agent's phones,
bridge the caller with the one who answers, and bring units into that bridge (``conference``:
caller, agent and unit; ``transfer``: the agent leaves once the unit answered). A caller never
waits without bound: ``queue.max_wait_seconds`` or no agent left, and the call goes on as
direct (``_forward``), the unit from the IVR's answers, then the fallback group. Part of
``CallFlow`` (a mixin: it uses the flow's state and port).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from app.clock import utcnow
from app.directory.routing import policy
from app.directory.schema import Unit
from app.live import events as live
from ivr.agents.queue import AgentOffered, NoAgentLeft, Waiting
from ivr.agents.work import AgentWork
from ivr.calls import events as ev
from ivr.calls.base import FlowBase
from ivr.calls.casestore import AttemptKey
from ivr.calls.states import CallState
from ivr.engine import actions as act

log = logging.getLogger("siaga.call")

HOLD, REASSURE = "hold", "reassure"  # tokens of the hold messages (alternating, so each id is free again)
HOLD_TOKENS = (HOLD, REASSURE)
AGENT_LEG, UNIT_LEG = "ag", "un"  # leg ids: ag1 (an agent's phone), un2 (a dispatched unit); forwarding's are leg1
OTHER_LEGS = (AGENT_LEG, UNIT_LEG)
NORMAL_CLEARING = 16
MODES = ("conference", "transfer")


@dataclass(frozen=True)
class QueueTimedOut:
    """The caller waited ``queue.max_wait_seconds`` for a call-taker."""


@dataclass
class UnitLeg:
    unit: Unit
    mode: str
    by: str
    attempt: AttemptKey
    state: str = "ringing"  # ringing, answered, ended


class Queueing(FlowBase):
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

    def _wants_agents(self, fwd: act.Forward) -> bool:
        return self.agent_work is not None and policy(self.directory, self.line, fwd.category) == "agents"

    # -- waiting -----------------------------------------------------------------------
    async def _queue(self, fwd: act.Forward, chosen: list) -> bool:
        """Put the caller in the queue; False when no agent is available now (the caller goes on as direct)."""
        work = self.agent_work
        assert work is not None
        if not work.queue.can_take():
            self.states.note("no call-taker available: direct")
            return False
        now = utcnow()
        self._cancel_timers()
        self.queued, self.silent = fwd, fwd.reason == "no-input"
        category = self.selections.get("category", fwd.category)
        district = self.selections.get("district", fwd.district)
        silent = " (silent caller)" if self.silent else ""
        self.states.move(CallState.QUEUED, f"ivr {fwd.reason}: {category}/{district}, waiting for a call-taker{silent}")
        try:
            self.hold = HOLD
            await self.port.play("queue-hold", fwd.language, HOLD)
        finally:
            await self.store.write(
                *self._choice_ops(chosen),
                self.store.update_op(
                    self.ticket,
                    status="queued",
                    ivr_completed_at=now,
                    ivr_end_reason=fwd.reason,
                    language=fwd.language,
                    category=category,
                    district=district,
                    silent=self.silent,
                ),
                self.store.event_op(self.ticket, "queued", {"reason": fwd.reason, "silent": self.silent}),
            )
        self._start_timer("max-wait", work.settings.max_wait_seconds, QueueTimedOut())
        work.queue.join(Waiting(self.ticket, self.line, fwd.language, self.received_at, self.post))
        return True

    async def _hold_finished(self, token: str) -> None:
        """The hold message ended: reassure the caller, again and again, while nobody has answered."""
        if self.hold != token or self.states.state is not CallState.QUEUED:
            return
        self.hold = REASSURE if token == HOLD else HOLD
        await self.port.play("queue-reassure", self.selections.get("language", "id"), self.hold)

    async def _stop_hold(self) -> None:
        if self.hold:
            token, self.hold = self.hold, None
            await self._safely(self.port.stop_playback(token))

    async def _queue_event(self, event: object) -> None:
        if isinstance(event, AgentOffered):
            await self._offered(event.agent)
        elif isinstance(event, NoAgentLeft):
            await self._go_direct(event.why)
        elif isinstance(event, QueueTimedOut):
            await self._go_direct("no call-taker answered in time")

    async def _go_direct(self, why: str) -> None:
        if self.states.state is not CallState.QUEUED or self.queued is None:
            return
        self.states.note(why)
        await self._release_agent_work(f"went on as direct: {why}")
        await self._stop_hold()
        await self.store.event(self.ticket, "queue.left", {"why": why})
        await self._forward(self.queued, direct=True)

    # -- an agent's phones ring ----------------------------------------------------------
    async def _offered(self, name: str) -> None:
        work = self.agent_work
        assert work is not None
        if self.states.state is not CallState.QUEUED:
            work.board.withdraw(name, self.ticket, utcnow(), missed=False)
            return
        phones = work.phones_of(name)
        if not phones:  # its phones went offline since it was picked
            work.queue.missed(self.ticket, name, utcnow())
            return
        self.offer_agent, self.offer_legs = name, {}
        caller_id = f'"{self.line} {self.ticket}" <{self.caller_number}>'
        kinds = ", ".join(kind for kind, _ in phones)
        self.states.note(f"offer to {name} ({kinds}, {work.settings.ring_seconds}s)")
        work.tell(self._offer_message(name))
        for kind, dial in phones:
            self._seq += 1
            leg = f"{AGENT_LEG}{self._seq}"
            self.offer_legs[leg] = kind
            try:
                await self.port.dial_agent(leg, dial, work.settings.ring_seconds, caller_id)
            except Exception as exc:
                log.warning("%s ringing %s on %s failed at once: %s", self.ticket, name, dial, exc)
                self.post(ev.LegFailedToStart(leg, str(exc)))
        await self.store.event(self.ticket, "agent.offered", {"agent": name, "phones": [k for k, _ in phones]})

    def _offer_message(self, name: str) -> dict:
        fwd = self.queued
        return {
            "type": "offer",
            "agent": name,
            "ticket": self.ticket,
            "line": self.line,
            "caller_number": self.caller_number,
            "language": self.selections.get("language", "id"),
            "category": self.selections.get("category", fwd.category if fwd else None),
            "district": self.selections.get("district", fwd.district if fwd else None),
            "silent": self.silent,
            "received_at": self.received_at.isoformat().replace("+00:00", "Z"),
        }

    def _is_agent_leg(self, leg: str) -> bool:
        return leg in self.offer_legs or leg == self.agent_leg

    async def _agent_answered(self, leg: str) -> None:
        work = self.agent_work
        assert work is not None
        name, kind = self.offer_agent, self.offer_legs.pop(leg, None)
        if self.states.state is not CallState.QUEUED or kind is None or name is None:
            await self._safely(self.port.hangup_leg(leg))  # too late: the caller went on without this agent
            return
        now = utcnow()
        for other in list(self.offer_legs):  # the agent's other phone
            await self._safely(self.port.hangup_leg(other))
        self.offer_legs, self.offer_agent = {}, None
        self._cancel_timer("max-wait")
        await self._stop_hold()
        try:
            await self.port.connect(leg)
        except Exception:  # the caller goes to the fallback route (fail_safe); the agent's phone is released
            await self._safely(self.port.hangup_leg(leg))
            work.board.withdraw(name, self.ticket, utcnow(), missed=False)
            raise
        self.agent, self.agent_leg = name, leg
        work.queue.answered(self.ticket, name, now)
        self.states.move(CallState.CONNECTED, f"{name} answered ({kind} phone)")
        self.notify(live.CallConnected(self.ticket, unit=name))
        work.tell({"type": "taken", "agent": name, "ticket": self.ticket, "phone": kind})
        await self._record(
            self.store.update_op(self.ticket, status="connected", agent=name, taken_at=now, workflow="taken"),
            self.store.event_op(self.ticket, "agent.answered", {"agent": name, "phone": kind}),
        )

    async def _agent_leg_ended(self, leg: str, outcome: str, cause: int) -> None:
        work = self.agent_work
        assert work is not None
        if leg in self.offer_legs:
            self.offer_legs.pop(leg)
            if self.offer_legs or self.offer_agent is None:
                return  # the agent's other phone still rings
            missed, self.offer_agent = self.offer_agent, None
            if self.states.state is not CallState.QUEUED:
                return
            self.states.note(f"{missed} {outcome}")
            work.tell({"type": "offer.withdrawn", "agent": missed, "ticket": self.ticket, "reason": outcome})
            work.queue.missed(self.ticket, missed, utcnow())
            await self._record(self.store.event_op(self.ticket, "agent.missed", {"agent": missed, "outcome": outcome}))
            return
        if leg != self.agent_leg:
            return  # a phone we released ourselves (the other phone, a late answer, a transfer)
        # The agent left the conversation.
        name, self.agent_leg = self.agent, None
        now = utcnow()
        if name:
            work.board.call_ended(name, self.ticket, now)
            goes_on = any(u.state in ("answered", "ringing") for u in self.unit_legs.values())
            work.tell({"type": "call.ended", "agent": name, "ticket": self.ticket, "call_goes_on": goes_on})
        if any(u.state == "answered" for u in self.unit_legs.values()):
            self.states.note(f"{name} left; the caller and the unit stay connected")
            await self._record(self.store.event_op(self.ticket, "agent.left", {"agent": name, "cause": cause}))
            return
        if any(u.state == "ringing" for u in self.unit_legs.values()):
            # Left right after dispatching (a transfer's natural move): the caller hears ringing and stays
            # for the unit; should it not answer, the fallback route takes the caller.
            self.states.note(f"{name} left while the unit rings; the caller waits for it")
            self.ringback = True
            await self._safely(self.port.start_ringback())
            await self._record(self.store.event_op(self.ticket, "agent.left", {"agent": name, "cause": cause}))
            return
        if cause == NORMAL_CLEARING:
            self.states.note(f"{name} hung up")
            await self._finish("completed")
            return
        self.states.note(f"{name}'s phone dropped (cause {cause})")
        await self._safely(self.store.event(self.ticket, "agent.dropped", {"agent": name, "cause": cause}))
        await self._to_fallback(f"call-taker {name}'s phone dropped")

    # -- dispatch ------------------------------------------------------------------------
    async def _dispatch(self, request: ev.DispatchRequested) -> None:
        reply: asyncio.Future = request.reply  # type: ignore[assignment]
        try:
            result = await self._start_dispatch(request)
        except ev.DispatchRefused as exc:
            if not reply.done():
                reply.set_exception(exc)
            return
        except Exception as exc:
            if not reply.done():
                reply.set_exception(ev.DispatchRefused(502, f"the unit could not be dialled: {exc}"))
            raise
        if not reply.done():
            reply.set_result(result)

    async def _start_dispatch(self, request: ev.DispatchRequested) -> dict:
        state = self.states.state
        if state is not CallState.CONNECTED or not self.agent:
            raise ev.DispatchRefused(409, f"{self.ticket} is not in a conversation with a call-taker ({state.value})")
        if request.role == "agent" and request.by != self.agent:
            raise ev.DispatchRefused(409, f"{self.ticket} is taken by {self.agent}")
        if request.mode not in MODES:
            raise ev.DispatchRefused(422, f"mode must be one of {', '.join(MODES)}")
        unit = next((u for u in self.directory.units if u.id == request.unit), None)
        if unit is None:
            raise ev.DispatchRefused(422, f"no unit {request.unit!r} in the directory")
        ringing = [u.unit.id for u in self.unit_legs.values() if u.state == "ringing"]
        if ringing:
            raise ev.DispatchRefused(409, f"{ringing[0]} is still ringing: wait for its answer")
        if any(u.unit.id == unit.id and u.state == "answered" for u in self.unit_legs.values()):
            raise ev.DispatchRefused(409, f"{unit.id} is already in the call")
        now = utcnow()
        self._seq += 1
        leg = f"{UNIT_LEG}{self._seq}"
        first = not self.unit_legs
        fields = {"dispatched_at": now, "dispatched_unit": unit.id, "workflow": "dispatched"} if first else {}
        try:
            attempt = await self.store.start_attempt(
                self.ticket, unit=unit.id, agency=unit.agency, dial=unit.dial, started_at=now
            )
            await self.store.write(
                *([self.store.update_op(self.ticket, **fields)] if fields else []),
                self.store.event_op(
                    self.ticket, "dispatch.started", {"by": request.by, "unit": unit.id, "mode": request.mode}
                ),
            )
        except Exception as exc:  # nothing rings, nothing is left half-done: the agent may try again
            raise ev.DispatchRefused(503, f"the case log could not be written ({exc}); try again") from exc
        self.unit_legs[leg] = UnitLeg(unit, request.mode, request.by, attempt)
        self.states.note(f"{request.by} dispatches {unit.id} ({request.mode}) via {unit.dial} ({unit.ring_timeout}s)")
        self._tell_dispatch(leg, "ringing")
        caller_id = f'"{self.line} {self.ticket}" <{self.caller_number}>'
        try:
            await self.port.dial(leg, unit.dial, unit.ring_timeout, caller_id)
        except Exception as exc:
            log.warning("%s dispatch to %s failed at once: %s", self.ticket, unit.dial, exc)
            self.post(ev.LegFailedToStart(leg, str(exc)))
        return {"ticket": self.ticket, "unit": unit.id, "mode": request.mode, "state": "ringing"}

    def _tell_dispatch(self, leg: str, state: str) -> None:
        u = self.unit_legs[leg]
        if self.agent_work is not None and self.agent:
            self.agent_work.tell(
                {
                    "type": "dispatch",
                    "agent": self.agent,
                    "ticket": self.ticket,
                    "unit": u.unit.id,
                    "mode": u.mode,
                    "state": state,
                }
            )

    async def _unit_ringing(self, leg: str) -> None:
        await self.store.update_attempt(self.unit_legs[leg].attempt, ringing_at=utcnow())

    async def _unit_answered(self, leg: str) -> None:
        u = self.unit_legs[leg]
        if u.state != "ringing" or self.states.state is not CallState.CONNECTED:
            u.state = "ended"
            await self._safely(self.port.hangup_leg(leg))
            return
        now = utcnow()
        try:
            await self.port.join(leg)
        except Exception as exc:
            log.warning("%s %s answered but could not join the call: %s", self.ticket, u.unit.id, exc)
            u.state = "ended"
            await self._safely(self.port.hangup_leg(leg))
            self._tell_dispatch(leg, "failed")
            await self._record(
                self.store.attempt_update_op(u.attempt, outcome="failed", ended_at=now),
                self.store.event_op(self.ticket, "dispatch.failed", {"unit": u.unit.id, "outcome": "failed"}),
            )
            await self._alone_after_dispatch(NORMAL_CLEARING + 1)
            return
        if self.ringback:
            self.ringback = False
            await self._safely(self.port.stop_ringback())
        u.state = "answered"
        self.states.note(f"{u.unit.id} answered: in the call ({u.mode})")
        self.notify(live.CallConnected(self.ticket, unit=u.unit.id))
        self._tell_dispatch(leg, "answered")
        fields: dict = {"answered_by_unit": u.unit.id}
        if not self.agency_answered:
            self.agency_answered = True
            fields.update(agency_answered_at=now, workflow="agency-answered")
        await self._record(
            self.store.attempt_update_op(u.attempt, outcome="answered", answered_at=now),
            self.store.update_op(self.ticket, **fields),
            self.store.event_op(self.ticket, "dispatch.answered", {"unit": u.unit.id, "mode": u.mode, "by": u.by}),
        )
        if u.mode == "transfer" and self.agent_leg:
            leg_of_agent, self.agent_leg = self.agent_leg, None
            await self._safely(self.port.hangup_leg(leg_of_agent))
            if self.agent and self.agent_work is not None:
                self.agent_work.board.call_ended(self.agent, self.ticket, now)
                self.agent_work.tell(
                    {"type": "call.ended", "agent": self.agent, "ticket": self.ticket, "call_goes_on": True}
                )
            self.states.note(f"{self.agent} transferred the caller to {u.unit.id}")
            await self._record(
                self.store.event_op(self.ticket, "agent.left", {"agent": self.agent, "transfer": u.unit.id})
            )

    async def _unit_leg_ended(self, leg: str, outcome: str, cause: int) -> None:
        u = self.unit_legs[leg]
        if u.state == "ended":
            return
        was, u.state = u.state, "ended"
        now = utcnow()
        if was == "ringing":
            self.states.note(f"{u.unit.id} {outcome}")
            self._tell_dispatch(leg, outcome)
            await self._record(
                self.store.attempt_update_op(u.attempt, outcome=outcome, ended_at=now),
                self.store.event_op(self.ticket, "dispatch.failed", {"unit": u.unit.id, "outcome": outcome}),
            )
        else:
            self.states.note(
                f"{u.unit.id} hung up" if cause == NORMAL_CLEARING else f"{u.unit.id} dropped (cause {cause})"
            )
            await self._record(
                self.store.attempt_update_op(u.attempt, ended_at=now),
                self.store.event_op(self.ticket, "unit.left", {"unit": u.unit.id, "cause": cause}),
            )
        # An answered unit that hung up normally ends the call when nobody else is left; one that rang out,
        # failed or dropped leaves the caller to the fallback route.
        await self._alone_after_dispatch(cause if was == "answered" else NORMAL_CLEARING + 1)

    async def _alone_after_dispatch(self, cause: int) -> None:
        """A unit's leg is gone: with nobody left for the caller (no agent, no unit answered or ringing) the
        call ends when the last party hung up normally, and goes to the fallback route otherwise."""
        if self.agent_leg is not None or self.states.state is not CallState.CONNECTED:
            return
        if any(o.state in ("answered", "ringing") for o in self.unit_legs.values()):
            return
        if cause == NORMAL_CLEARING:
            await self._finish("completed")
        else:
            await self._to_fallback("no one left with the caller: the dispatched unit did not answer")

    async def _record(self, *ops: dict) -> None:
        """Records of what already happened: a failure is logged and never stops the call's handling."""
        try:
            await self.store.write(*ops)
        except Exception as exc:
            log.error("%s case records not written (%s): %s", self.ticket, ", ".join(op["op"] for op in ops), exc)

    async def _recheck_legs(self) -> None:
        """After a reconnect: the legs of this conversation that Asterisk no longer has end now (their
        ChannelDestroyed may have been lost while the websocket was down)."""
        winner = self.forwarding.winner.id if self.forwarding and self.forwarding.winner else None
        legs = [leg for leg in (self.agent_leg, winner, self.adopted_leg) if leg]
        legs += [leg for leg, u in self.unit_legs.items() if u.state != "ended"]
        for leg in sorted(await self.port.gone(legs)):
            self.states.note(f"leg {leg} gone while events were lost")
            self.post(ev.LegEnded(leg, NORMAL_CLEARING, "gone after a reconnect"))

    # -- leaving ---------------------------------------------------------------------------
    async def _release_agent_work(self, why: str = "call ended") -> None:
        """Whatever rings or talks for this call beyond the caller: hung up, the agent freed (wrap-up)."""
        work = self.agent_work
        if work is None:
            return
        now = utcnow()
        for leg in list(self.offer_legs):
            await self._safely(self.port.hangup_leg(leg))
        if self.offer_agent:
            work.tell({"type": "offer.withdrawn", "agent": self.offer_agent, "ticket": self.ticket, "reason": why})
        self.offer_legs, self.offer_agent = {}, None
        work.queue.leave(self.ticket, now)
        if self.agent_leg:
            leg, self.agent_leg = self.agent_leg, None
            await self._safely(self.port.hangup_leg(leg))
        if self.agent:
            work.board.call_ended(self.agent, self.ticket, now)
            work.tell({"type": "call.ended", "agent": self.agent, "ticket": self.ticket})
        for leg, u in self.unit_legs.items():
            if u.state == "ended":
                continue
            await self._safely(self.port.hangup_leg(leg))
            fields = {"outcome": "cancelled", "ended_at": now} if u.state == "ringing" else {"ended_at": now}
            u.state = "ended"
            await self._safely(self.store.update_attempt(u.attempt, **fields))
