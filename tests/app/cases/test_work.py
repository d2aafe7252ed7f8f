"""A call-taker's actions on a case, on both back ends: each one a timestamped event naming who did it,
refused with a clear reason when the input, the case's state or its owner says no."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.cases import service, work
from app.cases.work import CaseConflict, CaseRuleError
from app.clock import utcnow
from app.directory.loader import load_directory
from app.settings import CasesSettings
from tests.app.cases import writers

T0 = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
SETTINGS = CasesSettings()  # threshold 3 within 30 days
DIRECTORY = load_directory("app/directory/demo-badung.yaml")


def a_case(session, *, line="112", number="+6281234", at=T0, **fields) -> str:
    ticket = writers.open_case(session, line=line, caller_number=number, channel_id=None, received_at=at).ticket
    if fields:
        writers.update_case(session, ticket, **fields)
    return ticket


def events(session, ticket: str) -> list[tuple[str, dict | None]]:
    case = service.get_case(session, ticket)
    return [(e.kind, e.detail) for e in service.events_of(session, case.id) if e.kind != "received"]


def unchanged(session, ticket: str, action) -> None:
    """``action`` raises and the case and its events stay as they were."""
    before = (service.get_case(session, ticket).model_dump(), events(session, ticket))
    with pytest.raises((CaseConflict, CaseRuleError, service.CaseNotFound)) as raised:
        action()
    session.expire_all()
    assert (service.get_case(session, ticket).model_dump(), events(session, ticket)) == before
    return raised.value


# -- notes --------------------------------------------------------------------------------
def test_notes_are_added_in_order_with_who_and_when_and_never_replaced(session):
    ticket = a_case(session)
    start = utcnow()
    first = work.add_note(session, ticket, "agent-1", "  caller breathing, no words  ")
    work.add_note(session, ticket, "agent-1", "second line\nwith a break")
    assert first.id is not None and start <= first.at <= utcnow()
    assert events(session, ticket) == [
        ("note", {"by": "agent-1", "text": "caller breathing, no words"}),
        ("note", {"by": "agent-1", "text": "second line\nwith a break"}),
    ]


@pytest.mark.parametrize("text", ["", "   ", "x" * 4001, "a\x00b"])
def test_an_empty_or_overlong_note_is_refused(session, text):
    ticket = a_case(session)
    error = unchanged(session, ticket, lambda: work.add_note(session, ticket, "agent-1", text))
    assert isinstance(error, CaseRuleError) and "1 to 4000 characters" in str(error)


@pytest.mark.parametrize("ticket", ["112-261204-99999", "not-a-ticket", "112-261204-\x00"])
def test_an_unknown_or_malformed_ticket_is_not_found(session, ticket):
    with pytest.raises(service.CaseNotFound, match="no case with ticket"):
        work.add_note(session, ticket, "agent-1", "hello")


# -- classification -----------------------------------------------------------------------
def test_classifying_records_the_previous_classification_and_the_same_one_again_changes_nothing(session):
    ticket = a_case(session)
    assert work.classify(session, ticket, "agent-1", "silent", settings=SETTINGS).classification == "silent"
    work.classify(session, ticket, "agent-1", "emergency", settings=SETTINGS)
    work.classify(session, ticket, "agent-1", "emergency", settings=SETTINGS)
    assert events(session, ticket) == [
        ("classified", {"by": "agent-1", "classification": "silent", "previous": None}),
        ("classified", {"by": "agent-1", "classification": "emergency", "previous": "silent"}),
    ]
    assert service.get_case(session, ticket).classification == "emergency"


def test_an_unknown_classification_is_refused_naming_the_configured_ones(session):
    ticket = a_case(session)
    error = unchanged(session, ticket, lambda: work.classify(session, ticket, "agent-1", "spam", settings=SETTINGS))
    assert str(error) == "unknown classification 'spam' (one of emergency, information, silent, prank, wrong-number)"
    only_two = CasesSettings(classifications=["real", "prank"])
    assert work.classify(session, ticket, "agent-1", "real", settings=only_two).classification == "real"


def test_the_prank_that_brings_a_number_to_the_threshold_within_the_window_flags_its_case(session):
    old = a_case(session, at=T0 - timedelta(days=31))  # outside the 30-day window
    tickets = [a_case(session, at=T0 + timedelta(days=n)) for n in range(3)]
    other_number = a_case(session, number="+6289999", at=T0 + timedelta(days=1))
    for ticket in [old, other_number, *tickets[:2]]:
        work.classify(session, ticket, "agent-1", "prank", settings=SETTINGS)
    assert not any(kind == "caller.flagged" for t in [old, *tickets[:2]] for kind, _ in events(session, t))
    work.classify(session, tickets[2], "agent-2", "prank", settings=SETTINGS)
    assert events(session, tickets[2])[-1] == (
        "caller.flagged",
        {"by": "agent-2", "caller_number": "+6281234", "prank_calls": 3, "threshold": 3, "window_days": 30.0},
    )


def test_an_anonymous_caller_is_never_flagged(session):
    tickets = [a_case(session, number="unknown", at=T0 + timedelta(hours=n)) for n in range(3)]
    for ticket in tickets:
        work.classify(session, ticket, "agent-1", "prank", settings=CasesSettings(prank_threshold=1))
    assert all(kind == "classified" for t in tickets for kind, _ in events(session, t))


# -- corrections --------------------------------------------------------------------------
def test_a_correction_records_each_changed_field_from_and_to(session):
    ticket = a_case(session, category="medical", district="kuta")
    case = work.correct(session, ticket, "agent-1", category="fire", district="mengwi", directory=DIRECTORY)
    assert (case.category, case.district) == ("fire", "mengwi")
    work.correct(session, ticket, "agent-1", district="mengwi", directory=DIRECTORY)  # already so: no event
    assert events(session, ticket) == [
        ("corrected", {"by": "agent-1", "field": "category", "from": "medical", "to": "fire"}),
        ("corrected", {"by": "agent-1", "field": "district", "from": "kuta", "to": "mengwi"}),
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"category": "infrastructure"}, "no category 'infrastructure' on line 112 (categories: medical, fire,"),
        ({"district": "ubud"}, "no district 'ubud' (districts: kuta-selatan, kuta,"),
        ({}, "nothing to correct"),
    ],
)
def test_a_category_of_another_line_an_unknown_district_or_nothing_is_refused(session, fields, message):
    ticket = a_case(session, category="medical")
    error = unchanged(session, ticket, lambda: work.correct(session, ticket, "agent-1", **fields, directory=DIRECTORY))
    assert isinstance(error, CaseRuleError) and str(error).startswith(message)


# -- closing ------------------------------------------------------------------------------
def test_closing_an_ended_call_records_who_and_when_and_a_second_close_is_a_conflict(session):
    ticket = a_case(session, status="ended", workflow="agency-answered")
    case = work.close(session, ticket, "agent-1")
    assert (case.workflow, case.closed_by) == ("closed", "agent-1")
    assert case.closed_at is not None and utcnow() - case.closed_at < timedelta(seconds=5)
    assert events(session, ticket) == [("closed", {"by": "agent-1", "previous": "agency-answered"})]
    error = unchanged(session, ticket, lambda: work.close(session, ticket, "agent-1"))
    assert isinstance(error, CaseConflict) and str(error) == f"case {ticket} is already closed (by agent-1)"


def test_a_case_handed_to_the_fallback_route_may_be_closed(session):
    ticket = a_case(session, status="fallback")
    assert work.close(session, ticket, "agent-1").workflow == "closed"


@pytest.mark.parametrize("status", ["in-ivr", "forwarding", "connected"])
def test_a_case_whose_call_is_still_on_cannot_be_closed(session, status):
    ticket = a_case(session, status=status)
    error = unchanged(session, ticket, lambda: work.close(session, ticket, "agent-1"))
    assert isinstance(error, CaseConflict) and f"the call is still {status}" in str(error)


def test_a_closed_case_takes_notes_but_only_a_supervisor_changes_it(session):
    ticket = a_case(session, status="ended")
    work.close(session, ticket, "agent-1")
    work.add_note(session, ticket, "agent-1", "caller called back, fine")
    error = unchanged(
        session, ticket, lambda: work.classify(session, ticket, "agent-1", "information", settings=SETTINGS)
    )
    assert "is closed (by agent-1); only a supervisor may change it" in str(error)
    unchanged(session, ticket, lambda: work.correct(session, ticket, "agent-1", district="kuta", directory=DIRECTORY))
    case = work.classify(session, ticket, "supervisor-1", "information", settings=SETTINGS, role="supervisor")
    assert case.classification == "information"


# -- who may act --------------------------------------------------------------------------
def test_only_the_agent_who_took_the_call_or_a_supervisor_may_act_on_it(session):
    ticket = a_case(session, agent="agent-1", status="ended")
    for action in (
        lambda: work.add_note(session, ticket, "agent-2", "mine now"),
        lambda: work.classify(session, ticket, "agent-2", "prank", settings=SETTINGS),
        lambda: work.correct(session, ticket, "agent-2", district="kuta", directory=DIRECTORY),
        lambda: work.close(session, ticket, "agent-2"),
    ):
        error = unchanged(session, ticket, action)
        assert isinstance(error, CaseConflict) and str(error) == f"case {ticket} is taken by agent-1"
    work.add_note(session, ticket, "agent-1", "mine")
    work.add_note(session, ticket, "supervisor-1", "looked at it", role="supervisor")
    work.classify(session, ticket, "root", "emergency", settings=SETTINGS, role="admin")
    assert [d["by"] for _, d in events(session, ticket)] == ["agent-1", "supervisor-1", "root"]


def test_an_action_after_a_read_in_the_same_session_sees_the_row_as_it_is_now(sessions):
    with sessions() as reader, sessions() as writer:
        ticket = a_case(writer)
        seen = service.get_case(reader, ticket)  # held: the reader's session keeps this object
        assert seen.agent is None
        writers.update_case(writer, ticket, agent="agent-2")
        with pytest.raises(CaseConflict, match="taken by agent-2"):
            work.classify(reader, ticket, "agent-1", "prank", settings=SETTINGS)
        assert seen.agent == "agent-2"


# -- a caller's history -------------------------------------------------------------------
def test_a_callers_history_counts_earlier_calls_their_last_classification_and_recent_pranks(session):
    now = T0 + timedelta(days=40)
    for days, classification in ((1, "prank"), (15, "prank"), (20, "prank"), (35, "information"), (36, None)):
        ticket = a_case(session, at=T0 + timedelta(days=days))
        if classification:
            work.classify(session, ticket, "agent-1", classification, settings=SETTINGS)
    a_case(session, at=now)  # the call on screen itself, and later ones, are not history
    a_case(session, at=now + timedelta(days=1))
    a_case(session, number="+6289999", at=T0)
    assert work.caller_history(session, "+6281234", now, settings=SETTINGS) == {
        "calls": 5,
        "last_classification": "information",  # the newest earlier call has none
        "prank_calls": 2,  # the one 39 days ago is outside the window
        "flagged": False,
    }
    assert work.caller_history(session, "+6281234", now, settings=CasesSettings(prank_threshold=2))["flagged"]
    assert work.caller_history(session, "+6281234", now, settings=CasesSettings(prank_window_days=40)) == {
        "calls": 5,
        "last_classification": "information",
        "prank_calls": 3,
        "flagged": True,
    }


@pytest.mark.parametrize("number", [None, "", "unknown", "Anonymous"])
def test_an_anonymous_caller_has_no_history(session, number):
    for n in range(3):
        a_case(session, number=number, at=T0 + timedelta(hours=n))
    assert work.caller_history(session, number, T0 + timedelta(days=1), settings=SETTINGS) == {
        "calls": 0,
        "last_classification": None,
        "prank_calls": 0,
        "flagged": False,
    }
