"""``siaga users``: add (password from stdin), list, disable, demo; each change audited, bad input one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app import db
from app.settings import DEMO_SECRET
from cli import cli

runner = CliRunner()
STRONG = "kopi-Bali-7-ombak"


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'siaga.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("SIAGA_CONFIG", raising=False)
    monkeypatch.delenv("SIAGA_PROFILE", raising=False)
    db.migrate(url)
    return url


def users() -> list[dict]:
    result = runner.invoke(cli, ["users", "list", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def audit() -> list[tuple[str, str]]:
    result = runner.invoke(cli, ["audit", "list", "--json"])
    return [(e["action"], e["target"]) for e in json.loads(result.stdout)]


def test_add_list_and_disable_a_user_each_audited(url):
    added = runner.invoke(cli, ["users", "add", "wayan", "--role", "supervisor"], input=STRONG + "\n")
    assert added.exit_code == 0 and "added wayan (supervisor)" in added.stdout
    [user] = users()
    assert (user["name"], user["role"], user["disabled"]) == ("wayan", "supervisor", False)
    assert user["created_at"].endswith("Z")
    assert runner.invoke(cli, ["users", "disable", "wayan"]).exit_code == 0
    again = runner.invoke(cli, ["users", "disable", "wayan"])
    assert again.exit_code == 0 and "already disabled" in again.stdout
    assert users()[0]["disabled"] is True
    assert audit() == [("users.disable", "wayan"), ("users.add", "wayan")]


def test_the_table_fits_80_columns(url):
    for name in ("agent-kuta-utara-01", "made"):
        runner.invoke(cli, ["users", "add", name, "--role", "agent"], input=STRONG + "\n")
    table = runner.invoke(cli, ["users", "list"], env={"COLUMNS": "80"})
    assert table.exit_code == 0 and "agent-kuta-utara-01" in table.stdout and "WITA" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80


@pytest.mark.parametrize(
    ("argv", "stdin", "says"),
    [
        (["users", "add", "Wayan Sudirta", "--role", "agent"], STRONG, "is not a user name"),
        (["users", "add", "wayan", "--role", "king"], STRONG, "there is no role 'king'"),
        (["users", "add", "wayan", "--role", "agent"], "short-1", "shorter than 12 characters"),
        (["users", "add", "wayan", "--role", "agent"], DEMO_SECRET, "a well-known password"),
        (["users", "add", "wayan", "--role", "agent"], "wayan-kopi-bali-7", "contains the user name"),
        (["users", "add", "wayan", "--role", "agent"], "", "no password on stdin"),
        (["users", "demo"], "", "only in the demo profile"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_and_nothing_is_added(url, argv, stdin, says):
    result = runner.invoke(cli, argv, input=stdin + "\n")
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output
    assert users() == [] and audit() == []


def test_a_second_user_of_the_same_name_is_refused(url):
    runner.invoke(cli, ["users", "add", "wayan", "--role", "agent"], input=STRONG + "\n")
    result = runner.invoke(cli, ["users", "add", "wayan", "--role", "admin"], input=STRONG + "\n")
    assert result.exit_code == 2 and "user 'wayan' already exists" in result.output


def test_disabling_an_unknown_user_says_so(url):
    result = runner.invoke(cli, ["users", "disable", "nobody"])
    assert result.exit_code == 1 and "no user 'nobody'" in result.output


def test_the_demo_users_exist_only_in_the_demo_profile(url):
    result = runner.invoke(cli, ["users", "demo", "--profile", "demo"])
    assert result.exit_code == 0 and "supervisor-1" in result.stdout
    names = {u["name"]: u["role"] for u in users()}
    assert names == {f"agent-{i}": "agent" for i in range(1, 5)} | {"supervisor-1": "supervisor", "admin": "admin"}
    assert runner.invoke(cli, ["users", "demo", "--profile", "demo"]).exit_code == 0  # again: nothing new
    assert audit() == [("users.demo", db.describe(url))]


def test_a_database_before_the_users_table_says_to_upgrade(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    db.migrate(url, "0003_audit")
    result = runner.invoke(cli, ["users", "list"])
    assert result.exit_code == 1 and "siaga db upgrade" in result.output
