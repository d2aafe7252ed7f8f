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
    result = runner.invoke(app, ["check", "--file", str(paths.DEMO_DIRECTORY)])
    assert result.exit_code == 0 and "ok" in result.stdout


def test_directory_check_exits_1_naming_file_and_entry(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(paths.DEMO_DIRECTORY.read_text().replace("agency: psc,", "agency: pcs,", 1))
    result = runner.invoke(app, ["check", "--file", str(broken)])
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
    loaded = runner.invoke(app, ["load", "--file", str(paths.DEMO_DIRECTORY)])
    assert loaded.exit_code == 0 and f"added {units}," in loaded.stdout
    again = runner.invoke(app, ["load", "--file", str(paths.DEMO_DIRECTORY)])
    assert "added 0," in again.stdout and f"unchanged {units}," in again.stdout
    result = runner.invoke(app, ["route", "112", "fire", "petang", "--db"], env=WIDE)
    assert result.exit_code == 0 and "damkar-petang" in result.stdout


def test_directory_route_from_an_empty_database_says_to_load(database):
    result = runner.invoke(app, ["route", "112", "fire", "petang", "--db"])
    assert result.exit_code == 1 and "siaga directory load" in result.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["112", "medical", "atlantis"], "there is no district 'atlantis' (districts: kuta-selatan, kuta,"),
        (["112", "pizza", "kuta"], "line 112 has no category 'pizza' (categories: medical, fire,"),
        (["999", "medical", "kuta"], "there is no line '999' (lines: 112, 14084)"),
    ],
)
def test_a_route_for_an_unknown_line_category_or_district_is_refused_naming_the_known_ones(args, says):
    result = runner.invoke(app, ["route", *args, "--file", str(paths.DEMO_DIRECTORY)])
    assert result.exit_code == 2 and says in result.stderr


def test_a_missing_directory_file_is_named_in_full_with_where_its_name_came_from(monkeypatch, tmp_path):
    monkeypatch.setenv("SIAGA_DIRECTORY", str(tmp_path / "gone.yaml"))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert f"directory {tmp_path / 'gone.yaml'} (from SIAGA_DIRECTORY)" in result.stderr


def test_the_route_table_fits_80_columns_with_every_dial_string_whole():
    result = runner.invoke(
        app, ["route", "112", "operator", "kuta", "-f", str(paths.DEMO_DIRECTORY)], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0 and max(map(len, result.stdout.splitlines())) <= 80
    for n in range(1, 5):
        assert f"PJSIP/operator-{n}" in result.stdout
