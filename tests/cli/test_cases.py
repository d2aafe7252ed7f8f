from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from app import db
from app.cases import work
from app.settings import CasesSettings
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
WORK_KEYS = {
    "agent",
    "taken_at",
    "classification",
    "dispatched_at",
    "dispatched_unit",
    "workflow",
    "silent",
    "closed_at",
    "closed_by",
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


def test_cases_list_json_shows_the_call_takers_work(database):
    first, second = _calls(database)
    with database() as s:
        writers.update_case(s, first, agent="agent-1", taken_at=T0 + timedelta(seconds=20), workflow="taken")
        work.classify(s, first, "agent-1", "emergency", settings=CasesSettings())
        work.close(s, first, "agent-1")
    cases = {c["ticket"]: c for c in json.loads(runner.invoke(app, ["list", "--json"]).stdout)}
    assert WORK_KEYS <= set(cases[first]) and WORK_KEYS <= set(cases[second])
    taken = {key: cases[first][key] for key in WORK_KEYS}
    assert datetime.fromisoformat(taken.pop("closed_at")) > T0
    assert taken == {
        "agent": "agent-1",
        "taken_at": "2026-11-27T03:00:20Z",
        "classification": "emergency",
        "dispatched_at": None,
        "dispatched_unit": None,
        "workflow": "closed",
        "closed_by": "agent-1",
        "silent": False,
    }
    assert {key: cases[second][key] for key in ("agent", "classification", "workflow", "silent")} == {
        "agent": None,
        "classification": None,
        "workflow": "new",
        "silent": False,
    }


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


def _realistic(sessions) -> list[str]:
    """A day's worth of cases as the call service writes them: long numbers, long units, every disposition."""
    tickets = []
    with sessions() as s:
        for n, (number, category, district, disposition, unit) in enumerate(
            [
                ("+6281234567890", "medical", "kuta-selatan", "completed", "psc-kuta-selatan"),
                ("081337123456", "infrastructure", "abiansemal", "abandoned-while-forwarding", None),
                ("+6282145678901", "sar", "kuta-utara", "fallback", "operator-4"),
                ("unknown", None, None, "abandoned-in-ivr", None),
            ]
        ):
            line = "14084" if category == "infrastructure" else "112"
            at = T0 + timedelta(minutes=n)
            ticket = writers.open_case(s, line=line, caller_number=number, channel_id=f"c{n}", received_at=at).ticket
            writers.update_case(
                s, ticket, category=category, district=district, status="ended", disposition=disposition,
                answered_by_unit=unit, ended_at=at + timedelta(minutes=2),
            )  # fmt: skip
            for k, attempt_unit in enumerate(["psc-kuta-selatan", "ambulans-kuta-utara-2", "operator-4"]):
                attempt = writers.start_attempt(
                    s, ticket, unit=attempt_unit, agency="psc", dial=f"PJSIP/{attempt_unit}",
                    started_at=at + timedelta(seconds=10 + k),
                )  # fmt: skip
                writers.update_attempt(s, attempt, outcome="no-answer", ended_at=at + timedelta(seconds=30 + k))
            writers.add_event(s, ticket, "ivr.select", {"category": category}, at=at + timedelta(seconds=5))
            tickets.append(ticket)
    return tickets


@pytest.mark.parametrize("command", [["list"], ["show", "last"]])
def test_tables_fit_80_columns_and_never_cut_a_ticket_a_caller_or_a_unit(database, command):
    tickets = _realistic(database)
    result = runner.invoke(app, command, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, "\n" + result.stdout
    shown = tickets if command == ["list"] else tickets[-1:]
    for text in [*shown, "+6281234567890", "081337123456"][: len(shown) + (2 if command == ["list"] else 0)]:
        assert any(text in line for line in lines), f"{text} cut or missing:\n{result.stdout}"
    if command != ["list"]:
        for unit, ended in (("psc-kuta-selatan", "30"), ("ambulans-kuta-utara-2", "31"), ("operator-4", "32")):
            row = next((line for line in lines if f" {unit} " in line), "")
            assert row.rstrip().endswith(f"11:03:{ended}"), f"{unit} or its end time cut:\n{result.stdout}"


def test_times_people_read_are_badung_time_with_their_zone(database):
    _calls(database)
    result = runner.invoke(app, ["show", "last"], env={"COLUMNS": "80"})
    assert "2026-11-27 11:01:00 WITA" in result.stdout  # T0 + 1 min is 03:01 UTC, 11:01 in Badung


def test_the_timeline_lists_events_in_the_order_they_happened(database):
    [ticket, *_] = _realistic(database)
    result = runner.invoke(app, ["show", ticket], env={"COLUMNS": "80"})
    timeline = result.stdout[result.stdout.index("Timeline") :]
    assert timeline.index("received") < timeline.index("ivr.select")


def test_an_unknown_line_is_refused_naming_the_lines(database):
    result = runner.invoke(app, ["list", "--line", "999"])
    assert result.exit_code == 2
    assert "no line '999' (lines: 112, 14084)" in result.stderr
