"""A call-taker's work over the API (TestClient, real SQLite): the case with its caller's history, filters,
notes, classification, corrections and closing; 404, 409 and 422 with their reasons, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app import db
from app.cases.models import Case
from app.settings import CasesSettings
from tests.web.conftest import KEY, add_user, bearer, settings_for, token_of
from web.main import create_app

TICKET = "112-261204-00001"  # ended, nobody took it (conftest.add_cases)
LIVE = "112-261204-00003"  # still forwarding


def set_case(engine, ticket: str, **fields) -> None:
    with db.session_factory(engine)() as session:
        case = session.exec(select(Case).where(Case.ticket == ticket)).one()
        for name, value in fields.items():
            setattr(case, name, value)
        session.commit()


@pytest.fixture
def agent_2(client, engine):
    add_user(engine, "agent-2", "agent")
    return bearer(token_of(client, "agent-2"))


def post(client, headers, ticket: str, action: str, body=None):
    return client.post(f"/api/cases/{ticket}/{action}", headers=headers, json=body)


# -- reading ------------------------------------------------------------------------------
def test_a_case_shows_the_earlier_calls_from_its_number_beside_its_fields(client, auth, tickets):
    post(client, auth["agent"], TICKET, "classification", {"classification": "prank"})
    case = client.get(f"/api/cases/{LIVE}", headers=auth["agent"]).json()
    assert case["ticket"] == LIVE and case["status"] == "forwarding" and case["events"] == []
    assert (case["workflow"], case["silent"], case["agent"], case["classification"]) == ("new", False, None, None)
    assert case["history"] == {"calls": 2, "last_classification": "prank", "prank_calls": 1, "flagged": False}
    first = client.get(f"/api/cases/{TICKET}", headers=auth["agent"]).json()
    assert first["history"] == {"calls": 0, "last_classification": None, "prank_calls": 0, "flagged": False}
    assert len(first["attempts"]) == 1 and first["events"][0]["kind"] == "case.opened"


@pytest.mark.parametrize("ticket", ["112-000000-00000", "nonsense", "112-261204-0000%00"])
def test_an_unknown_or_malformed_ticket_is_404(client, auth, tickets, ticket):
    assert client.get(f"/api/cases/{ticket}", headers=auth["agent"]).status_code == 404
    assert post(client, auth["agent"], ticket, "notes", {"text": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"agent": "agent-1"}, [TICKET]),
        ({"classification": "emergency"}, [TICKET]),
        ({"workflow": "closed"}, [TICKET]),
        ({"workflow": "new"}, ["112-261204-00003", "14084-261204-00002"]),
        ({"agent": "agent-2"}, []),
        ({"agent": "agent-1", "from": "2026-12-04T14:00:00Z"}, []),
    ],
)
def test_cases_filter_by_agent_classification_and_workflow(client, auth, engine, tickets, query, expected):
    set_case(engine, TICKET, agent="agent-1")
    post(client, auth["agent"], TICKET, "classification", {"classification": "emergency"})
    post(client, auth["agent"], TICKET, "close")
    body = client.get("/api/cases", params=query, headers=auth["agent"]).json()
    assert [c["ticket"] for c in body["items"]] == expected and body["total"] == len(expected)


@pytest.mark.parametrize(
    "query", [{"workflow": "done"}, {"agent": "Agent 1"}, {"classification": "Prank!"}, {"agent": "a\x00"}]
)
def test_bad_work_filters_are_422(client, auth, query):
    assert client.get("/api/cases", params=query, headers=auth["agent"]).status_code == 422


def test_the_configured_classifications_are_listed_for_the_agent_page(client, auth, engine):
    listed = client.get("/api/settings/classifications", headers=auth["agent"]).json()
    assert listed == ["emergency", "information", "silent", "prank", "wrong-number"]
    settings = settings_for(str(engine.url), cases=CasesSettings(classifications=["real", "prank"]))
    with TestClient(create_app(settings, engine, KEY)) as other:
        headers = bearer(token_of(other, "agent-1"))
        assert other.get("/api/settings/classifications", headers=headers).json() == ["real", "prank"]
        refused = post(other, headers, TICKET, "classification", {"classification": "emergency"})
        assert refused.json() == {"detail": "unknown classification 'emergency' (one of real, prank)"}


# -- actions ------------------------------------------------------------------------------
def test_a_note_is_201_with_its_event_and_joins_the_timeline(client, auth, tickets):
    response = post(client, auth["agent"], TICKET, "notes", {"text": "caller speaks Balinese only"})
    assert response.status_code == 201
    event = response.json()
    assert event["kind"] == "note" and event["detail"] == {"by": "agent-1", "text": "caller speaks Balinese only"}
    assert event["at"].endswith("Z")
    case = client.get(f"/api/cases/{TICKET}", headers=auth["agent"]).json()
    assert case["events"][-1] == event


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param({"content": b'{"text": "unfinished', "headers": {"content-type": "application/json"}}, id="json"),
        pytest.param(
            {"content": b"text=hello", "headers": {"content-type": "application/x-www-form-urlencoded"}}, id="form"
        ),
        pytest.param({"json": {}}, id="no-text"),
        pytest.param({"json": {"text": ""}}, id="empty"),
        pytest.param({"json": {"text": "   "}}, id="blank"),
        pytest.param({"json": {"text": "x" * 4001}}, id="too-long"),
        pytest.param({"json": {"text": "hi", "by": "supervisor-1"}}, id="extra-field"),
        pytest.param({"json": ["hi"]}, id="not-an-object"),
    ],
)
def test_a_malformed_or_empty_note_is_422(client, auth, tickets, request_):
    rest = {key: value for key, value in request_.items() if key != "headers"}
    headers = {**auth["agent"], **request_.get("headers", {})}
    response = client.post(f"/api/cases/{TICKET}/notes", headers=headers, **rest)
    assert response.status_code == 422, response.text


def test_classifying_answers_the_case_and_an_unknown_classification_is_422_naming_the_allowed(client, auth, tickets):
    response = post(client, auth["agent"], TICKET, "classification", {"classification": "wrong-number"})
    assert response.status_code == 200
    case = response.json()
    assert case["classification"] == "wrong-number" and case["events"][-1]["kind"] == "classified"
    assert "history" in case
    refused = post(client, auth["agent"], TICKET, "classification", {"classification": "spam"})
    assert refused.status_code == 422
    assert refused.json()["detail"].endswith("(one of emergency, information, silent, prank, wrong-number)")


def test_a_third_prank_from_one_number_flags_the_case(client, auth, tickets):
    for ticket in tickets:
        case = post(client, auth["agent"], ticket, "classification", {"classification": "prank"}).json()
    assert [e["kind"] for e in case["events"]] == ["classified", "caller.flagged"]
    assert case["events"][-1]["detail"]["prank_calls"] == 3


def test_corrections_answer_the_case_and_refuse_what_the_directory_lacks(client, auth, tickets):
    fixed = post(client, auth["agent"], TICKET, "corrections", {"category": "fire", "district": "mengwi"})
    assert fixed.status_code == 200 and (fixed.json()["category"], fixed.json()["district"]) == ("fire", "mengwi")
    for body, reason in (
        ({"category": "infrastructure"}, "no category 'infrastructure' on line 112"),
        ({"district": "ubud"}, "no district 'ubud'"),
        ({}, "nothing to correct"),
    ):
        refused = post(client, auth["agent"], TICKET, "corrections", body)
        assert refused.status_code == 422 and refused.json()["detail"].startswith(reason)


def test_an_unreadable_directory_is_503_for_corrections_only(client, auth, engine, tickets, tmp_path):
    settings = settings_for(str(engine.url), directory=tmp_path / "missing.yaml")
    with TestClient(create_app(settings, engine, KEY)) as other:
        headers = bearer(token_of(other, "agent-1"))
        response = post(other, headers, TICKET, "corrections", {"district": "kuta"})
        assert response.status_code == 503 and "cannot be read" in response.json()["detail"]
        assert post(other, headers, TICKET, "notes", {"text": "still works"}).status_code == 201


def test_closing_an_ended_call_and_the_conflicts_of_closing_twice_or_too_early(client, auth, tickets):
    closed = post(client, auth["agent"], TICKET, "close")
    assert closed.status_code == 200
    case = closed.json()
    assert (case["workflow"], case["closed_by"]) == ("closed", "agent-1") and case["closed_at"].endswith("Z")
    again = post(client, auth["agent"], TICKET, "close")
    assert again.status_code == 409 and again.json() == {"detail": f"case {TICKET} is already closed (by agent-1)"}
    early = post(client, auth["agent"], LIVE, "close")
    assert early.status_code == 409 and "the call is still forwarding" in early.json()["detail"]


def test_another_agents_case_is_409_naming_them_and_a_supervisor_may_act_on_it(client, auth, engine, tickets, agent_2):
    set_case(engine, TICKET, agent="agent-2")
    for action, body in (("notes", {"text": "mine"}), ("classification", {"classification": "prank"}), ("close", None)):
        refused = post(client, auth["agent"], TICKET, action, body)
        assert refused.status_code == 409 and refused.json() == {"detail": f"case {TICKET} is taken by agent-2"}
    assert post(client, agent_2, TICKET, "notes", {"text": "mine"}).status_code == 201
    assert post(client, auth["supervisor"], TICKET, "classification", {"classification": "prank"}).status_code == 200
    case = client.get(f"/api/cases/{TICKET}", headers=auth["agent"]).json()
    assert [(e["kind"], e["detail"]["by"]) for e in case["events"][1:]] == [
        ("note", "agent-2"),
        ("classified", "supervisor-1"),
    ]
