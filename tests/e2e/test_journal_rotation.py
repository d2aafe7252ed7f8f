"""Asterisk's logs rotated while calls arrive and the call service is down: every call keeps exactly one case.

Each test is a row of docs/RELIABILITY.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from app.asterisk.journal_files import load_position, position_file, rotated
from app.audit.service import list_entries
from app.cases.service import list_cases
from app.cases.views import case_as_dict
from tests.e2e.system import SIAGA, new_caller

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]

DAY = 86400


def siaga(system, *args: str) -> subprocess.CompletedProcess:
    """A ``siaga`` command with the system's settings, as an operator (or cron) would run it."""
    return subprocess.run([str(SIAGA), *args], env=system.env, capture_output=True, text=True, timeout=60)


def call_answered_by(system, operator, caller: str) -> None:
    with system.call("112", caller, duration=1.5) as citizen:
        citizen.wait_for("answered", 20)
        citizen.wait_for("disconnected", 15)
    operator.wait_for("disconnected", 10)


def cases_of(system, callers: list[str]) -> dict[str, list[dict]]:
    with system.sessions() as session:
        found = [case_as_dict(session, c, events=True) for c in list_cases(session, limit=500)]
    return {c: [case for case in found if case["caller_number"] == c] for c in callers}


def test_a_log_rotation_while_calls_arrive_with_the_service_down_loses_no_line_and_reads_none_twice(system):
    journal = system.asterisk.fallback_journal
    callers = [new_caller() for _ in range(5)]
    system.stop_service()
    try:
        with system.line("operator-1", answer_after=0.3) as operator:
            for caller in callers[:2]:
                call_answered_by(system, operator, caller)
            # A call in progress while the logs rotate: its start line in the old file, its end line in the new.
            with system.call("112", callers[2], duration=30) as citizen:
                citizen.wait_for("answered", 20)
                done = siaga(system, "logs", "rotate")
                assert done.returncode == 0 and "rotated: " in done.stdout, done.stdout + done.stderr
                again = siaga(system, "logs", "rotate")  # the service has not read the rotated journal yet
                assert again.returncode == 1 and "has not yet read" in again.stdout
                citizen.stop()
            operator.wait_for("disconnected", 10)
            for caller in callers[3:]:
                call_answered_by(system, operator, caller)
        [old] = rotated(journal)
        assert re.fullmatch(r"fallback\.log\.\d{10}", old.name)
        assert f"|{callers[2]}|" in old.read_text() and f"|{callers[3]}|" in journal.read_text()
        # Unread, it stays, however old: retention removes only rotated journals the service has finished.
        os.utime(old, (time.time() - 60 * DAY, time.time() - 60 * DAY))
        assert siaga(system, "retention", "run", "--no-rotate").returncode == 0
        assert old.exists()
    finally:
        system.start_service()
    system.until(
        lambda: all(len(c) == 1 and c[0]["status"] == "ended" for c in cases_of(system, callers).values()),
        20,
        "one ended case per caller",
    )
    for caller, [case] in cases_of(system, callers).items():
        assert (case["disposition"], case["answered_by_unit"]) == ("fallback", "operator-1"), caller
        kinds = [e["kind"] for e in case["events"]]
        assert kinds.count("fallback.dialplan") == 1 and kinds.count("fallback.ended") == 1, caller
    assert system.health()["journal_rejected"] == 0
    # Caught up: the reader is in the new file; the rotated one is finished, so retention removes it,
    # and a new rotation is allowed again.
    where = position_file(system.tmp / "journal")
    system.until(lambda: load_position(where, journal).inode == journal.stat().st_ino, 10, "the reader caught up")
    purged = siaga(system, "retention", "run", "--no-rotate")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert not old.exists()
    with system.sessions() as session:
        [entry] = [e for e in list_entries(session) if e.action == "retention.run"][:1]
    assert entry.detail["removed"] == {"fallback journal": 1}
    assert siaga(system, "logs", "rotate").returncode == 0
