"""The agent routes: the web app checks the user, the call service (its real internal channel) the rest."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.internal import internal_channel
from tests.web.conftest import KEY, add_user, bearer, settings_for, token_of
from web.main import create_app


@pytest.fixture
def internal():
    with internal_channel() as channel:
        yield channel


@pytest.fixture
def web(engine, internal):
    add_user(engine, "agent-2", "agent")
    with TestClient(create_app(settings_for(str(engine.url), **internal.settings()), engine, KEY)) as client:
        yield client


def test_an_agent_goes_available_only_with_a_registered_phone(web, internal):
    headers = bearer(token_of(web, "agent-1"))
    refused = web.put("/api/agents/me/status", json={"status": "available"}, headers=headers)
    assert refused.status_code == 409
    assert "no registered phone" in refused.json()["detail"]
    internal.register("agent-1", "web")
    ok = web.put("/api/agents/me/status", json={"status": "available"}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "available" and ok.json()["phones"] == {"sip": False, "web": True}
    assert web.get("/api/agents/me", headers=headers).json()["status"] == "available"


def test_only_settable_statuses_are_accepted(web):
    headers = bearer(token_of(web, "agent-1"))
    bad = web.put("/api/agents/me/status", json={"status": "on-call"}, headers=headers)
    assert bad.status_code == 422
    assert web.put("/api/agents/me/status", content=b"{not json", headers=headers).status_code == 422


def test_a_user_who_is_not_a_directory_agent_has_no_state(web, engine):
    add_user(engine, "agent-77", "agent")
    headers = bearer(token_of(web, "agent-77"))
    answer = web.get("/api/agents/me", headers=headers)
    assert answer.status_code == 404
    assert "not a call-taker in the directory" in answer.json()["detail"]


def test_supervisors_see_every_agent_and_agents_do_not(web):
    agents = web.get("/api/agents", headers=bearer(token_of(web, "supervisor-1")))
    assert agents.status_code == 200
    assert [a["agent"] for a in agents.json()] == ["agent-1", "agent-2", "agent-3", "agent-4"]
    assert web.get("/api/agents", headers=bearer(token_of(web, "agent-1"))).status_code == 403


def test_dispatch_on_a_call_that_is_not_up_is_a_conflict(web, tickets):
    headers = bearer(token_of(web, "agent-1"))
    answer = web.post(
        f"/api/cases/{tickets[0]}/dispatch", json={"unit": "psc-kuta", "mode": "conference"}, headers=headers
    )
    assert answer.status_code == 409
    assert "no call in progress" in answer.json()["detail"]
    bad = web.post(f"/api/cases/{tickets[0]}/dispatch", json={"unit": "psc-kuta", "mode": "teleport"}, headers=headers)
    assert bad.status_code == 422


def test_suggestions_are_the_directorys_route_nearest_first(web, engine, tickets):
    from sqlmodel import select

    from app import db
    from app.cases.models import Case

    with db.session_factory(engine)() as session:
        case = session.exec(select(Case).where(Case.ticket == tickets[0])).one()
        case.category, case.district = "medical", "kuta"
        session.add(case)
        session.commit()
    headers = bearer(token_of(web, "agent-1"))
    units = web.get(f"/api/cases/{tickets[0]}/suggestions", headers=headers).json()
    assert units[0]["unit"] == "psc-kuta" and units[0]["covers_district"] is True
    assert all(u["agency"] == "psc" for u in units)
    distances = [u["distance_km"] for u in units[1:]]
    assert distances == sorted(distances)
    assert web.get("/api/cases/112-000000-00000/suggestions", headers=headers).status_code == 404


def test_the_call_service_down_is_a_clear_503(engine):
    from tests.support.webapp import free_port

    settings = settings_for(
        str(engine.url), web={"host": "127.0.0.1", "port": free_port()}, internal={"secret": "s" * 40}
    )
    with TestClient(create_app(settings, engine, KEY)) as client:
        answer = client.get("/api/agents/me", headers=bearer(token_of(client, "agent-1")))
    assert answer.status_code == 503
    assert "call service is not answering" in answer.json()["detail"]


def test_a_wrong_internal_secret_is_refused_by_the_call_service(engine, internal):
    settings = settings_for(
        str(engine.url), web={"host": "127.0.0.1", "port": internal.port}, internal={"secret": "w" * 40}
    )
    with TestClient(create_app(settings, engine, KEY)) as client:
        answer = client.get("/api/agents/me", headers=bearer(token_of(client, "agent-1")))
    assert answer.status_code == 503
    assert "refused the internal secret" in answer.json()["detail"]


def test_suggestions_take_the_offers_answers_while_the_case_has_none_yet(web, tickets):
    headers = bearer(token_of(web, "agent-1"))
    query = "?category=medical&district=kuta-utara"
    units = web.get(f"/api/cases/{tickets[0]}/suggestions{query}", headers=headers).json()
    assert units[0]["unit"] == "psc-kuta-utara" and units[0]["covers_district"] is True


def test_the_internal_channel_takes_only_its_secret_as_a_bearer_token(internal):
    import httpx

    from tests.support.internal import SECRET

    url = f"http://127.0.0.1:{internal.port}/internal/agents"
    for header in (SECRET, f"Basic {SECRET}", "Bearer", f"Bearer {SECRET}x"):
        assert httpx.get(url, headers={"Authorization": header}).status_code == 401, header
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {SECRET}"}).status_code == 200
