"""The live state of the active calls, folded from live events.

Principle: one pure fold, used both for the publisher's in-memory snapshot
and for what goes into each call's Redis hash, so the snapshot written back
after a Redis outage is exactly what the events would have written. Values
are strings because that is what a Redis hash holds.
"""

from __future__ import annotations

from datetime import datetime

from app.live import events as ev

STATUS = {  # the case log's status words, so live views and case pages agree
    ev.CallReceived: "in-ivr",
    ev.CallResumed: "in-ivr",
    ev.CallForwarded: "forwarding",
    ev.CallConnected: "connected",
    ev.CallFellBack: "fallback",
}


class ActiveCalls:
    def __init__(self) -> None:
        self.calls: dict[str, dict[str, str]] = {}

    def apply(self, event: ev.LiveEvent) -> dict[str, str] | None:
        """Fold ``event`` in; the call's new fields, or None when it is over (or not a call event)."""
        ticket = event.ticket
        if not ticket or isinstance(event, ev.LiveStateRestored):
            return None  # a call whose case could not be written has no ticket to key it by
        if isinstance(event, ev.CallEnded):
            self.calls.pop(ticket, None)
            return None
        call = self.calls.setdefault(ticket, {"ticket": ticket, "status": "in-ivr", "ringing": ""})
        call["updated_at"] = event.at.isoformat()
        call["last_event"] = event.kind
        if type(event) in STATUS:
            call["status"] = STATUS[type(event)]
        if isinstance(event, (ev.CallReceived, ev.CallResumed)):
            call.update(line=event.line, caller_number=event.caller_number)
            call.setdefault("received_at", event.at.isoformat())
        elif isinstance(event, ev.IvrChoiceMade):
            call[event.field] = event.value
        elif isinstance(event, ev.CallForwarded):
            call.update(
                {
                    k: v
                    for k, v in (
                        ("category", event.category),
                        ("district", event.district),
                        ("language", event.language),
                    )
                    if v
                }
            )
        elif isinstance(event, ev.AgencyRinging):  # a set: Asterisk may say "Ringing" twice
            ringing = _units(call["ringing"])
            call["ringing"] = ",".join(ringing + [event.unit] * (event.unit not in ringing))
        elif isinstance(event, ev.AgencyMissed):
            call["ringing"] = ",".join(u for u in _units(call["ringing"]) if u != event.unit)
        elif isinstance(event, ev.CallConnected):
            call.update(unit=event.unit, ringing="")
        elif isinstance(event, ev.CallFellBack):
            call.update(why=event.why, ringing="")
        return dict(call)

    def forget_quiet(self, before: datetime) -> list[str]:
        """Drop the calls with no event since ``before`` (a hang-up that was never announced)."""
        quiet = [t for t, call in self.calls.items() if datetime.fromisoformat(call["updated_at"]) < before]
        for ticket in quiet:
            del self.calls[ticket]
        return quiet


def _units(ringing: str) -> list[str]:
    return [u for u in ringing.split(",") if u]
