from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app import db, paths
from app.directory.loader import load_directory
from cli.directory import app
from tests.app.cases.databases import sqlite_url

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def test_directory_check_accepts_the_demo_file():
    result = runner.invoke(app, ["check", str(paths.DEMO_DIRECTORY)])
    assert result.exit_code == 0 and "ok" in result.stdout


def test_directory_check_exits_1_naming_file_and_entry(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(paths.DEMO_DIRECTORY.read_text().replace("agency: psc,", "agency: pcs,", 1))
    result = runner.invoke(app, ["check", str(broken)])
    assert result.exit_code == 1
    assert "broken.yaml: units[0] (psc-kuta): agency 'pcs' is not defined" in result.output


def test_directory_route_prints_candidates_in_order():
    result = runner.invoke(app, ["route", "112", "medical", "kuta", "--file", str(paths.DEMO_DIRECTORY)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert result.stdout.index("psc-kuta ") < result.stdout.index("psc-kuta-selatan") < result.stdout.index("fallback")


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = sqlite_url(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    db.migrate(url)
    return url


def test_directory_load_then_route_from_the_database(database):
    units = len(load_directory(paths.DEMO_DIRECTORY).units)
    loaded = runner.invoke(app, ["load", str(paths.DEMO_DIRECTORY)])
    assert loaded.exit_code == 0 and f"added {units}," in loaded.stdout
    again = runner.invoke(app, ["load", str(paths.DEMO_DIRECTORY)])
    assert "added 0," in again.stdout and f"unchanged {units}," in again.stdout
    result = runner.invoke(app, ["route", "112", "fire", "petang", "--db"], env=WIDE)
    assert result.exit_code == 0 and "damkar-petang" in result.stdout


def test_directory_route_from_an_empty_database_says_to_load(database):
    result = runner.invoke(app, ["route", "112", "fire", "petang", "--db"])
    assert result.exit_code == 1 and "siaga directory load" in result.output
