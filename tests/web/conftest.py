"""A web app on a real, migrated SQLite database, with one user per role and a few cases.

Users are written with a hash made once per password (argon2 is slow on purpose);
logging in still checks it through argon2, as in production.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app import db
from app.cases.models import Attempt, Case, CaseEvent
from app.settings import Settings
from app.users.hashing import hash_password
from app.users.models import User
from tests.support.browser import browser, page, playwright, requested  # noqa: F401 - the fixtures, one Playwright
from web.main import create_app

PASSWORD = "kopi-Bali-7-ombak"
KEY = b"k" * 48
USERS = {"agent-1": "agent", "supervisor-1": "supervisor", "root-admin": "admin"}
BY_ROLE = {role: name for name, role in USERS.items()}
T0 = datetime(2026, 12, 4, 13, 50, 52, tzinfo=UTC)  # 21:50:52 WITA


@functools.cache
def _hash(password: str) -> str:
    return hash_password(password)


def add_user(engine, name: str, role: str, password: str = PASSWORD, disabled: bool = False) -> None:
    with db.session_factory(engine)() as session:
        session.add(User(name=name, role=role, password_hash=_hash(password), created_at=T0, disabled=disabled))
        session.commit()


def add_cases(engine) -> list[str]:
    """Three cases: 112 ended, 14084 in the IVR, 112 forwarding; the first with an attempt and an event."""
    tickets = []
    with db.session_factory(engine)() as session:
        for i, (line, status) in enumerate([("112", "ended"), ("14084", "in-ivr"), ("112", "forwarding")]):
            at = T0 + timedelta(minutes=10 * i)
            case = Case(ticket=f"{line}-261204-{i + 1:05d}", line=line, status=status, received_at=at)
            case.caller_number = "+6281234567"
            session.add(case)
            session.flush()
            if i == 0:
                session.add(Attempt(case_id=case.id, seq=1, unit="psc-kuta", dial="PJSIP/psc-kuta", started_at=at))
                session.add(CaseEvent(case_id=case.id, at=at, kind="case.opened", detail={"line": line}))
            tickets.append(case.ticket)
        session.commit()
    return tickets


def settings_for(url: str, **overrides) -> Settings:
    return Settings(
        profile=overrides.pop("profile", "production"), database={"url": url}, redis={"url": None}, **overrides
    )


@pytest.fixture(autouse=True)
def private_sip_secrets(tmp_path, monkeypatch):
    """Generated SIP passwords (the browser phone's) go to a temporary store, never to var/secrets."""
    monkeypatch.setattr("app.asterisk.secrets.SECRETS_FILE", tmp_path / "secrets" / "sip-passwords.json")


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'siaga.db'}"
    db.migrate(url)
    engine = db.make_engine(url)
    for name, role in USERS.items():
        add_user(engine, name, role)
    yield engine
    engine.dispose()


@pytest.fixture
def tickets(engine):
    return add_cases(engine)


@pytest.fixture
def settings(engine):
    return settings_for(str(engine.url))


@pytest.fixture
def client(settings, engine):
    with TestClient(create_app(settings, engine, KEY)) as client:
        yield client


def token_of(client: TestClient, name: str, password: str = PASSWORD) -> str:
    response = client.post("/api/auth/token", data={"username": name, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth(client):
    """Headers with a token of the user of each role: ``auth["admin"]``."""
    return {role: bearer(token_of(client, name)) for role, name in BY_ROLE.items()}
