"""The audit log on both back ends: entries are stored as given and listed newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app import db
from app.audit.actor import os_actor
from app.audit.service import entry_as_dict, list_entries, record
from tests.app.cases.databases import migrated_engine, postgres_available, sqlite_url, throwaway_postgres
from tests.support.parts import need

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request, tmp_path):
    if request.param == "postgresql":
        need(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
        with throwaway_postgres() as url:
            yield from _session(url)
        return
    yield from _session(sqlite_url(tmp_path))


def _session(url: str):
    engine = migrated_engine(url)
    try:
        with db.session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def test_an_entry_keeps_actor_action_target_detail_and_utc_time(session):
    wita = timezone(timedelta(hours=8))
    entry = record(
        session,
        "root (sudo by wayan)",
        "directory.load",
        "/etc/siaga/directory.yaml",
        {"added": ["psc-kuta"], "removed": [], "unchanged": 3},
        at=T0.astimezone(wita),
    )
    session.expunge_all()
    [stored] = list_entries(session)
    assert stored.id == entry.id
    assert entry_as_dict(stored) == {
        "id": entry.id,
        "at": "2026-11-28T02:00:00Z",  # every JSON output: UTC with Z
        "actor": "root (sudo by wayan)",
        "action": "directory.load",
        "target": "/etc/siaga/directory.yaml",
        "detail": {"added": ["psc-kuta"], "removed": [], "unchanged": 3},
    }


def test_entries_are_listed_newest_first_up_to_the_limit(session):
    for minutes, action in ((0, "db.upgrade"), (10, "prompts.render"), (5, "directory.load")):
        record(session, "root", action, "x", at=T0 + timedelta(minutes=minutes))
    assert [e.action for e in list_entries(session)] == ["prompts.render", "directory.load", "db.upgrade"]
    assert [e.action for e in list_entries(session, limit=1)] == ["prompts.render"]


def test_an_entry_without_detail_is_stored_as_none(session):
    record(session, "root", "db.upgrade", "sqlite:///x.db")
    [stored] = list_entries(session)
    assert stored.detail is None and stored.at.tzinfo is not None


def test_the_actor_is_the_os_user_and_whoever_used_sudo(monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "root")
    monkeypatch.setenv("SUDO_USER", "wayan")
    assert os_actor() == "root (sudo by wayan)"
    monkeypatch.delenv("SUDO_USER")
    assert os_actor() == "root"
