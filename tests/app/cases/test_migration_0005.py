"""Migration 0005 (a call-taker's work) on both back ends: a case from before keeps every field and gets
workflow 'new', silent false and empty new fields; downgrading removes the columns again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text

from app import db
from tests.app.cases.databases import postgres_available, sqlite_url, throwaway_postgres
from tests.support.parts import need

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NEW_COLUMNS = {
    "agent",
    "taken_at",
    "dispatched_at",
    "dispatched_unit",
    "classification",
    "workflow",
    "silent",
    "closed_at",
    "closed_by",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    need(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
    with throwaway_postgres() as url:
        yield url


def _columns(engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("cases")}


def test_a_case_from_before_0005_is_new_not_silent_and_keeps_its_fields(url):
    db.migrate(url, "0004_users")
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO cases (ticket, line, caller_number, status, category, received_at)"
                    " VALUES ('112-261201-00001', '112', '+6281', 'ended', 'medical', :at)"
                ),
                {"at": AT},
            )
        assert db.migrate(url) == "0005_agent_work"
        with engine.connect() as connection:
            row = connection.execute(text("SELECT * FROM cases")).mappings().one()
        assert (row["workflow"], bool(row["silent"])) == ("new", False)
        assert all(row[name] is None for name in NEW_COLUMNS - {"workflow", "silent"})
        assert (row["ticket"], row["status"], row["category"], row["caller_number"]) == (
            "112-261201-00001",
            "ended",
            "medical",
            "+6281",
        )
        indexed = {i["name"] for i in inspect(engine).get_indexes("cases")}
        assert {"ix_cases_agent", "ix_cases_classification", "ix_cases_workflow", "ix_cases_caller_number"} <= indexed
    finally:
        engine.dispose()


def test_0005_downgrades_to_0004_without_its_columns(url):
    db.migrate(url)
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(db._alembic_config(connection), "0004_users")
        assert not NEW_COLUMNS & _columns(engine)
        assert db.migrate(url) == "0005_agent_work"
        assert NEW_COLUMNS <= _columns(engine)
    finally:
        engine.dispose()
