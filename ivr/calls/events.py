"""Typed call events beyond the IVR engine's own (past tense: they happened).

A *leg* is one outgoing call to an agency line, identified by our own id.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.engine.events import CallerHungUp, DigitPressed, PromptFinished, TimerExpired


@dataclass(frozen=True)
class LegRinging:
    leg: str


@dataclass(frozen=True)
class LegAnswered:
    leg: str


@dataclass(frozen=True)
class LegEnded:
    """The leg's channel is gone (before or after it was answered)."""

    leg: str
    cause: int = 0
    cause_txt: str = ""


@dataclass(frozen=True)
class LegFailedToStart:
    """Asterisk refused to create the leg at all (unknown endpoint, bad dial string)."""

    leg: str
    reason: str


@dataclass(frozen=True)
class CallerLeftApp:
    """The caller's channel left our Stasis app: a hang-up, unless we sent it to the fallback route."""


@dataclass(frozen=True)
class ServiceStopping:
    """The call service is shutting down: callers not yet talking to someone go to the fallback route."""


@dataclass(frozen=True)
class ServiceResumed:
    """The call service reconnected to Asterisk and found this call still there."""


@dataclass(frozen=True)
class HandOverDue:
    """Time to try handing the caller to the fallback route again (the last try failed)."""


CallEvent = (
    DigitPressed
    | PromptFinished
    | TimerExpired
    | CallerHungUp
    | LegRinging
    | LegAnswered
    | LegEnded
    | LegFailedToStart
    | CallerLeftApp
    | ServiceResumed
    | ServiceStopping
    | HandOverDue
)

__all__ = [
    "CallEvent",
    "CallerHungUp",
    "CallerLeftApp",
    "DigitPressed",
    "HandOverDue",
    "LegAnswered",
    "LegEnded",
    "LegFailedToStart",
    "LegRinging",
    "PromptFinished",
    "ServiceResumed",
    "ServiceStopping",
    "TimerExpired",
]


@dataclass(frozen=True)
class DispatchRequested:
    """A call-taker (or supervisor) asks to bring a unit into the call: ``conference`` or ``transfer``.

    ``reply`` (an asyncio future) gets the answer the internal API returns: a dict, or a
    ``DispatchRefused`` naming the HTTP status and why.
    """

    unit: str
    mode: str
    by: str
    role: str
    reply: object  # asyncio.Future[dict]


class DispatchRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail
