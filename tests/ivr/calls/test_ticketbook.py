"""The ticket book's channel index: calls in progress are kept for days, ended ones for minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ivr.calls.ticketbook import KEEP_ENDED, KEEP_TICKETS, TicketBook

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def _open(book: TicketBook, ticket: str, channel: str, at: datetime) -> None:
    book.note(
        {
            "op": "open",
            "ticket": ticket,
            "at": at.isoformat(),
            "args": {"received_at": at.isoformat(), "channel_id": channel},
        }
    )


def _end(book: TicketBook, ticket: str, at: datetime) -> None:
    book.note(
        {
            "op": "update",
            "ticket": ticket,
            "at": at.isoformat(),
            "args": {"status": "ended", "ended_at": at.isoformat()},
        }
    )


def test_an_ended_call_leaves_the_index_after_a_few_minutes_and_one_in_progress_stays():
    book = TicketBook(clock=lambda: T0)
    _open(book, "112-261127-00001", "c1", T0)
    _open(book, "112-261127-00002", "c2", T0)
    _end(book, "112-261127-00001", T0 + timedelta(minutes=1))
    book.note({"op": "update", "ticket": "112-261127-00002", "at": T0.isoformat(), "args": {"status": "fallback"}})

    book.snapshot(now=T0 + timedelta(minutes=1) + KEEP_ENDED - timedelta(seconds=1))
    assert book.channel("c1") == "112-261127-00001"  # a late fallback-journal line still finds it

    state = book.snapshot(now=T0 + timedelta(minutes=1) + KEEP_ENDED + timedelta(seconds=1))
    assert book.channel("c1") is None and "112-261127-00001" not in state["tickets"]
    assert book.channel("c2") == "112-261127-00002"  # not ended: kept for adoption after a restart
    assert state["counters"] == {"112-261127": 2}  # numbers are never handed out twice

    book.snapshot(now=T0 + KEEP_TICKETS + timedelta(seconds=1))
    assert book.channel("c2") is None


def test_the_ended_mark_survives_a_restart_through_state_json():
    book = TicketBook(clock=lambda: T0)
    _open(book, "112-261127-00001", "c1", T0)
    _end(book, "112-261127-00001", T0)
    state = book.snapshot(now=T0)
    again = TicketBook(clock=lambda: T0)
    again.restore(state)
    assert again.channel("c1") == "112-261127-00001"
    again.snapshot(now=T0 + KEEP_ENDED + timedelta(seconds=1))
    assert again.channel("c1") is None


def test_a_call_in_the_fallback_route_is_marked_once_the_dialplans_journal_has_its_start_line():
    book = TicketBook(clock=lambda: T0)
    _open(book, "112-261127-00003", "c3", T0)
    book.note({"op": "update", "ticket": "112-261127-00003", "at": T0.isoformat(), "args": {"status": "fallback"}})
    assert book.entry("112-261127-00003").get("dialplan") is None  # the flow meant to hand it over
    book.note(
        {
            "op": "event",
            "ticket": "112-261127-00003",
            "at": T0.isoformat(),
            "args": {"kind": "fallback.dialplan", "detail": {"reason": "app"}, "at": T0.isoformat()},
        }
    )
    entry = book.entry("112-261127-00003")
    assert entry["dialplan"] is True
    restored = TicketBook(clock=lambda: T0)
    restored.restore(book.snapshot(now=T0))
    assert restored.entry("112-261127-00003")["dialplan"] is True  # survives a restart


def test_ended_calls_are_forgotten_as_later_ones_end_without_waiting_for_a_compaction():
    """During a database outage the journal is never compacted: the book must not keep every call of it."""
    now = [T0]
    book = TicketBook(clock=lambda: now[0])
    _open(book, "112-261127-09999", "waiting", T0)  # a call in progress: kept for adoption after a restart
    for n in range(1, 5001):  # a call every 2 s for almost three hours
        now[0] = T0 + timedelta(seconds=2 * n)
        ticket = f"112-261127-{n:05d}"
        _open(book, ticket, f"c{n}", now[0] - timedelta(seconds=1))
        _end(book, ticket, now[0])
    recent = KEEP_ENDED.total_seconds() / 2
    assert recent <= len(book.tickets) - 1 <= recent + 1 and len(book.by_channel) == len(book.tickets)
    assert book.channel("c5000") == "112-261127-05000"  # ended just now: a late fallback-journal line finds it
    assert book.channel("c1") is None and book.entry("112-261127-00001") is None
    assert book.unfinished() == ["112-261127-09999"]  # the leftovers sweep still sees it


def test_an_ended_call_restored_from_state_json_is_forgotten_on_schedule_too():
    now = [T0]
    book = TicketBook(clock=lambda: now[0])
    _open(book, "112-261127-00001", "c1", T0)
    _end(book, "112-261127-00001", T0)
    again = TicketBook(clock=lambda: now[0])
    again.restore(book.snapshot(now=T0))
    now[0] = T0 + KEEP_ENDED + timedelta(seconds=1)
    _open(again, "112-261127-00002", "c2", now[0])
    _end(again, "112-261127-00002", now[0])
    assert again.channel("c1") is None and again.channel("c2") == "112-261127-00002"
