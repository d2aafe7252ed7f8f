"""Every route of the OpenAPI document checks its role: none given is 401 (API) or the login page
(pages), a role too low is 403, and the lowest role it declares gets in."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.users.models import ROLES
from app.users.service import get_user
from tests.support.internal import internal_channel
from tests.web.conftest import BY_ROLE, KEY, settings_for
from web import tokens
from web.deps import PUBLIC, ROLE_KEY
from web.main import create_app

SAMPLE = {"ticket": "112-261204-00001"}  # an ended 112 call nobody has taken (tests/web/conftest.add_cases)
# What an API route needs in its JSON body to get past validation (pages get the form's csrf field).
# The walk goes in the document's order: the case is closed after its other actions.
BODIES = {
    ("post", "/api/cases/112-261204-00001/notes"): {"text": "caller calm, ambulance needed"},
    ("post", "/api/cases/112-261204-00001/classification"): {"classification": "emergency"},
    ("post", "/api/cases/112-261204-00001/corrections"): {"district": "kuta"},
    ("put", "/api/agents/me/status"): {"status": "away"},
    ("post", "/api/cases/112-261204-00001/dispatch"): {"unit": "psc-kuta", "mode": "conference"},
}
# What an API route needs in its query string (the walk formats only the path).
QUERIES = {("get", "/api/kpi"): {"from": "2026-12-04T00:00:00+08:00", "to": "2026-12-05T00:00:00+08:00"}}
# Allowed in, and answered by the call service with what it knows: only directory agents have a state
# (404 for the others), and a dispatch needs a call in progress (409: this case's call has ended).
EXPECTED = {
    ("get", "/api/agents/me"): (200, 404),
    ("put", "/api/agents/me/status"): (200, 404),
    ("post", "/api/cases/112-261204-00001/dispatch"): (409,),
    ("get", "/api/agents/me/phone"): (200, 404),  # only directory call-takers have a browser phone
}


@pytest.fixture
def client(engine):
    """The web app, its agent routes answered by a real internal channel of the call service."""
    with internal_channel() as internal:
        with TestClient(create_app(settings_for(str(engine.url), **internal.settings()), engine, KEY)) as client:
            yield client


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
    params = QUERIES.get((method, path))
    if (method, path) in BODIES:
        body = BODIES[method, path]
        return client.request(method.upper(), path, params=params, headers=headers, json=body, follow_redirects=False)
    data = {"csrf": "c"} if method == "post" else None
    return client.request(method.upper(), path, params=params, headers=headers, data=data, follow_redirects=False)


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
        if allowed:
            expected = EXPECTED.get((method, path), (200, 201, 303))
            assert response.status_code in expected, (role, method, path, response.status_code, response.text[:200])
            assert not response.headers.get("location", "").startswith("/login?"), (role, method, path)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)


def test_an_api_token_is_no_page_session_and_a_page_session_is_no_api_token(client, auth):
    token = auth["admin"]["Authorization"].split()[1]
    assert call(client, "get", "/", cookies={"siaga_session": token}).status_code == 303
    assert call(client, "get", "/api/me", cookies=session_cookie(client, "admin")).status_code == 401
