"""The API, fuzzed from its own OpenAPI document with an admin's token: no request gets a 5xx.

Schemathesis generates requests (derandomized: the same ones every run) for
every /api operation, valid and not, against the ASGI app on a real SQLite
database holding users and cases. The schema is needed when the module is
collected, so the database is made then, in a folder removed after the module.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from app import db
from tests.support.internal import internal_channel
from tests.web.conftest import KEY, USERS, add_cases, add_user, bearer, settings_for, token_of
from web.main import create_app

FOLDER = Path(tempfile.mkdtemp(prefix="siaga-web-fuzz-"))
URL = f"sqlite:///{FOLDER / 'siaga.db'}"
db.migrate(URL)
ENGINE = db.make_engine(URL)
for _name, _role in USERS.items():
    add_user(ENGINE, _name, _role)
add_cases(ENGINE)
# The agent routes ask the call service: a real internal channel answers them (without Asterisk).
_INTERNAL = internal_channel()
INTERNAL = _INTERNAL.__enter__()
APP = create_app(settings_for(URL, **INTERNAL.settings()), ENGINE, KEY)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(path_regex="^/api/")


@pytest.fixture(scope="module", autouse=True)
def _database():
    yield
    _INTERNAL.__exit__(None, None, None)
    ENGINE.dispose()
    shutil.rmtree(FOLDER, ignore_errors=True)


@pytest.fixture(scope="module")
def admin_headers():
    with TestClient(APP) as client:
        return bearer(token_of(client, "root-admin"))


@schema.parametrize()
@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_api_requests_never_get_a_server_error(case, admin_headers):
    response = case.call(headers=admin_headers)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text)
