from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from app import db
from cli.cases import app
from tests.app.cases import writers
from tests.app.cases.databases import sqlite_url

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
CASE_KEYS = {
    "ticket",
    "line",
    "caller_number",
    "language",
    "category",
    "district",
    "status",
    "disposition",
    "received_at",
    "ivr_completed_at",
    "forwarded_at",
    "agency_answered_at",
    "ended_at",
    "recording",
    "attempts",
}
ATTEMPT_KEYS = {"unit", "agency", "dial", "started_at", "ringing_at", "answered_at", "ended_at", "outcome"}
runner = CliRunner()


@pytest.fixture
def database(tmp_path, monkeypatch):
    """A migrated SQLite database named by DATABASE_URL, as the CLI finds it; no secrets set."""
    url = sqlite_url(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("SIAGA_ARI__PASSWORD", raising=False)
    monkeypatch.setenv("SIAGA_PROFILE", "production")
    db.migrate(url)
    engine = db.make_engine(url)
    yield db.session_factory(engine)
    engine.dispose()


def _calls(sessions) -> list[str]:
    with sessions() as s:
        first = writers.open_case(s, line="112", caller_number="+6281", channel_id="a", received_at=T0).ticket
        writers.update_case(
            s,
            first,
            category="medical",
            district="kuta",
            status="ended",
            disposition="completed",
            ended_at=T0 + timedelta(minutes=3),
        )
        for n, unit in enumerate(["psc-kuta", "psc-kuta-selatan"]):
            writers.start_attempt(
                s, first, unit=unit, agency="psc", dial=f"PJSIP/{unit}", started_at=T0 + timedelta(seconds=30 + 20 * n)
            )
        second = writers.open_case(
            s, line="14084", caller_number="+6282", channel_id="b", received_at=T0 + timedelta(minutes=1)
        ).ticket
    return [first, second]


def test_cases_list_json_is_an_array_of_cases_with_attempts_newest_first(database):
    first, second = _calls(database)
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    cases = json.loads(result.stdout)
    assert [c["ticket"] for c in cases] == [second, first]
    assert all(CASE_KEYS <= set(c) for c in cases)
    assert [a["unit"] for a in cases[1]["attempts"]] == ["psc-kuta", "psc-kuta-selatan"]
    assert all(ATTEMPT_KEYS <= set(a) for a in cases[1]["attempts"])
    assert datetime.fromisoformat(cases[1]["ended_at"]) == T0 + timedelta(minutes=3)


def test_cases_list_filters_by_line_and_limits(database):
    first, second = _calls(database)
    only_112 = json.loads(runner.invoke(app, ["list", "--json", "--line", "112"]).stdout)
    assert [c["ticket"] for c in only_112] == [first]
    newest = json.loads(runner.invoke(app, ["list", "--json", "--limit", "1"]).stdout)
    assert [c["ticket"] for c in newest] == [second]


def test_cases_list_table_shows_tickets(database):
    first, second = _calls(database)
    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and first in result.stdout and second in result.stdout


def test_cases_show_json_has_attempts_and_timeline(database):
    first, _ = _calls(database)
    result = runner.invoke(app, ["show", first, "--json"])
    assert result.exit_code == 0, result.output
    case = json.loads(result.stdout)
    assert case["ticket"] == first and len(case["attempts"]) == 2
    assert [e["kind"] for e in case["events"]] == ["received"]


def test_cases_show_prints_fields_attempts_and_timeline(database):
    first, _ = _calls(database)
    result = runner.invoke(app, ["show", first], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in (first, "psc-kuta-selatan", "received", "completed"):
        assert text in result.stdout


def test_cases_show_unknown_ticket_exits_1_with_a_message(database):
    result = runner.invoke(app, ["show", "112-261127-99999"])
    assert result.exit_code == 1
    assert "no case with ticket '112-261127-99999'" in result.output


def test_cases_list_on_a_database_without_schema_says_to_upgrade(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url(tmp_path))
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 1 and "siaga db upgrade" in result.output
