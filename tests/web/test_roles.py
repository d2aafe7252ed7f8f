"""Every route of the OpenAPI document checks its role: none given is 401 (API) or the login page
(pages), a role too low is 403, and the lowest role it declares gets in."""

from __future__ import annotations

import re

import pytest

from app.users.models import ROLES
from app.users.service import get_user
from tests.web.conftest import BY_ROLE, KEY
from web import tokens
from web.deps import PUBLIC, ROLE_KEY

SAMPLE = {"ticket": "112-261204-00001"}
# Routes that answer 404 to a user of the right role who lacks the thing itself: only directory
# call-takers have a browser phone, and the supervisor and admin of these tests are none.
NOT_THEIRS = {("get", "/api/agents/me/phone")}


def operations(client):
    document = client.get("/openapi.json").json()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path), operation


def test_every_route_declares_its_lowest_role(client):
    found = {(m, p): op.get(ROLE_KEY) for m, p, op in operations(client)}
    assert found and all(role in (*ROLES, PUBLIC) for role in found.values()), found
    assert {key for key, role in found.items() if role == PUBLIC} == {
        ("post", "/api/auth/token"),
        ("get", "/login"),
        ("post", "/login"),
    }


def session_cookie(client, role: str) -> dict[str, str]:
    with client.app.state.ctx.sessions() as session:
        user = get_user(session, BY_ROLE[role])
    assert user is not None
    return {"siaga_session": tokens.issue(KEY, "session", 600, uid=user.id, sub=user.name, csrf="c")}


def call(client, method, path, *, headers=None, cookies=None):
    client.cookies.clear()
    for name, value in (cookies or {}).items():
        client.cookies.set(name, value)
    data = {"csrf": "c"} if method == "post" else None
    return client.request(method.upper(), path, headers=headers, data=data, follow_redirects=False)


def test_no_credentials_is_401_for_the_api_and_the_login_page_for_pages(client, tickets):
    for method, path, operation in operations(client):
        if operation[ROLE_KEY] == PUBLIC:
            continue
        response = call(client, method, path)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert response.status_code == 303 and response.headers["location"].startswith("/login"), (method, path)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_in_exactly_where_its_rank_allows(client, auth, tickets, role):
    for method, path, operation in operations(client):
        lowest = operation[ROLE_KEY]
        if lowest == PUBLIC:
            continue
        if path.startswith("/api/"):
            response = call(client, method, path, headers=auth[role])
        else:
            response = call(client, method, path, cookies=session_cookie(client, role))
        allowed = ROLES.index(role) >= ROLES.index(lowest)
        if allowed and (method, path) in NOT_THEIRS and BY_ROLE[role] != "agent-1":
            assert response.status_code == 404 and "directory" in response.json()["detail"], (role, method, path)
        elif allowed:
            assert response.status_code in (200, 303), (role, method, path, response.status_code)
            assert not response.headers.get("location", "").startswith("/login?"), (role, method, path)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)


def test_an_api_token_is_no_page_session_and_a_page_session_is_no_api_token(client, auth):
    token = auth["admin"]["Authorization"].split()[1]
    assert call(client, "get", "/", cookies={"siaga_session": token}).status_code == 303
    assert call(client, "get", "/api/me", cookies=session_cookie(client, "admin")).status_code == 401
