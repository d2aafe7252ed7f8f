"""One call's flow: case first, IVR, forwarding, connection, hang-up.

Principle: the flow reacts to typed events one at a time (its worker feeds
them in order) and never speaks a protocol: it asks the port. The case row is
written before anything else happens, and every outcome, including errors and
hang-ups, ends in exactly one place (``_finish``) or in the dialplan
fallback (``_to_fallback``), so a 112 caller is never simply dropped.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Callable

from app.clock import utcnow
from app.directory.routing import route
from app.directory.schema import Directory
from app.live import events as live
from ivr.calls import events as ev
from ivr.calls.casestore import AttemptKey, CaseStore
from ivr.calls.forwarding import CancelLeg, ConnectLeg, DialLeg, Exhausted, Forwarding
from ivr.calls.port import CallControl, CallerGone
from ivr.calls.states import CallState, CallStates
from ivr.engine import actions as act
from ivr.engine import engine

log = logging.getLogger("siaga.call")

CONNECTING = "connecting"  # token of the prompt played while agency lines ring


class CallFlow:
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
        self.in_dialplan = False  # handed to the dialplan fallback route
        self.before_fallback = CallState.RECEIVED

    @property
    def finished(self) -> bool:
        return self.states.state in (CallState.ENDED,)

    @property
    def language(self) -> str:
        return self.selections.get("language", "id")

    # -- arrival -------------------------------------------------------------
    async def start(self) -> None:
        self.ticket = await self.store.open(
            line=self.line, caller_number=self.caller_number, channel_id=self.channel_id, received_at=utcnow()
        )
        self.states = CallStates(self.ticket)
        log.info("%s received on line %s from %s (channel %s)", self.ticket, self.line, self.caller_number, self.channel_id)
        self.notify(live.CallReceived(self.ticket, line=self.line, caller_number=self.caller_number))
        await self.port.answer()
        self.states.move(CallState.IVR, "answered")
        self.ivr, actions = engine.start(self.menus, self.line)
        await self._apply(actions)

    async def adopt(self) -> None:
        """A caller found in the app after a restart: find (or write) its case; ServiceResumed follows."""
        self.ticket = await self.store.find_by_channel(self.channel_id) or await self.store.open(
            line=self.line, caller_number=self.caller_number, channel_id=self.channel_id, received_at=utcnow()
        )
        self.states = CallStates(self.ticket)
        self.states.move(CallState.IVR, "resumed after restart")
        self.notify(live.CallResumed(self.ticket, line=self.line, caller_number=self.caller_number))
        await self.store.event(self.ticket, "resumed", {"channel": self.channel_id})

    # -- events --------------------------------------------------------------
    async def handle(self, event: object) -> None:
        if self.finished:
            return
        if isinstance(event, ev.CallerHungUp):
            await self._caller_gone()
        elif isinstance(event, ev.CallerLeftApp):
            if self.states.state is not CallState.FALLBACK:
                await self._caller_gone()
            elif not self.in_dialplan:  # it left on its own before we could hand it over
                await self._finish(_abandoned(self.before_fallback), caller_gone=True)
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

    async def _input(self, event: object) -> None:
        if self.states.state is CallState.IVR and self.ivr is not None:
            before = getattr(self.ivr, "menu", None)
            self.ivr, actions = engine.handle(self.menus, self.ivr, event)
            after = getattr(self.ivr, "menu", None)
            if before != after and after is not None:
                self.states.note(f"menu {before} -> {after}")
            await self._apply(actions)
        elif isinstance(event, ev.PromptFinished) and event.token == CONNECTING:
            if self.states.state is CallState.FORWARDING:
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
        while chosen:
            a = chosen.pop(0)
            await self.store.update(self.ticket, **{a.field: a.value})
            await self.store.event(self.ticket, "ivr.select", {a.field: a.value})

    # -- forwarding ----------------------------------------------------------
    async def _forward(self, fwd: act.Forward, chosen: list | None = None) -> None:
        now = utcnow()
        self._cancel_timers()
        self.states.move(CallState.FORWARDING, f"ivr {fwd.reason}: {fwd.category}/{fwd.district}")
        self.notify(live.CallForwarded(self.ticket, category=self.selections.get("category", fwd.category),
                                       district=self.selections.get("district", fwd.district),
                                       language=fwd.language, reason=fwd.reason))
        fields = {
            "status": "forwarding",
            "ivr_completed_at": now,
            "forwarded_at": now,
            "ivr_end_reason": fwd.reason,
            "language": fwd.language,
            "category": self.selections.get("category", fwd.category),
            "district": self.selections.get("district", fwd.district),
        }
        candidates = route(self.directory, self.line, fwd.category, fwd.district)
        self.forwarding = Forwarding(candidates)
        prompt = "connecting-operator" if fwd.category == "operator" else "connecting"
        try:
            await self.port.play(prompt, fwd.language, CONNECTING)
        finally:  # the records follow the prompt (written even if it failed), in the same order as ever
            await self._record_choices(chosen or [])
            await self.store.update(self.ticket, **fields)
            await self.store.event(self.ticket, "ivr.completed", {"reason": fwd.reason, "route": fwd.category})
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
        caller_id = f'"{self.line} {self.ticket}" <{self.caller_number}>'
        try:
            await self.port.dial(leg.id, leg.dial, c.ring_timeout, caller_id)
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
        await self.store.update_attempt(self.attempts[leg_id], outcome=outcome, ended_at=utcnow())
        await self.store.event(self.ticket, "attempt.failed", {"unit": leg.candidate.id, "outcome": outcome})
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
        self.recording = f"{self.ticket}.wav"
        await self.port.stop_playback(CONNECTING)
        await self.port.stop_ringback()
        await self.port.connect(leg.id, self.ticket)
        self.states.move(CallState.CONNECTED, f"{leg.candidate.id} answered")
        self.notify(live.CallConnected(self.ticket, unit=leg.candidate.id))
        await self.store.update_attempt(self.attempts[leg.id], outcome="answered", answered_at=now)
        await self.store.update(
            self.ticket, status="connected", agency_answered_at=now, answered_by_unit=leg.candidate.id
        )
        await self.store.event(self.ticket, "attempt.answered", {"unit": leg.candidate.id, "dial": leg.dial})

    # -- endings -------------------------------------------------------------
    async def _caller_gone(self) -> None:
        state = self.states.state
        if state is CallState.FALLBACK:
            disposition = "fallback"
        elif state is CallState.CONNECTED:
            disposition = "completed"
        elif state is CallState.FORWARDING:
            disposition = "abandoned-while-forwarding"
        else:
            disposition = "abandoned-in-ivr"
            if self.ivr is not None:
                self.ivr, actions = engine.handle(self.menus, self.ivr, ev.CallerHungUp())
        self.states.note("caller hung up")
        await self._finish(disposition, caller_gone=True)

    async def _finish(self, disposition: str, caller_gone: bool = False) -> None:
        self._cancel_timers()
        was_connected = self.states.state is CallState.CONNECTED
        try:
            for leg in self.forwarding.live_legs() if self.forwarding else []:
                if leg is not self.forwarding.winner:
                    leg.state = "ended"
                    await self._cancel_leg(leg.id)
                else:
                    await self._safely(self.port.hangup_leg(leg.id))
                    await self._safely(self.store.update_attempt(self.attempts[leg.id], ended_at=utcnow()))
            if not caller_gone:
                await self._safely(self.port.hangup_caller())
            if was_connected and self.recording:
                await self._safely(self._save_recording())
            await self.store.update(self.ticket, status="ended", disposition=disposition, ended_at=utcnow())
            await self.store.event(self.ticket, "ended", {"disposition": disposition})
        finally:
            # Even when a record failed (fail_safe logs it), the call is over: its worker must
            # stop, and fail_safe must not send a caller who has gone to the fallback route.
            self.states.move(CallState.ENDED, disposition)
            self.notify(live.CallEnded(self.ticket, disposition=disposition))

    async def _save_recording(self) -> None:
        data = await self._safely(self.port.save_recording(self.ticket))
        if not data:
            log.warning("%s no recording could be saved", self.ticket)
            return
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        path = self.recordings_dir / self.recording
        await asyncio.to_thread(path.write_bytes, data)
        await self.store.update(self.ticket, recording=self.recording)
        await self.store.event(self.ticket, "recording.saved", {"file": self.recording, "bytes": len(data)})

    async def _to_fallback(self, why: str) -> None:
        self._cancel_timers()
        self.before_fallback = self.states.state
        self.states.move(CallState.FALLBACK, why)
        self.notify(live.CallFellBack(self.ticket, why=why))
        # The records must not stop the transfer: once in FALLBACK, fail_safe does not try again,
        # and with no case at all (the database refused it) the caller still needs a human.
        await self._safely(self.store.update(self.ticket, status="fallback", disposition="fallback"))
        await self._safely(self.store.event(self.ticket, "fallback", {"why": why}))
        await self._hand_to_dialplan()

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


def _outcome(cause: int) -> str:
    """Q.850 cause of a leg that ended before it was answered (one of the case log's OUTCOMES)."""
    if cause in (17, 21):  # busy, or declined (call rejected): either way the unit did not take it
        return "busy"
    if cause in (18, 19, 0, 16):
        return "no-answer"
    return "failed"
