from __future__ import annotations

from typer.testing import CliRunner

from app import db
from cli.db import app
from tests.app.cases.databases import sqlite_url

runner = CliRunner()


def test_db_upgrade_migrates_the_configured_database(tmp_path, monkeypatch):
    url = sqlite_url(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    before = runner.invoke(app, ["current"])
    assert before.exit_code == 0 and "none" in before.stdout
    result = runner.invoke(app, ["upgrade"])
    assert result.exit_code == 0, result.output
    engine = db.make_engine(url)
    try:
        assert db.current_revision(engine) is not None
        assert db.current_revision(engine) in result.stdout
    finally:
        engine.dispose()
