"""Two people acting on one case at once (threads, one session each): the row lock on PostgreSQL, the write
lock on SQLite, puts them in order, so the second sees what the first did and nothing is overwritten unseen."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from app import db
from app.cases import service, work
from app.cases.models import Case
from app.cases.work import CaseConflict
from app.settings import CasesSettings
from tests.app.cases import writers
from tests.app.cases.databases import empty_tables
from tests.support.waiting import until

T0 = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
SETTINGS = CasesSettings()
WAITING_FOR_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


@pytest.fixture
def pg_sessions(postgres_engine):
    empty_tables(postgres_engine)
    return db.session_factory(postgres_engine)


def _ticket(sessions) -> str:
    with sessions() as session:
        return writers.open_case(session, line="112", caller_number="+6281", channel_id=None, received_at=T0).ticket


def _in_thread(action) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = action()
        except Exception as exc:  # handed to the test, which asserts on it
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_an_agent_acting_while_another_transaction_takes_the_case_waits_for_it_then_gets_a_conflict(
    pg_sessions, postgres_engine
):
    sessions = pg_sessions
    ticket = _ticket(sessions)
    with sessions() as first:
        case = first.exec(select(Case).where(Case.ticket == ticket).with_for_update()).one()
        case.agent = "agent-1"  # the call was answered by agent-1, not yet committed
        first.add(case)
        first.flush()
        with sessions() as second:
            thread, outcome = _in_thread(lambda: work.classify(second, ticket, "agent-2", "prank", settings=SETTINGS))
            with postgres_engine.connect() as probe:
                until(lambda: probe.execute(WAITING_FOR_A_LOCK).scalar() == 1, 5, "agent-2 to wait for the row")
            assert thread.is_alive()
            first.commit()
            thread.join(5)
    assert isinstance(outcome.get("error"), CaseConflict), outcome
    assert str(outcome["error"]) == f"case {ticket} is taken by agent-1"
    with sessions() as session:
        assert service.get_case(session, ticket).classification is None


@pytest.mark.parametrize("round_", range(5))
def test_classifications_sent_at_once_are_each_recorded_with_the_one_before_them(sessions, round_):
    ticket = _ticket(sessions)
    choices = ["emergency", "information", "silent", "prank", "wrong-number"]
    start = threading.Barrier(len(choices))

    def classify(choice: str):
        with sessions() as session:
            start.wait(5)
            return work.classify(session, ticket, "agent-1", choice, settings=SETTINGS).classification

    threads = [_in_thread(lambda c=choice: classify(c)) for choice in choices]
    for thread, _ in threads:
        thread.join(10)
    assert [outcome.get("error") for _, outcome in threads] == [None] * len(choices)
    with sessions() as session:
        case = service.get_case(session, ticket)
        chain = [e.detail for e in service.events_of(session, case.id) if e.kind == "classified"]
    assert sorted(d["classification"] for d in chain) == sorted(choices)  # every one recorded
    assert [d["previous"] for d in chain] == [None, *(d["classification"] for d in chain[:-1])]
    assert case.classification == chain[-1]["classification"]
