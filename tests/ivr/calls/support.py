"""A fake telephony port and a scripted call around a real CallFlow.

The port records every request and can be told to fail; the call feeds
events to the flow the way its worker would (a flow error goes to
``fail_safe``) and reads back what the case store wrote, once the store has
applied its journal to the database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import select

from app.cases import service
from app.cases.models import Attempt, Case
from ivr.calls import events as ev
from ivr.calls.flow import CallFlow

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "  # enough of a WAV header to be recognisable
BUSY, NORMAL_CLEARING = 17, 16  # Q.850 causes of an agency leg that ends


class PortError(RuntimeError):
    pass


class FakePort:
    """CallControl that remembers requests; ``fail`` makes a method raise, ``refuse`` a dial string."""

    def __init__(self, recording: bytes | None = WAV) -> None:
        self.requests: list[tuple] = []
        self.fail: dict[str, Exception] = {}
        self.refuse: set[str] = set()  # dial strings that fail at once ("*": all of them)
        self.recording = recording
        self.on_answer = None  # called when the caller is answered
        self.in_fallback = False  # where a caller who left the app on its own is found
        self.gone_legs: set[str] = set()  # legs Asterisk no longer has (gone)

    def _note(self, method: str, *args) -> None:
        self.requests.append((method, *args))
        if method in self.fail:
            raise self.fail[method]

    def sent(self, method: str) -> list[tuple]:
        return [r[1:] for r in self.requests if r[0] == method]

    async def answer(self) -> None:
        if self.on_answer:
            self.on_answer()
        self._note("answer")

    async def play(self, prompt: str, language: str, token: str) -> None:
        self._note("play", prompt, language, token)

    async def stop_playback(self, token: str) -> None:
        self._note("stop_playback", token)

    async def start_ringback(self) -> None:
        self._note("start_ringback")

    async def stop_ringback(self) -> None:
        self._note("stop_ringback")

    async def dial(self, leg: str, dial: str, timeout: int, caller_id: str) -> None:
        self._note("dial", leg, dial, timeout, caller_id)
        if dial in self.refuse or "*" in self.refuse:
            raise PortError(f"cannot dial {dial}")

    async def dial_agent(self, leg: str, dial: str, timeout: int, caller_id: str) -> None:
        self._note("dial_agent", leg, dial, timeout, caller_id)
        if dial in self.refuse or "*" in self.refuse:
            raise PortError(f"cannot dial {dial}")

    async def hangup_leg(self, leg: str) -> None:
        self._note("hangup_leg", leg)

    async def join(self, leg: str) -> None:
        self._note("join", leg)

    async def gone(self, legs: list[str]) -> set[str]:
        self._note("gone", legs)
        return {leg for leg in legs if leg in self.gone_legs}

    async def connect(self, leg: str) -> None:
        self._note("connect", leg)

    async def save_recording(self, keep) -> bytes | None:
        self._note("save_recording")
        if self.recording:
            self.kept = await keep(self.recording)
        return self.recording

    async def in_fallback_route(self) -> bool:
        self._note("in_fallback_route")
        return self.in_fallback

    async def to_fallback(self, line: str) -> None:
        self._note("to_fallback", line)

    async def hangup_caller(self) -> None:
        self._note("hangup_caller")


class Call:
    """One caller on ``line``, driven event by event."""

    def __init__(
        self, *, line: str, port: FakePort, store, sessions, menus, directory, recordings: Path, agent_work=None
    ) -> None:
        self.port, self.store, self.sessions, self.recordings = port, store, sessions, recordings
        self.posted: list[object] = []
        self.flow = CallFlow(
            line=line,
            caller_number="081234567890",
            channel_id="1700000000.1",
            port=port,
            store=store,
            menus=menus,
            directory=directory,
            recordings_dir=recordings,
            post=self.posted.append,
            agent_work=agent_work,
        )

    async def start(self) -> Call:
        await self._guarded(self.flow.start())
        return self

    async def send(self, *events: object) -> None:
        for event in events:
            await self._guarded(self.flow.handle(event))

    async def press(self, *digits: str) -> None:
        await self.send(*(ev.DigitPressed(d) for d in digits))

    async def pump(self) -> None:
        """Feed back what the flow posted to itself (timers, legs that failed to start)."""
        while self.posted:
            await self.send(self.posted.pop(0))

    async def next_timer(self, seconds: float = 2.0) -> object:
        """Wait for the flow's next timer to fire, and feed it back; returns its event."""
        deadline = asyncio.get_running_loop().time() + seconds
        while not self.posted:
            assert asyncio.get_running_loop().time() < deadline, "no timer fired"
            await asyncio.sleep(0.001)
        event = self.posted.pop(0)
        await self.send(event)
        return event

    async def _guarded(self, coro) -> None:
        # What the call's worker does: an error in the flow goes to its fail-safe.
        try:
            await coro
        except Exception as exc:
            await self.flow.fail_safe(exc)

    # -- what the port was asked -------------------------------------------
    def legs(self) -> dict[str, str]:
        """Dial string -> leg id, in dialling order."""
        return {dial: leg for leg, dial, _timeout, _cid in self.port.sent("dial")}

    def dialled(self) -> list[str]:
        return [dial for _leg, dial, _timeout, _cid in self.port.sent("dial")]

    # -- what the case log holds --------------------------------------------
    def _applied(self):
        # The flow only waits for the journal; the database follows a moment later.
        assert self.store.settle(10), "the case store did not apply its journal"
        return self.sessions()

    def case(self) -> Case:
        with self._applied() as session:
            case = service.get_case(session, self.flow.ticket)
        assert case is not None, f"no case {self.flow.ticket}"
        return case

    def _case_id(self) -> int:
        case_id = self.case().id
        assert case_id is not None  # read from the database
        return case_id

    def attempts(self) -> list[Attempt]:
        with self._applied() as session:
            return service.attempts_of(session, [self._case_id()])

    def attempt(self, dial: str) -> Attempt:
        return next(a for a in self.attempts() if a.dial == dial)

    def events(self, kind: str | None = None) -> list:
        with self._applied() as session:
            found = service.events_of(session, self._case_id())
        return [e for e in found if kind is None or e.kind == kind]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events()]

    def count_cases(self) -> int:
        with self._applied() as session:
            return len(list(session.exec(select(Case))))


# Which journal op each case-store method writes: the flow writes several ops at once through ``write``.
OP_OF = {
    "open": "open",
    "update": "update",
    "event": "event",
    "start_attempt": "attempt",
    "update_attempt": "attempt.update",
}


def break_store(store, method: str, when=lambda *args, **kwargs: True) -> None:
    """Make writing one kind of op raise (when ``when``, given its ticket and fields, says so), as a full disk would."""
    real, kind = store.write, OP_OF[method]

    async def broken(*ops):
        for op in ops:
            fields = {k: v for k, v in op["args"].items() if k != "seq"}
            if op["op"] == kind and when(op["ticket"], **fields):
                raise OSError("the case journal cannot be written")
        return await real(*ops)

    store.write = broken


async def medical_in_kuta(new_call):
    """A 112 caller who presses 1 (medical, in Indonesian) then 2 (Kuta)."""
    call = await new_call("112").start()
    await call.press("1", "2")
    return call


async def connected(new_call):
    call = await medical_in_kuta(new_call)
    first = call.dialled()[0]
    await call.send(ev.LegRinging(call.legs()[first]), ev.LegAnswered(call.legs()[first]))
    return call, first
