"""``siaga retention run``: a dry run lists and changes nothing; a run removes, marks the cases, audits."""

from __future__ import annotations

import json
import os
import time

import pytest
from typer.testing import CliRunner

from app import db
from app.cases.views import case_as_dict
from app.retention.places import places
from app.settings import Settings
from cli import cli
from tests.app.cases import writers
from tests.app.cases.databases import sqlite_url

runner = CliRunner()
DAY = 86400


@pytest.fixture
def site(tmp_path, monkeypatch):
    """Settings on folders of this test (Asterisk's in a chroot of its own that runs nothing)."""
    chroot = tmp_path / "chroot"
    (chroot / "usr/sbin").mkdir(parents=True)
    (chroot / "usr/sbin/asterisk").write_text("")  # no Asterisk runs here: rotation is skipped
    url = sqlite_url(tmp_path)
    for key, value in {
        "DATABASE_URL": url,
        "SIAGA_RECORDINGS_DIR": str(tmp_path / "recordings"),
        "SIAGA_JOURNAL_DIR": str(tmp_path / "journal"),
        "SIAGA_ASTERISK__CHROOT": str(chroot),
        "SIAGA_ASTERISK__INSTANCE": f"retention-{os.getpid()}",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SIAGA_CONFIG", raising=False)
    monkeypatch.setenv("SUDO_USER", "supervisor-on-duty")
    db.migrate(url)
    return Settings.load(), db.session_factory(db.make_engine(url))


def aged(path, days: float, data: bytes = b"RIFF") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    at = time.time() - days * DAY
    os.utime(path, (at, at))


def case_with_recording(sessions, days: float, settings) -> str:
    with sessions() as session:
        ticket = writers.open_case(session, line="112", caller_number="0812", channel_id="1.1").ticket
        writers.update_case(session, ticket, recording=f"{ticket}.wav")
    aged(settings.recordings_dir / f"{ticket}.wav", days)
    return ticket


def audit() -> list[dict]:
    result = runner.invoke(cli, ["audit", "list", "--json"])
    return [e for e in json.loads(result.stdout) if e["action"] == "retention.run"]


def test_a_dry_run_lists_what_would_go_and_changes_nothing(site):
    settings, sessions = site
    old = case_with_recording(sessions, 91, settings)
    case_with_recording(sessions, 10, settings)
    log = places(settings).logs / "messages.1780000000"
    aged(log, 31)
    result = runner.invoke(cli, ["retention", "run", "--dry-run"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert f"{old}.wav" in result.stdout and "messages.1780000000" in result.stdout
    assert "1 recording, 1 asterisk log" in result.stdout
    assert (settings.recordings_dir / f"{old}.wav").exists() and log.exists()
    assert audit() == []


def test_a_run_removes_old_caller_data_marks_the_case_and_writes_an_audit_entry(site):
    settings, sessions = site
    old = case_with_recording(sessions, 91, settings)
    young = case_with_recording(sessions, 10, settings)
    aged(places(settings).logs / "messages.1780000000", 31)
    aged(places(settings).spool / "siaga-call-1780000000-3.wav", 120)
    result = runner.invoke(cli, ["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "logs not rotated" in result.stdout  # no Asterisk answers here
    assert not (settings.recordings_dir / f"{old}.wav").exists()
    assert (settings.recordings_dir / f"{young}.wav").exists()
    with sessions() as session:
        purged = case_as_dict(session, old, events=True)
        assert case_as_dict(session, young)["recording"] == f"{young}.wav"
    assert purged["recording"] is None  # a supervisor sees why there is no recording:
    [event] = [e for e in purged["events"] if e["kind"] == "recording.purged"]
    assert event["detail"] == {"file": f"{old}.wav", "by": "retention", "days": 90}
    [entry] = audit()
    assert entry["actor"].endswith("(sudo by supervisor-on-duty)")
    assert entry["detail"]["removed"] == {"recording": 1, "asterisk log": 1, "unfiled recording": 1}
    assert entry["detail"]["cases_marked"] == 1 and entry["detail"]["recordings_days"] == 90
    again = runner.invoke(cli, ["retention", "run"])
    assert "removed nothing" in again.stdout and len(audit()) == 2  # every run is on record


def test_retention_periods_are_settings(site, monkeypatch):
    settings, sessions = site
    monkeypatch.setenv("SIAGA_RETENTION__RECORDINGS_DAYS", "5")
    old = case_with_recording(sessions, 6, settings)
    assert runner.invoke(cli, ["retention", "run", "--no-rotate"]).exit_code == 0
    assert not (settings.recordings_dir / f"{old}.wav").exists()
    assert audit()[0]["detail"]["recordings_days"] == 5


def test_logs_are_not_rotated_while_the_journal_reader_is_behind_nor_without_asterisk(site):
    from app.asterisk.journal_files import Position, position_file, save_position

    settings, _ = site
    journal = places(settings).journal
    aged(journal, 0, b"current\n")
    aged(journal.with_name("fallback.log.1780000000"), 1, b"rotated, not read to its end\n")
    behind = Position(journal.with_name("fallback.log.1780000000").stat().st_ino, 0)
    save_position(position_file(settings.journal_dir), behind)
    refused = runner.invoke(cli, ["logs", "rotate"])
    assert refused.exit_code == 1 and "has not yet read the fallback journal rotated last" in refused.stdout
    save_position(position_file(settings.journal_dir), Position(journal.stat().st_ino, 8))
    small = runner.invoke(cli, ["logs", "rotate", "--above-mb", "50"])
    assert small.exit_code == 0 and "no log file has reached 50000000 bytes" in small.stdout
    down = runner.invoke(cli, ["logs", "rotate"])
    assert down.exit_code == 1 and "is not running" in down.stdout
