"""Writes replayed from the call service's journal: the same op twice changes nothing.

These writers leave the commit to their caller (a batch of journal ops is one transaction).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.cases import service
from tests.app.cases import replay_reference as reference
from tests.app.cases import writers

T0 = datetime(2026, 11, 27, 3, 0, 0, 123456, tzinfo=UTC)
TICKET = "112-261127-00007"


def _open(session, ticket=TICKET, channel="chan.1", op_id="op-open"):
    case = reference.open_case_as(
        session, ticket, line="112", caller_number="+6281", channel_id=channel, received_at=T0, op_id=op_id
    )
    session.commit()
    return case


def test_opening_under_a_given_ticket_twice_makes_one_case_with_one_received_event(session):
    first, again = _open(session), _open(session)
    assert first.id == again.id and first.ticket == TICKET
    assert len(service.list_cases(session)) == 1
    assert [e.kind for e in service.events_of(session, first.id)] == ["received"]


def test_a_ticket_held_by_another_call_is_refused_not_shared(session):
    _open(session)
    with pytest.raises(service.KeyTaken):
        _open(session, channel="someone-else", op_id="op-other")


def test_an_event_with_the_same_op_id_is_written_once(session):
    case = _open(session)
    for _ in range(2):
        reference.add_event_once(session, TICKET, "ivr.select", {"language": "id"}, T0, "op-1")
    reference.add_event_once(session, TICKET, "ivr.select", {"language": "id"}, T0, "op-2")
    session.commit()
    assert [e.kind for e in service.events_of(session, case.id)] == ["received", "ivr.select", "ivr.select"]


def test_an_attempt_started_twice_under_its_number_is_one_attempt_and_updates_find_it(session):
    case = _open(session)
    for _ in range(2):
        reference.start_attempt_as(
            session, TICKET, 1, unit="psc-kuta", agency="psc", dial="PJSIP/psc-kuta", started_at=T0
        )
    reference.start_attempt_as(
        session,
        TICKET,
        2,
        unit="psc-mengwi",
        agency="psc",
        dial="PJSIP/psc-mengwi",
        started_at=T0 + timedelta(seconds=20),
    )
    reference.update_attempt_of(session, TICKET, 1, outcome="no-answer", ended_at=T0 + timedelta(seconds=19))
    session.commit()
    session.expunge_all()
    attempts = service.attempts_of(session, [case.id])
    assert [(a.seq, a.unit, a.outcome) for a in attempts] == [
        (1, "psc-kuta", "no-answer"),
        (2, "psc-mengwi", "ringing"),
    ]
    with pytest.raises(service.KeyTaken):
        reference.start_attempt_as(session, TICKET, 2, unit="other", agency="psc", dial="PJSIP/other", started_at=T0)
    with pytest.raises(LookupError):
        reference.update_attempt_of(session, TICKET, 3, outcome="busy")


def test_a_case_update_applied_twice_leaves_the_same_case(session):
    _open(session)
    for _ in range(2):
        reference.update_case_as(session, TICKET, status="ended", disposition="completed", ended_at=T0)
        session.commit()
    session.expunge_all()
    case = service.get_case(session, TICKET)
    assert (case.status, case.disposition, case.ended_at) == ("ended", "completed", T0)
    with pytest.raises(ValueError):
        reference.update_case_as(session, TICKET, status="lost")


def test_nothing_is_kept_when_the_caller_rolls_back(session):
    reference.open_case_as(session, TICKET, line="112", caller_number=None, channel_id="c", received_at=T0, op_id="o")
    session.rollback()
    assert service.get_case(session, TICKET) is None


def test_ticket_numbers_are_the_highest_per_line_and_day(session):
    made = [
        writers.open_case(session, line=line, caller_number=None, channel_id=f"c{n}", received_at=T0).ticket
        for n, line in enumerate(["112", "14084", "112"])
    ]
    expected = {"112-261127": int(made[2][-5:]), "14084-261127": int(made[1][-5:])}
    assert service.ticket_numbers(session, T0 - timedelta(days=1)) == expected
    assert service.ticket_numbers(session, T0 + timedelta(seconds=1)) == {}
