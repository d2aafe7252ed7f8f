"""How a call flow ends: hang-ups, the fallback route, and errors.

Principle: every outcome ends in exactly one place: ``_finish`` (the case is
closed) or ``_to_fallback`` (the dialplan's humans take the caller: HANDING_OVER,
retried on a timer until the route has the caller, then IN_DIALPLAN until the
caller hangs up). Records never stand in the way of a caller reaching a human.
Part of ``CallFlow`` (a mixin: it uses the flow's state and port).
"""

from __future__ import annotations

import asyncio
import logging

from app.clock import utcnow
from app.live import events as live
from ivr.calls import events as ev
from ivr.calls.base import FlowBase
from ivr.calls.connecting import CONNECTING
from ivr.calls.handover import retry_delay
from ivr.calls.port import CallerGone
from ivr.calls.recordings import file_recording
from ivr.calls.states import WAITING_FOR_A_HUMAN, CallState
from ivr.engine import engine

log = logging.getLogger("siaga.call")

HAND_OVER = "hand-over"  # the timer of the next hand-over try


class Endings(FlowBase):
    async def _caller_gone(self) -> None:
        state = self.states.state
        if state is CallState.IN_DIALPLAN:
            disposition = "fallback"
        else:  # never handed over: gone before any human answered
            disposition = _abandoned(self.before_fallback if state is CallState.HANDING_OVER else state)
        if state in (CallState.RECEIVED, CallState.IVR) and self.ivr is not None:
            self.ivr, _ = engine.handle(self.menus, self.ivr, ev.CallerHungUp())
        self.states.note("caller hung up")
        await self._finish(disposition, caller_gone=True)

    async def _finish(self, disposition: str, caller_gone: bool = False) -> None:
        self._cancel_timers()
        self.waiting.done(self.channel_id)
        try:
            await self._safely(self._release_agent_work("caller hung up" if caller_gone else disposition))
            winner = self.forwarding.winner if self.forwarding else None
            for leg in self.forwarding.live_legs() if self.forwarding else []:
                if leg is not winner:
                    leg.state = "ended"
                    await self._cancel_leg(leg.id)
                else:
                    await self._safely(self.port.hangup_leg(leg.id))
                    await self._safely(self.store.update_attempt(self.attempts[leg.id], ended_at=utcnow()))
            if self.adopted_leg:  # talking when the service restarted: the agency line goes too
                await self._safely(self.port.hangup_leg(self.adopted_leg))
                if self.adopted_leg in self.attempts:
                    await self._safely(self.store.update_attempt(self.attempts[self.adopted_leg], ended_at=utcnow()))
            if not caller_gone:
                await self._safely(self.port.hangup_caller())
            if not self.ticket:  # the case could not be opened: nothing to close or file it under
                log.error("call on channel %s ended (%s) without a case", self.channel_id, disposition)
                return
            await self._safely(self._save_recording())
            await self.store.write(
                self.store.update_op(self.ticket, status="ended", disposition=disposition, ended_at=utcnow()),
                self.store.event_op(self.ticket, "ended", {"disposition": disposition}),
            )
        finally:
            # Even when a record failed (fail_safe logs it), the call is over: its worker must
            # stop, and fail_safe must not send a caller who has gone to the fallback route.
            self.states.move(CallState.ENDED, disposition)
            self.notify(live.CallEnded(self.ticket, disposition=disposition))

    async def _save_recording(self) -> None:
        async def keep(data: bytes) -> str | None:
            self.recording = await file_recording(self.store, self.recordings_dir, self.ticket, data)
            return self.recording

        if not await self._safely(self.port.save_recording(keep)):
            log.warning("%s no recording could be saved", self.ticket)

    # -- the fallback route ----------------------------------------------------------
    async def _to_fallback(self, why: str) -> None:
        if self.adopted_leg:  # found talking to an agency after a restart: never pull it out of that
            log.warning(
                "%s not sent to the fallback route (%s): it is talking on leg %s",
                self.ticket or self.channel_id,
                why,
                self.adopted_leg,
            )
            return
        self._cancel_timers()
        self.before_fallback = self.states.state
        self.states.move(CallState.HANDING_OVER, why)
        self.waiting.started(self.channel_id)
        self.notify(live.CallFellBack(self.ticket, why=why))
        await self._silence()
        await self._safely(self._release_agent_work(why))
        # The records must not stop the transfer: the caller needs a human even with no case at all.
        if self.ticket:
            await self._safely(self._write_fallback(why))
        await self._hand_over()

    async def _silence(self) -> None:
        """Stop what plays to the caller: Asterisk runs a continue only once the playing prompt has ended."""
        playing = self.ivr.playing if self.ivr is not None else None
        if playing:
            await self._safely(self.port.stop_playback(playing))
        if self.connecting_prompt:
            await self._safely(self.port.stop_playback(CONNECTING))
        if self.ringback:
            await self._safely(self.port.stop_ringback())
        self.connecting_prompt = self.ringback = False
        await self._stop_hold()

    async def _write_fallback(self, why: str) -> None:
        await self.store.write(
            self.store.update_op(self.ticket, status="fallback", disposition="fallback"),
            self.store.event_op(self.ticket, "fallback", {"why": why}),
        )

    async def _left_while_handing_over(self) -> None:
        """The caller left the app on its own while we were handing it over: hung up, or taken to the
        fallback route by the watchdog (or by a continue of ours whose answer was lost)."""
        if await self._safely(self.port.in_fallback_route()):
            self._cancel_timer(HAND_OVER)
            self.waiting.done(self.channel_id)
            self.states.move(CallState.IN_DIALPLAN, "in the fallback route, taken there by another")
            return
        # Gone, or ARI cannot say: closed as abandoned; the fallback journal's lines correct it if it was there.
        await self._finish(_abandoned(self.before_fallback), caller_gone=True)

    async def _hand_over(self) -> None:
        """One try at continuing the caller in the fallback route; on failure the next try is timed."""
        self._cancel_timer(HAND_OVER)  # fired (this try), or overtaken by a reconnect or a stop
        self.handover_tries += 1
        try:
            await self.port.to_fallback(self.line)
        except CallerGone:
            self.states.note("caller already gone")
            await self._finish(_abandoned(self.before_fallback), caller_gone=True)
            return
        except Exception as exc:
            delay = retry_delay(self.handover_tries)
            level = logging.ERROR if self.handover_tries < 5 else logging.CRITICAL
            log.log(
                level,
                "%s fallback route not reached (try %d, waiting %.1f s): %s; trying again in %.1f s",
                self.ticket or self.channel_id,
                self.handover_tries,
                self.waiting.oldest_seconds(),
                exc,
                delay,
            )
            self._start_timer(HAND_OVER, delay, ev.HandOverDue())
            return
        self.waiting.done(self.channel_id)
        self.states.move(CallState.IN_DIALPLAN, f"in the fallback route (try {self.handover_tries})")

    async def fail_safe(self, exc: BaseException) -> None:
        """Something broke inside this call: log it, and make sure a human still answers."""
        log.error("%s error in state %s: %r", self.ticket or self.channel_id, self.states.state.name, exc, exc_info=exc)
        if self.states.state not in (CallState.RECEIVED, CallState.IVR, CallState.QUEUED, CallState.FORWARDING):
            return  # talking, being handed over (its timer tries again), or with the fallback route's humans
        try:
            if self.forwarding:
                for leg in self.forwarding.live_legs():
                    leg.state = "ended"
                    await self._safely(self.port.hangup_leg(leg.id))
            if self.ticket:
                await self._safely(self.store.event(self.ticket, "error", {"error": repr(exc)}))
            await self._to_fallback(f"error: {type(exc).__name__}")
        except Exception:
            log.critical("%s could not reach the fallback route", self.ticket or self.channel_id, exc_info=True)

    async def _stopping(self) -> None:
        """Shutting down: nobody will drive this call any more, so a human must take it now."""
        if self.states.state is CallState.HANDING_OVER:
            await self._hand_over()  # now: not waiting for the timer
        elif self.states.state in WAITING_FOR_A_HUMAN:
            for leg in self.forwarding.live_legs() if self.forwarding else []:
                leg.state = "ended"
                await self._cancel_leg(leg.id)
            await self._to_fallback("call service stopping")

    async def _resumed(self) -> None:
        """Back after an ARI reconnect: events may have been missed; take the safe path."""
        if self.states.state in (CallState.RECEIVED, CallState.IVR):
            await self._to_fallback("service reconnected mid-IVR")
        elif self.states.state is CallState.QUEUED:  # an agent's answer may have been missed
            await self._to_fallback("service reconnected while the caller waited for a call-taker")
        elif self.states.state is CallState.HANDING_OVER:
            await self._hand_over()  # now: not waiting for the timer
        elif self.states.state is CallState.CONNECTED:  # a party may have hung up while events were lost
            await self._recheck_legs()

    # -- timers ----------------------------------------------------------------------
    def _start_timer(self, token: str, seconds: float, event: object) -> None:
        self._cancel_timer(token)
        self.timers[token] = asyncio.get_running_loop().call_later(seconds, self.post, event)

    def _cancel_timer(self, token: str) -> None:
        handle = self.timers.pop(token, None)
        if handle:
            handle.cancel()

    def _cancel_timers(self) -> None:
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()

    async def _record(self, *ops: dict) -> None:
        """Records of what already happened: a failure is logged and never stops the call's handling."""
        try:
            await self.store.write(*ops)
        except Exception as exc:
            log.error("%s case records not written (%s): %s", self.ticket, ", ".join(op["op"] for op in ops), exc)

    async def _safely(self, coro):
        try:
            return await coro
        except Exception as exc:
            log.info("%s %s", self.ticket or self.channel_id, exc)
            return None


def _abandoned(state: CallState) -> str:
    """The disposition of a call whose caller hung up in ``state``."""
    if state is CallState.CONNECTED:
        return "completed"
    if state is CallState.FORWARDING:
        return "abandoned-while-forwarding"
    if state is CallState.QUEUED:
        return "abandoned-in-queue"
    return "abandoned-in-ivr"
