"""State-changing commands leave an audit entry naming who did what to which file or database."""

from __future__ import annotations

import getpass
import json

import pytest
from typer.testing import CliRunner

from app import db, paths
from cli import cli
from cli.db import _revision
from tests.app.cases.databases import sqlite_url

runner = CliRunner()


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = sqlite_url(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("SIAGA_CONFIG", raising=False)
    monkeypatch.setenv("SUDO_USER", "wayan-on-duty")  # never the account running the tests
    return url


def entries(limit: int = 50) -> list[dict]:
    result = runner.invoke(cli, ["audit", "list", "--json", "--limit", str(limit)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_directory_load_records_the_actor_and_the_file(url, tmp_path):
    db.migrate(url)
    copy = tmp_path / "badung.yaml"
    copy.write_text(paths.DEMO_DIRECTORY.read_text())
    assert runner.invoke(cli, ["directory", "load", "--file", str(copy)]).exit_code == 0
    [entry] = entries()
    assert entry["action"] == "directory.load" and entry["target"] == str(copy.resolve())
    assert entry["actor"] == f"{getpass.getuser()} (sudo by wayan-on-duty)"
    assert entry["detail"]["removed"] == [] and "psc-kuta" in entry["detail"]["added"]


def test_db_upgrade_records_the_revisions_only_when_it_changed_something(url):
    first = runner.invoke(cli, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    [entry] = entries()
    assert entry["action"] == "db.upgrade" and entry["detail"]["from"] is None
    assert entry["detail"]["to"] == _revision(url) and entry["detail"]["to"] in first.stdout


def test_audit_list_limits_and_orders_newest_first(url):
    db.migrate(url)
    for _ in range(2):
        assert runner.invoke(cli, ["directory", "load", "--file", str(paths.DEMO_DIRECTORY)]).exit_code == 0
    listed = entries()
    assert len(listed) == 2 and listed[0]["id"] > listed[1]["id"]
    assert [e["id"] for e in entries(limit=1)] == [listed[0]["id"]]
    table = runner.invoke(cli, ["audit", "list"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and table.stdout.count("directory.load") == 2


def test_a_database_without_the_audit_table_keeps_the_action_and_says_it_was_not_audited(url):
    db.migrate(url, "0002")  # the schema before the audit log existed
    result = runner.invoke(cli, ["directory", "load", "--file", str(paths.DEMO_DIRECTORY)])
    assert result.exit_code == 0 and "loaded" in result.stdout
    assert "not audited" in result.output and "siaga db upgrade" in result.output
