"""Typed live events: what happened to a call, in the past tense.

The call flow announces them, ``LivePublisher`` writes them to Redis, and the
live web pages read the same classes back with ``from_json``. They are plain
frozen dataclasses on purpose: building one never validates and never raises,
so announcing an event can never break a call.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from app.clock import utcnow


@dataclass(frozen=True)
class LiveEvent:
    kind: ClassVar[str] = ""
    ticket: str
    if TYPE_CHECKING:
        # Every kind declares its own ``at`` as its last field (it has a default); declaring
        # it here too, for the checker only, would move it first in each kind's fields.
        at: datetime

    def as_dict(self) -> dict:
        body = {"kind": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            body[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return body

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))


def _when():
    # A function, not ``field(...)`` inline: IvrChoiceMade has a field named ``field``.
    return dataclasses.field(default_factory=utcnow)


@dataclass(frozen=True)
class CallReceived(LiveEvent):
    """The case is written; the caller is about to hear the IVR."""

    kind: ClassVar[str] = "call.received"
    line: str = ""
    caller_number: str = ""
    at: datetime = _when()


@dataclass(frozen=True)
class CallResumed(LiveEvent):
    """A call found still in Asterisk after the service restarted."""

    kind: ClassVar[str] = "call.resumed"
    line: str = ""
    caller_number: str = ""
    at: datetime = _when()


@dataclass(frozen=True)
class IvrChoiceMade(LiveEvent):
    kind: ClassVar[str] = "ivr.choice-made"
    field: str = ""
    value: str = ""
    at: datetime = _when()


@dataclass(frozen=True)
class CallForwarded(LiveEvent):
    """The IVR is over; agency lines are about to ring."""

    kind: ClassVar[str] = "call.forwarded"
    category: str | None = None
    district: str | None = None
    language: str | None = None
    reason: str = ""
    at: datetime = _when()


@dataclass(frozen=True)
class AgencyRinging(LiveEvent):
    kind: ClassVar[str] = "agency.ringing"
    unit: str = ""
    at: datetime = _when()


@dataclass(frozen=True)
class AgencyMissed(LiveEvent):
    """An agency line did not take the call (busy, no answer, failed); the next one is tried."""

    kind: ClassVar[str] = "agency.missed"
    unit: str = ""
    outcome: str = ""
    at: datetime = _when()


@dataclass(frozen=True)
class CallConnected(LiveEvent):
    kind: ClassVar[str] = "call.connected"
    unit: str = ""
    at: datetime = _when()


@dataclass(frozen=True)
class CallFellBack(LiveEvent):
    """Handed to the dialplan fallback route (operators' group)."""

    kind: ClassVar[str] = "call.fell-back"
    why: str = ""
    at: datetime = _when()


@dataclass(frozen=True)
class CallEnded(LiveEvent):
    kind: ClassVar[str] = "call.ended"
    disposition: str = ""
    at: datetime = _when()


@dataclass(frozen=True)
class LiveStateRestored(LiveEvent):
    """Redis is back after an outage and holds the active calls again: live views should reload."""

    kind: ClassVar[str] = "live.restored"
    active: int = 0
    at: datetime = _when()


KINDS: dict[str, type[LiveEvent]] = {
    cls.kind: cls
    for cls in (
        CallReceived,
        CallResumed,
        IvrChoiceMade,
        CallForwarded,
        AgencyRinging,
        AgencyMissed,
        CallConnected,
        CallFellBack,
        CallEnded,
        LiveStateRestored,
    )
}


def from_json(text: str | bytes) -> LiveEvent:
    """The event a ``to_json`` wrote (what a subscriber to ``siaga:events`` receives)."""
    body = json.loads(text)
    cls = KINDS[body.pop("kind")]
    if "at" in body:
        body["at"] = datetime.fromisoformat(body["at"])
    return cls(**body)
