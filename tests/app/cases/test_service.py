from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.cases import service
from tests.app.cases import writers

T0 = datetime(2026, 11, 27, 3, 0, 0, 123456, tzinfo=UTC)  # 11:00 in Bali


def _open(session, line="112", channel="chan.1", at=T0, caller="+6281234567"):
    return writers.open_case(session, line=line, caller_number=caller, channel_id=channel, received_at=at)


def test_ticket_is_line_date_and_zero_padded_id(session):
    case = _open(session)
    assert case.ticket == f"112-261127-{case.id:05d}"
    assert service.get_case(session, case.ticket).id == case.id


def test_ticket_date_is_the_date_in_bali_not_utc(session):
    late_utc_evening = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # 01:30 on the 28th in Bali
    case = _open(session, at=late_utc_evening)
    assert case.ticket.split("-")[1] == "261128"


def test_tickets_are_unique_across_lines(session):
    tickets = [_open(session, line=line, channel=f"c{n}").ticket for n, line in enumerate(["112", "14084", "112"])]
    assert len(set(tickets)) == 3
    assert tickets[1].startswith("14084-")


def test_open_case_writes_a_received_event_and_starts_in_ivr(session):
    case = _open(session)
    events = service.events_of(session, case.id)
    assert [e.kind for e in events] == ["received"]
    assert events[0].detail == {"caller_number": "+6281234567", "channel_id": "chan.1"}
    assert case.status == "in-ivr" and case.disposition is None


def test_open_case_refuses_an_unknown_line(session):
    with pytest.raises(ValueError, match="line"):
        _open(session, line="110")


def test_concurrent_writers_that_read_first_all_succeed(sessions):
    with sessions() as setup:
        tickets = [_open(setup, channel=f"w{n}").ticket for n in range(6)]
    errors: list[BaseException] = []

    def work(ticket: str) -> None:
        try:
            with sessions() as own:
                for n in range(5):
                    attempt = writers.start_attempt(
                        own,
                        ticket,
                        unit=f"u{n}",
                        agency="psc",
                        dial=f"PJSIP/u{n}",
                        started_at=T0 + timedelta(seconds=n),
                    )
                    writers.update_attempt(own, attempt, outcome="no-answer", ended_at=T0 + timedelta(seconds=n + 1))
                    writers.update_case(own, ticket, status="forwarding")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(ticket,)) for ticket in tickets]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    with sessions() as check:
        for ticket in tickets:
            attempts = service.attempts_of(check, [service.get_case(check, ticket).id])
            assert [a.seq for a in attempts] == [1, 2, 3, 4, 5]


def test_update_case_sets_fields(session):
    ticket = _open(session).ticket
    writers.update_case(session, ticket, language="en", category="medical", district="kuta", status="forwarding")
    session.expunge_all()
    case = service.get_case(session, ticket)
    assert (case.language, case.category, case.district, case.status) == ("en", "medical", "kuta", "forwarding")


def test_update_case_refuses_unknown_fields(session):
    ticket = _open(session).ticket
    with pytest.raises(TypeError, match="colour"):
        writers.update_case(session, ticket, colour="red")


def test_update_case_refuses_a_status_that_does_not_exist(session):
    ticket = _open(session).ticket
    with pytest.raises(ValueError, match="status"):
        writers.update_case(session, ticket, status="lost")


def test_update_case_refuses_naive_timestamps(session):
    ticket = _open(session).ticket
    with pytest.raises(ValueError, match="naive"):
        writers.update_case(session, ticket, ended_at=datetime(2026, 11, 27, 3, 5))


def test_unknown_ticket_raises_case_not_found(session):
    with pytest.raises(service.CaseNotFound):
        writers.update_case(session, "112-000000-99999", status="ended")
    with pytest.raises(service.CaseNotFound):
        writers.add_event(session, "112-000000-99999", "hangup")


