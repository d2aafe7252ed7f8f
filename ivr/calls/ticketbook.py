"""Tickets, attempt numbers and the channel index, kept without the database.

Principle: every number handed out is derived from what the journal holds
(and its summary in state.json), so it survives a crash: a ticket counts up
per line and day in Badung, starting above the highest number the database
knew at start-up; an attempt counts up per ticket. Recent tickets are indexed
by caller channel, so a caller adopted after a restart finds its case while
the database is down; a call that has ended is kept a short while only (a
late fallback-journal line may still look it up), so the index holds the
calls in progress plus the last minutes', not two days of traffic (a soak at
22 calls/s grew the service by ~1 kB a call before). Ended calls are
forgotten as later ones end, not only when the journal is compacted: during a
database outage it never is. Thread-safe: calls allocate, the journal writer
notes.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from app.cases.service import make_ticket
from app.clock import as_utc, regency_date, utcnow

KEEP_TICKETS = timedelta(days=2)  # a call older than this is not adopted any more
KEEP_ENDED = timedelta(minutes=10)  # an ended call's entry, for late fallback-journal lines
KEEP_COUNTERS = timedelta(days=40)


def day_key(line: str, received_at: datetime) -> str:
    return f"{line}-{regency_date(received_at):%y%m%d}"


class TicketBook:
    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.counters: dict[str, int] = {}  # "<line>-<YYMMDD>" -> highest ticket number handed out
        self.tickets: dict[str, dict] = {}  # recent ticket -> {"channel", "at", "attempts"}
        self.by_channel: dict[str, str] = {}
        self._ended: deque[tuple[str, str]] = deque()  # (ended, ticket) in the order they were noted

    # -- handing out ------------------------------------------------------------
    def new_ticket(self, line: str, received_at: datetime) -> str:
        key = day_key(line, received_at)
        with self._lock:
            self.counters[key] = self.counters.get(key, 0) + 1
            return make_ticket(line, received_at, self.counters[key])

    def new_attempt(self, ticket: str) -> int:
        with self._lock:
            entry = self._entry(ticket, self.clock().isoformat())
            entry["attempts"] += 1
            return entry["attempts"]

    def raise_to(self, highest: dict[str, int]) -> None:
        """Never below the numbers the database already holds."""
        with self._lock:
            for key, n in highest.items():
                self.counters[key] = max(self.counters.get(key, 0), n)

    def _entry(self, ticket: str, at: str) -> dict:
        return self.tickets.setdefault(ticket, {"channel": None, "at": at, "attempts": 0})

    # -- noting what the journal holds -------------------------------------------
    def note(self, op: dict) -> None:
        # Every journalled op names its ticket (casestore._op); ops are plain JSON dicts, hence the cast.
        kind, ticket, args = op["op"], cast(str, op.get("ticket")), op.get("args", {})
        with self._lock:
            if kind == "open":
                prefix, _, number = ticket.rpartition("-")
                self.counters[prefix] = max(self.counters.get(prefix, 0), int(number))
                entry = self._entry(ticket, args["received_at"])
                entry["channel"] = args.get("channel_id")
                if entry["channel"]:
                    self.by_channel[entry["channel"]] = ticket
            elif kind == "attempt":
                entry = self._entry(ticket, op["at"])
                entry["attempts"] = max(entry["attempts"], args["seq"])
            elif kind == "attempt.update" and args.get("outcome") == "answered" and ticket in self.tickets:
                self.tickets[ticket]["answered"] = args["seq"]  # the conversation's attempt, for a restart
            elif kind == "event" and args.get("kind") == "fallback.dialplan" and ticket in self.tickets:
                self.tickets[ticket]["dialplan"] = True  # in the fallback route: the dialplan's journal tells its end
            elif kind == "update" and ticket in self.tickets and (args.get("agent") or args.get("status") == "queued"):
                # a call-taker took it (a conversation), or it waited in the queue: for a restart's leftovers
                self.tickets[ticket]["taken" if args.get("agent") else "queued"] = True
            elif kind == "update" and args.get("status") == "ended" and ticket in self.tickets:
                self.tickets[ticket]["ended"] = ended = args.get("ended_at") or op["at"]
                self._ended.append((ended, ticket))
                self._forget_ended((self.clock() - KEEP_ENDED).isoformat())

    def _forget_ended(self, before: str) -> None:
        """Drop the calls that ended before ``before`` (ISO time); about in the order they ended, so it is cheap."""
        while self._ended and self._ended[0][0] < before:
            _, ticket = self._ended.popleft()
            entry = self.tickets.get(ticket)
            if entry is not None and entry.get("ended", before) < before:
                del self.tickets[ticket]
                if entry["channel"] and self.by_channel.get(entry["channel"]) == ticket:
                    del self.by_channel[entry["channel"]]

    def channel(self, channel_id: str) -> str | None:
        with self._lock:
            return self.by_channel.get(channel_id)

    def entry(self, ticket: str) -> dict | None:
        """A copy of what the book knows of a recent ticket: channel, at, attempts, answered, dialplan, ended."""
        with self._lock:
            entry = self.tickets.get(ticket)
            return dict(entry) if entry is not None else None

    def unfinished(self) -> list[str]:
        """Recent tickets whose end has not been journalled (at start: what the previous run left open)."""
        with self._lock:
            return [t for t, e in self.tickets.items() if "ended" not in e]

    # -- summary kept in state.json ------------------------------------------------
    def snapshot(self, now: datetime | None = None) -> dict:
        """What state.json keeps; forgets (here too) tickets and counters too old to matter."""
        now = as_utc(now or self.clock())
        oldest_day, since = f"{regency_date(now - KEEP_COUNTERS):%y%m%d}", (now - KEEP_TICKETS).isoformat()
        ended_since = (now - KEEP_ENDED).isoformat()

        def keep(entry: dict) -> bool:
            ended = entry.get("ended")
            return entry["at"] >= since and (ended is None or ended >= ended_since)

        with self._lock:
            self.counters = {k: n for k, n in self.counters.items() if k.rsplit("-", 1)[1] >= oldest_day}
            self.tickets = {t: e for t, e in self.tickets.items() if keep(e)}
            self.by_channel = {e["channel"]: t for t, e in self.tickets.items() if e["channel"]}
            return {"counters": dict(self.counters), "tickets": {t: dict(e) for t, e in self.tickets.items()}}

    def restore(self, state: dict) -> None:
        with self._lock:
            for key, n in state.get("counters", {}).items():
                self.counters[key] = max(self.counters.get(key, 0), n)
            for ticket, entry in state.get("tickets", {}).items():
                self.tickets[ticket] = dict(entry)
                if entry.get("channel"):
                    self.by_channel[entry["channel"]] = ticket
            ended = [(e["ended"], t) for t, e in state.get("tickets", {}).items() if e.get("ended")]
            self._ended.extend(sorted(ended))
