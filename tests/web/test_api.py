"""The JSON API over real HTTP (TestClient) on a real SQLite database: tokens, limits, cases, users."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app import db
from app.settings import DEMO_SECRET
from app.users.service import disable_user
from tests.web.conftest import KEY, PASSWORD, add_user, bearer, settings_for, token_of
from web import tokens
from web.main import create_app


def test_the_password_flow_gives_a_bearer_token_that_says_who_it_is(client):
    response = client.post("/api/auth/token", data={"username": "agent-1", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    me = client.get("/api/me", headers=bearer(body["access_token"]))
    assert me.json() == {"name": "agent-1", "role": "agent"}


@pytest.mark.parametrize("name", ["agent-1", "nobody"])
def test_a_wrong_password_or_an_unknown_user_is_401_and_says_neither(client, name):
    response = client.post("/api/auth/token", data={"username": name, "password": "not-the-password"})
    assert response.status_code == 401 and response.json() == {"detail": "wrong user name or password"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_too_many_wrong_passwords_for_one_user_are_429_with_retry_after_even_with_the_right_one(client):
    for _ in range(5):
        assert client.post("/api/auth/token", data={"username": "agent-1", "password": "wrong"}).status_code == 401
    refused = client.post("/api/auth/token", data={"username": "agent-1", "password": PASSWORD})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 300
    assert token_of(client, "supervisor-1")  # another user from the same address still may


def test_too_many_failures_from_one_address_are_429_for_every_user_name(client):
    for i in range(20):
        client.post("/api/auth/token", data={"username": f"guess-{i}", "password": "wrong"})
    refused = client.post("/api/auth/token", data={"username": "agent-1", "password": PASSWORD})
    assert refused.status_code == 429 and "retry-after" in refused.headers


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: tokens.issue(KEY, "api", -1, uid=1, sub="agent-1"), id="expired"),
        pytest.param(lambda: tokens.issue(b"another-key" * 4, "api", 600, uid=1, sub="agent-1"), id="forged"),
        pytest.param(lambda: tokens.issue(KEY, "session", 600, uid=1, sub="agent-1", csrf="x"), id="a-session"),
        pytest.param(lambda: tokens.issue(KEY, "api", 600, uid=1, sub="root-admin"), id="id-and-name-differ"),
        pytest.param(lambda: "v1.e30.AAAA", id="garbage"),
        pytest.param(lambda: "v1." + "A" * 5000, id="huge"),
    ],
)
def test_expired_forged_or_foreign_tokens_are_401(client, token):
    assert client.get("/api/me", headers=bearer(token())).status_code == 401


def test_a_token_with_a_changed_claim_no_longer_matches_its_signature(client):
    good = token_of(client, "agent-1")
    version, body, signature = good.split(".")
    claims = tokens.read(KEY, "api", good)
    forged = tokens.issue(b"x" * 48, "api", 600, **{**claims, "sub": "root-admin", "k": "api"})
    assert client.get("/api/me", headers=bearer(f"{version}.{forged.split('.')[1]}.{signature}")).status_code == 401


def test_a_disabled_user_cannot_log_in_and_their_tokens_stop_working(client, engine):
    token = token_of(client, "supervisor-1")
    with db.session_factory(engine)() as session:
        assert disable_user(session, "supervisor-1")
    assert client.get("/api/me", headers=bearer(token)).status_code == 401
    response = client.post("/api/auth/token", data={"username": "supervisor-1", "password": PASSWORD})
    assert response.status_code == 401


def test_cases_newest_first_with_attempts_and_utc_times(client, auth, tickets):
    body = client.get("/api/cases", headers=auth["agent"]).json()
    assert body["total"] == 3 and [c["ticket"] for c in body["items"]] == tickets[::-1]
    oldest = body["items"][-1]
    assert oldest["received_at"] == "2026-12-04T13:50:52Z"
    assert oldest["attempts"][0]["unit"] == "psc-kuta" and oldest["attempts"][0]["started_at"].endswith("Z")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"line": "112"}, [2, 0]),
        ({"status": "in-ivr"}, [1]),
        ({"from": "2026-12-04T14:00:00Z"}, [2, 1]),
        ({"to": "2026-12-04T22:00:00+08:00"}, [0]),  # WITA in, UTC compared
        ({"limit": 1, "offset": 1}, [1]),
        ({"line": "14084", "status": "ended"}, []),
    ],
)
def test_cases_filter_by_line_status_and_time_and_page(client, auth, tickets, query, expected):
    body = client.get("/api/cases", params=query, headers=auth["agent"]).json()
    assert [c["ticket"] for c in body["items"]] == [tickets[i] for i in expected]
    if "limit" in query:
        assert (body["total"], body["limit"], body["offset"]) == (3, 1, 1)


@pytest.mark.parametrize(
    "query",
    [{"line": "999"}, {"status": "lost"}, {"from": "2026-12-04T14:00:00"}, {"from": "yesterday"}, {"limit": 0}],
    ids=["line", "status", "naive-time", "not-a-time", "limit"],
)
def test_bad_case_filters_are_422_not_500(client, auth, query):
    assert client.get("/api/cases", params=query, headers=auth["agent"]).status_code == 422


def test_one_case_with_attempts_and_events_and_404_for_an_unknown_ticket(client, auth, tickets):
    case = client.get(f"/api/cases/{tickets[0]}", headers=auth["agent"]).json()
    assert case["ticket"] == tickets[0] and len(case["attempts"]) == 1
    assert [e["kind"] for e in case["events"]] == ["case.opened"] and case["events"][0]["at"].endswith("Z")
    missing = client.get("/api/cases/112-000000-00000", headers=auth["agent"])
    assert missing.status_code == 404 and missing.json() == {"detail": "no case with ticket 112-000000-00000"}


def test_only_admins_list_users(client, auth):
    assert client.get("/api/users", headers=auth["supervisor"]).status_code == 403
    users = client.get("/api/users", headers=auth["admin"]).json()
    assert [u["name"] for u in users] == ["agent-1", "root-admin", "supervisor-1"]
    assert users[0]["created_at"] == "2026-12-04T13:50:52Z" and "password_hash" not in users[0]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {"content": b'{"username": "agent-1", "password":', "headers": {"content-type": "application/json"}},
            id="json",
        ),
        pytest.param(
            {"content": b"username=%zz&password", "headers": {"content-type": "application/x-www-form-urlencoded"}},
            id="bad-form",
        ),
        pytest.param(
            {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}},
            id="multipart",
        ),
        pytest.param({"data": {"username": "a" * 100, "password": "x"}}, id="long-name"),
        pytest.param(
            {"data": {"username": "agent-1", "password": PASSWORD, "grant_type": "client_credentials"}}, id="grant"
        ),
        pytest.param(
            {"content": b"\xff\xfe\x00", "headers": {"content-type": "application/x-www-form-urlencoded"}}, id="binary"
        ),
    ],
)
def test_malformed_token_requests_are_4xx_never_500(client, body):
    response = client.post("/api/auth/token", **body)
    assert 400 <= response.status_code < 500, response.text


def production_client_with_a_demo_password_user(engine, **webapp):
    add_user(engine, "agent-9", "agent", DEMO_SECRET)
    return TestClient(create_app(settings_for(str(engine.url), **webapp), engine, KEY))


def test_the_demo_password_is_refused_outside_the_demo_profile(engine):
    with production_client_with_a_demo_password_user(engine) as client:
        response = client.post("/api/auth/token", data={"username": "agent-9", "password": DEMO_SECRET})
    assert response.status_code == 401


def test_the_demo_password_is_refused_in_the_demo_profile_beyond_loopback(engine):
    add_user(engine, "agent-9", "agent", DEMO_SECRET)
    settings = settings_for(str(engine.url), profile="demo", webapp={"host": "0.0.0.0"})
    with TestClient(create_app(settings, engine, KEY)) as client:
        assert client.post("/api/auth/token", data={"username": "agent-9", "password": DEMO_SECRET}).status_code == 401
    settings = settings_for(str(engine.url), profile="demo")
    with TestClient(create_app(settings, engine, KEY)) as client:
        assert client.post("/api/auth/token", data={"username": "agent-9", "password": DEMO_SECRET}).status_code == 200


def test_tokens_expire_after_token_minutes(engine):
    settings = settings_for(str(engine.url), webapp={"token_minutes": 2})
    with TestClient(create_app(settings, engine, KEY)) as client:
        token = token_of(client, "agent-1")
        claims = tokens.read(KEY, "api", token)
        assert claims is not None and claims["exp"] - claims["iat"] == 120
        assert tokens.read(KEY, "api", token, now=claims["exp"] - 1) is not None
        assert tokens.read(KEY, "api", token, now=claims["exp"]) is None
