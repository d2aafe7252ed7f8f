"""Units brought into a call-taker's call: dispatch by conference or transfer, and the parties' ends.

Principle: a dispatched unit rings as its own leg (an attempt of the case) and joins the caller's bridge
when it answers (``conference``: caller, agent and unit; ``transfer``: the agent's leg is hung up then).
Nobody left with the caller ends the call after a normal hang-up, and sends the caller to the fallback
route otherwise. Part of ``CallFlow`` (a mixin: it uses the flow's state and port).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from app.clock import utcnow
from app.live import events as live
from ivr.calls import events as ev
from ivr.calls.base import NORMAL_CLEARING, UNIT_LEG, FlowBase, UnitLeg
from ivr.calls.states import CallState

log = logging.getLogger("siaga.call")

MODES = ("conference", "transfer")


class Dispatching(FlowBase):
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
        try:
            await self.port.dial(leg, unit.dial, unit.ring_timeout, self.caller_id)
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
                self._agent_done(now, goes_on=True)
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

    async def _recheck_legs(self) -> None:
        """After a reconnect: the legs of this conversation that Asterisk no longer has end now (their
        ChannelDestroyed may have been lost while the websocket was down)."""
        winner = self.forwarding.winner.id if self.forwarding and self.forwarding.winner else None
        legs = [leg for leg in (self.agent_leg, winner, self.adopted_leg) if leg]
        legs += [leg for leg, u in self.unit_legs.items() if u.state != "ended"]
        for leg in sorted(await self.port.gone(legs)):
            self.states.note(f"leg {leg} gone while events were lost")
            self.post(ev.LegEnded(leg, NORMAL_CLEARING, "gone after a reconnect"))

    async def _release_units(self, now: datetime) -> None:
        """Units ringing or talking for this call: hung up, their attempts ended."""
        for leg, u in self.unit_legs.items():
            if u.state == "ended":
                continue
            await self._safely(self.port.hangup_leg(leg))
            fields = {"outcome": "cancelled", "ended_at": now} if u.state == "ringing" else {"ended_at": now}
            u.state = "ended"
            await self._safely(self.store.update_attempt(u.attempt, **fields))
