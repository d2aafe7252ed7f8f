"""How a call flow ends: hang-ups, the fallback route, and errors.

Principle: every outcome ends in exactly one place: ``_finish`` (the case is
closed) or ``_to_fallback`` (the dialplan's humans take the caller). Records
never stand in the way of a caller reaching a human.
Part of ``CallFlow`` (a mixin: it uses the flow's state and port).
"""

from __future__ import annotations

import asyncio
import logging

from app.clock import utcnow
from app.live import events as live
from ivr.calls import events as ev
from ivr.calls.port import CallerGone
from ivr.calls.recordings import file_recording
from ivr.calls.states import CallState
from ivr.engine import engine

log = logging.getLogger("siaga.call")


class Endings:
    async def _caller_gone(self) -> None:
        state = self.states.state
        disposition = "fallback" if state is CallState.FALLBACK else _abandoned(state)
        if state in (CallState.RECEIVED, CallState.IVR) and self.ivr is not None:
            self.ivr, _ = engine.handle(self.menus, self.ivr, ev.CallerHungUp())
        self.states.note("caller hung up")
        await self._finish(disposition, caller_gone=True)

    async def _finish(self, disposition: str, caller_gone: bool = False) -> None:
        self._cancel_timers()
        try:
            for leg in self.forwarding.live_legs() if self.forwarding else []:
                if leg is not self.forwarding.winner:
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
        if self.ticket is None:  # no case to file it under: it stays in Asterisk's recordings
            return
        data = await self._safely(self.port.save_recording())
        if not data:
            log.warning("%s no recording could be saved", self.ticket)
            return
        self.recording = await file_recording(self.store, self.recordings_dir, self.ticket, data)

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
        self.states.move(CallState.FALLBACK, why)
        self.notify(live.CallFellBack(self.ticket, why=why))
        # The records must not stop the transfer: once in FALLBACK, fail_safe does not try again,
        # and with no case at all (the database refused it) the caller still needs a human.
        await self._safely(self._write_fallback(why))
        await self._hand_to_dialplan()

    async def _write_fallback(self, why: str) -> None:
        await self.store.write(
            self.store.update_op(self.ticket, status="fallback", disposition="fallback"),
            self.store.event_op(self.ticket, "fallback", {"why": why}),
        )

    async def _hand_to_dialplan(self) -> None:
        """Continue the caller in the dialplan fallback route; a few tries, then again on reconnect."""
        for attempt in range(3):
            try:
                await self.port.to_fallback(self.line)
                self.in_dialplan = True
                return
            except CallerGone:
                self.states.note("caller already gone")
                await self._finish(_abandoned(self.before_fallback), caller_gone=True)
                return
            except Exception as exc:
                log.error("%s fallback route not reached (try %d): %s", self.ticket, attempt + 1, exc)
                await asyncio.sleep(0.2 * (attempt + 1))
        log.critical("%s caller could not be handed to the fallback route; retrying after reconnect", self.ticket)

    async def fail_safe(self, exc: BaseException) -> None:
        """Something broke inside this call: log it, and make sure a human still answers."""
        log.exception("%s error in state %s: %s", self.ticket or self.channel_id, self.states.state.name, exc)
        if self.states.state in (CallState.ENDED, CallState.FALLBACK, CallState.CONNECTED):
            return
        try:
            if self.forwarding:
                for leg in self.forwarding.live_legs():
                    leg.state = "ended"
                    await self._safely(self.port.hangup_leg(leg.id))
            await self._safely(self.store.event(self.ticket, "error", {"error": repr(exc)})) if self.ticket else None
            await self._to_fallback(f"error: {type(exc).__name__}")
        except Exception:
            log.critical("%s could not reach the fallback route", self.ticket or self.channel_id, exc_info=True)

    async def _stopping(self) -> None:
        """Shutting down: nobody will drive this call any more, so a human must take it now."""
        if self.states.state in (CallState.RECEIVED, CallState.IVR, CallState.FORWARDING):
            for leg in self.forwarding.live_legs() if self.forwarding else []:
                leg.state = "ended"
                await self._cancel_leg(leg.id)
            await self._to_fallback("call service stopping")

    async def _resumed(self) -> None:
        """Back after an ARI reconnect: events may have been missed; take the safe path."""
        if self.states.state in (CallState.RECEIVED, CallState.IVR):
            await self._to_fallback("service reconnected mid-IVR")
        elif self.states.state is CallState.FALLBACK and not self.in_dialplan:
            await self._hand_to_dialplan()

    def _cancel_timers(self) -> None:
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()

    async def _safely(self, coro):
        try:
            return await coro
        except Exception as exc:
            log.info("%s %s", self.ticket, exc)
            return None


def _abandoned(state: CallState) -> str:
    """The disposition of a call whose caller hung up in ``state``."""
    if state is CallState.CONNECTED:
        return "completed"
    if state is CallState.FORWARDING:
        return "abandoned-while-forwarding"
    return "abandoned-in-ivr"
