"""Call-takers in a call: the caller waits in the queue and an agent answers (``dispatching.py``: units).

Principle: the queue (``ivr/agents``) decides who rings; these steps ring the agent's phones and
bridge the caller with the one who answers. A caller never
waits without bound: ``queue.max_wait_seconds`` or no agent left, and the call goes on as
direct (``_forward``), the unit from the IVR's answers, then the fallback group. Part of
``CallFlow`` (a mixin: it uses the flow's state and port).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from app.clock import utcnow
from app.directory.routing import policy
from app.live import events as live
from ivr.agents.queue import AgentOffered, NoAgentLeft, Waiting
from ivr.calls import events as ev
from ivr.calls.base import AGENT_LEG, NORMAL_CLEARING, OTHER_LEGS, UNIT_LEG, FlowBase

__all__ = ["AGENT_LEG", "HOLD_TOKENS", "OTHER_LEGS", "UNIT_LEG", "QueueTimedOut", "Queueing"]
from ivr.calls.states import CallState
from ivr.engine import actions as act

log = logging.getLogger("siaga.call")

HOLD, REASSURE = "hold", "reassure"  # tokens of the hold messages (alternating, so each id is free again)
HOLD_TOKENS = (HOLD, REASSURE)


@dataclass(frozen=True)
class QueueTimedOut:
    """The caller waited ``queue.max_wait_seconds`` for a call-taker."""


class Queueing(FlowBase):
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
        kinds = ", ".join(kind for kind, _ in phones)
        self.states.note(f"offer to {name} ({kinds}, {work.settings.ring_seconds}s)")
        work.tell(self._offer_message(name))
        for kind, dial in phones:
            self._seq += 1
            leg = f"{AGENT_LEG}{self._seq}"
            self.offer_legs[leg] = kind
            try:
                await self.port.dial_agent(leg, dial, work.settings.ring_seconds, self.caller_id)
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
            self._agent_done(now, goes_on=any(u.state in ("answered", "ringing") for u in self.unit_legs.values()))
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

    # -- leaving ---------------------------------------------------------------------------
    def _agent_done(self, now: datetime, *, goes_on: bool) -> None:
        """The call-taker's part of the call ended (wrap-up starts); ``goes_on``: the caller stays with a unit."""
        assert self.agent_work is not None and self.agent is not None
        self.agent_work.board.call_ended(self.agent, self.ticket, now)
        self.agent_work.tell(
            {"type": "call.ended", "agent": self.agent, "ticket": self.ticket, "call_goes_on": goes_on}
        )

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
            self._agent_done(now, goes_on=False)
        await self._release_units(now)
