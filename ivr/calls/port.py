"""What a call flow may ask of the telephony side (the port; ARI is one adapter).

Every method refers to resources by OUR ids (tokens, leg ids); the adapter
maps them to channel, playback and bridge ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol


class CallerGone(Exception):
    """The caller's channel no longer exists (hung up while we were acting on it)."""


class CallControl(Protocol):
    async def answer(self) -> None: ...

    async def play(self, prompt: str, language: str, token: str) -> None: ...

    async def stop_playback(self, token: str) -> None: ...

    async def start_ringback(self) -> None:
        """The caller hears ringing while agency lines are tried (the call is already answered)."""

    async def stop_ringback(self) -> None: ...

    async def dial(self, leg: str, dial: str, timeout: int, caller_id: str) -> None:
        """Start ringing an agency line. Progress arrives later as LegRinging/LegAnswered/LegEnded."""

    async def dial_agent(self, leg: str, dial: str, timeout: int, caller_id: str) -> None:
        """Ring a call-taker's phone: like ``dial``, but never answered by anyone else (no demo responder)."""

    async def hangup_leg(self, leg: str) -> None: ...

    async def gone(self, legs: list[str]) -> set[str]:
        """Which of these legs no longer exist (after events may have been missed); unknown counts as there."""

    async def join(self, leg: str) -> None:
        """Add an answered leg to the caller's bridge (a conference: caller, call-taker and unit)."""

    async def connect(self, leg: str) -> None:
        """Bridge the caller with an answered leg."""

    async def save_recording(self, keep: Callable[[bytes], Awaitable[object]]) -> bytes | None:
        """The call's recording (WAV, from its arrival), once the caller's channel is gone; None if there is none.

        ``keep`` files it; the recording leaves Asterisk only once ``keep`` answered truthy.
        """

    async def in_fallback_route(self) -> bool:
        """Whether the caller, who left our app on its own, is now in the fallback route (the watchdog sent it,
        or a continue whose answer was lost did), and followed there to its end; False when it is gone."""

    async def to_fallback(self, line: str) -> None:
        """Hand the caller to the dialplan fallback route (humans of last resort).

        Raises CallerGone when there is no caller left to hand over.
        """

    async def hangup_caller(self) -> None: ...