def test_timestamps_round_trip_timezone_aware(sessions):
    bali = timezone(timedelta(hours=8))
    answered = datetime(2026, 11, 27, 11, 0, 42, 654321, tzinfo=bali)
    with sessions() as session:
        ticket = _open(session).ticket
        writers.update_case(session, ticket, agency_answered_at=answered)
    with sessions() as fresh:
        case = service.get_case(fresh, ticket)
        assert case.received_at == T0 and case.received_at.utcoffset() == timedelta(0)
        assert case.agency_answered_at == answered and case.agency_answered_at.utcoffset() == timedelta(0)


def test_attempts_are_numbered_in_order_per_case(session):
    first, second = _open(session, channel="a").ticket, _open(session, channel="b").ticket
    ids = []
    for n, (ticket, unit) in enumerate(
        [(first, "psc-kuta"), (second, "polsek-kuta"), (first, "psc-kuta-selatan"), (first, "fallback")]
    ):
        ids.append(
            writers.start_attempt(
                session,
                ticket,
                unit=unit,
                agency="psc",
                dial=f"PJSIP/{unit}",
                started_at=T0 + timedelta(seconds=20 * n),
            )
        )
    case = service.get_case(session, first)
    attempts = service.attempts_of(session, [case.id])
    assert [(a.seq, a.unit) for a in attempts] == [(1, "psc-kuta"), (2, "psc-kuta-selatan"), (3, "fallback")]
    assert all(a.outcome == "ringing" for a in attempts)
    other = service.attempts_of(session, [service.get_case(session, second).id])
    assert [(a.seq, a.unit) for a in other] == [(1, "polsek-kuta")]


def test_update_attempt_records_the_outcome(session):
    ticket = _open(session).ticket
    attempt_id = writers.start_attempt(
        session, ticket, unit="psc-kuta", agency="psc", dial="PJSIP/psc-kuta", started_at=T0
    )
    writers.update_attempt(
        session,
        attempt_id,
        ringing_at=T0 + timedelta(seconds=1),
        answered_at=T0 + timedelta(seconds=6),
        outcome="answered",
    )
    session.expunge_all()
    (attempt,) = service.attempts_of(session, [service.get_case(session, ticket).id])
    assert attempt.outcome == "answered" and attempt.answered_at == T0 + timedelta(seconds=6)
    with pytest.raises(TypeError):
        writers.update_attempt(session, attempt_id, unit="psc-mengwi")
    with pytest.raises(ValueError):
        writers.update_attempt(session, attempt_id, outcome="maybe")


def test_events_keep_their_detail_in_time_order(session):
    ticket = _open(session).ticket
    writers.add_event(session, ticket, "ivr.select", {"menu": "category", "digit": "1"}, at=T0 + timedelta(seconds=9))
    writers.add_event(session, ticket, "ivr.completed", None, at=T0 + timedelta(seconds=12))
    events = service.events_of(session, service.get_case(session, ticket).id)
    assert [(e.kind, e.detail) for e in events][1:] == [
        ("ivr.select", {"menu": "category", "digit": "1"}),
        ("ivr.completed", None),
    ]


def test_find_case_by_channel_returns_the_newest(session):
    _open(session, channel="dup")
    newer = _open(session, channel="dup", at=T0 + timedelta(minutes=5))
    assert service.find_case_by_channel(session, "dup").ticket == newer.ticket
    assert service.find_case_by_channel(session, "nope") is None


def test_list_cases_is_newest_first_with_limit_and_line(session):
    made = [
        _open(session, line=line, channel=f"c{n}", at=T0 + timedelta(minutes=n))
        for n, line in enumerate(["112", "14084", "112", "112"])
    ]
    assert [c.ticket for c in service.list_cases(session)] == [c.ticket for c in reversed(made)]
    assert [c.ticket for c in service.list_cases(session, limit=2)] == [made[3].ticket, made[2].ticket]
    assert [c.ticket for c in service.list_cases(session, line="14084")] == [made[1].ticket]
