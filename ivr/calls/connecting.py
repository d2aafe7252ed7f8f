"""Forwarding steps of a call flow: ring the candidates, connect the first who answers.

Principle: ``Forwarding`` (pure) decides which lines ring; these steps carry
its decisions out through the port and keep the case's attempts in step.
Part of ``CallFlow`` (a mixin: it uses the flow's state and port).
"""

from __future__ import annotations

import logging

from app.clock import utcnow
from app.directory.routing import route
from app.live import events as live
from ivr.calls import events as ev
from ivr.calls.base import FlowBase
from ivr.calls.forwarding import CancelLeg, ConnectLeg, DialLeg, Exhausted, Forwarding
from ivr.calls.states import CallState
from ivr.engine import actions as act

log = logging.getLogger("siaga.call")

CONNECTING = "connecting"  # token of the prompt played while agency lines ring


class Connecting(FlowBase):
    def _wants_agents(self, fwd: act.Forward) -> bool:
        raise NotImplementedError

    async def _queue(self, fwd: act.Forward, chosen: list) -> bool:
        raise NotImplementedError

    async def _forward(self, fwd: act.Forward, chosen: list | None = None, direct: bool = False) -> None:
        """Put the caller through to the route of the IVR's answers; with ``routing: agents`` and an agent
        available the caller waits for a call-taker instead (``_queue``). ``direct``: after the queue."""
        if not direct and self._wants_agents(fwd) and await self._queue(fwd, chosen if chosen is not None else []):
            return
        now = utcnow()
        self._cancel_timers()
        self.states.move(CallState.FORWARDING, f"ivr {fwd.reason}: {fwd.category}/{fwd.district}")
        self.notify(
            live.CallForwarded(
                self.ticket,
                category=self.selections.get("category", fwd.category),
                district=self.selections.get("district", fwd.district),
                language=fwd.language,
                reason=fwd.reason,
            )
        )
        fields = {
            "status": "forwarding",
            "ivr_completed_at": now,
            "forwarded_at": now,
            "ivr_end_reason": fwd.reason,
            "language": fwd.language,
            "category": self.selections.get("category", fwd.category),
            "district": self.selections.get("district", fwd.district),
        }
        if direct:  # the IVR's end was written when the caller joined the queue
            del fields["ivr_completed_at"], fields["ivr_end_reason"]
        candidates = route(self.directory, self.line, fwd.category, fwd.district)
        self.forwarding = Forwarding(candidates)
        prompt = "connecting-operator" if fwd.category == "operator" else "connecting"
        try:
            self.connecting_prompt = True
            await self.port.play(prompt, fwd.language, CONNECTING)
        finally:  # the records follow the prompt (written even if it failed), in the order things happened
            choices = self._choice_ops(chosen or [])
            completed = (
                []
                if direct
                else [self.store.event_op(self.ticket, "ivr.completed", {"reason": fwd.reason, "route": fwd.category})]
            )
            await self.store.write(*choices, self.store.update_op(self.ticket, **fields), *completed)
        await self._decide(self.forwarding.start())

    async def _decide(self, decisions: list) -> None:
        for d in decisions:
            if isinstance(d, DialLeg):
                await self._dial(d.leg)
            elif isinstance(d, CancelLeg):
                await self._cancel_leg(d.leg.id)
            elif isinstance(d, ConnectLeg):
                await self._connect(d.leg)
            elif isinstance(d, Exhausted):
                await self._to_fallback("no agency line answered")

    async def _dial(self, leg) -> None:
        c = leg.candidate
        self.attempts[leg.id] = await self.store.start_attempt(
            self.ticket, unit=c.id, agency=c.agency, dial=leg.dial, started_at=utcnow()
        )
        self.states.note(f"dial {c.id} via {leg.dial} ({c.ring_timeout}s)")
        try:
            await self.port.dial(leg.id, leg.dial, c.ring_timeout, self.caller_id)
        except Exception as exc:  # a dial string that fails at once: try the next line
            log.warning("%s dial %s failed at once: %s", self.ticket, leg.dial, exc)
            self.post(ev.LegFailedToStart(leg.id, str(exc)))

    async def _leg_ringing(self, leg_id: str) -> None:
        if self.forwarding is None or leg_id not in self.attempts:
            return
        self.forwarding.ringing(leg_id)
        self.notify(live.AgencyRinging(self.ticket, unit=self.forwarding.legs[leg_id].candidate.id))
        await self.store.update_attempt(self.attempts[leg_id], ringing_at=utcnow())

    async def _leg_ended(self, leg_id: str, outcome: str, reason: str = "") -> None:
        if leg_id == self.adopted_leg and self.states.state is CallState.CONNECTED:
            self.states.note(f"agency leg {leg_id} hung up")
            await self._finish("completed")
            return
        if self.forwarding is None or leg_id not in self.forwarding.legs:
            return
        leg = self.forwarding.legs[leg_id]
        if leg is self.forwarding.winner and self.states.state is CallState.CONNECTED:
            self.states.note(f"{leg.candidate.id} hung up")
            await self._finish("completed")
            return
        if leg.state == "ended":
            return  # a leg we cancelled ourselves
        self.states.note(f"{leg.candidate.id} {outcome}{': ' + reason if reason else ''}")
        self.notify(live.AgencyMissed(self.ticket, unit=leg.candidate.id, outcome=outcome))
        await self.store.write(
            self.store.attempt_update_op(self.attempts[leg_id], outcome=outcome, ended_at=utcnow()),
            self.store.event_op(self.ticket, "attempt.failed", {"unit": leg.candidate.id, "outcome": outcome}),
        )
        await self._decide(self.forwarding.ended(leg_id))

    async def _cancel_leg(self, leg_id: str) -> None:
        try:
            await self.port.hangup_leg(leg_id)
        except Exception as exc:
            log.info("%s cancel %s: %s", self.ticket, leg_id, exc)
        if leg_id in self.attempts:  # a record: failing to write it must not keep other lines ringing
            record = self.store.update_attempt(self.attempts[leg_id], outcome="cancelled", ended_at=utcnow())
            await self._safely(record)

    async def _connect(self, leg) -> None:
        now = utcnow()
        if self.connecting_prompt:  # the agency answered during the prompt
            await self.port.stop_playback(CONNECTING)
        if self.ringback:
            await self.port.stop_ringback()
        self.connecting_prompt = self.ringback = False
        await self.port.connect(leg.id)
        self.states.move(CallState.CONNECTED, f"{leg.candidate.id} answered")
        self.notify(live.CallConnected(self.ticket, unit=leg.candidate.id))
        await self.store.write(
            self.store.attempt_update_op(self.attempts[leg.id], outcome="answered", answered_at=now),
            self.store.update_op(
                self.ticket,
                status="connected",
                agency_answered_at=now,
                answered_by_unit=leg.candidate.id,
                workflow="agency-answered",  # put through directly: no call-taker step
            ),
            self.store.event_op(self.ticket, "attempt.answered", {"unit": leg.candidate.id, "dial": leg.dial}),
        )


def _outcome(cause: int) -> str:
    """Q.850 cause of a leg that ended before it was answered (one of the case log's OUTCOMES)."""
    if cause in (17, 21):  # busy, or declined (call rejected): either way the unit did not take it
        return "busy"
    if cause in (18, 19, 0, 16):
        return "no-answer"
    return "failed"
