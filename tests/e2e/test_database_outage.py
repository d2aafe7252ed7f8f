"""PostgreSQL stopped: 112 calls are still put through; their cases appear, whole and once, when it is back.

The system of this module keeps its cases in a private PostgreSQL cluster
(tests/support/postgres.py) that the tests stop and start; the machine's
shared PostgreSQL is never touched.
"""

from __future__ import annotations

import re
import signal
from collections import Counter
from datetime import datetime

import httpx
import pytest

from app.cases.service import list_cases
from tests.e2e.conftest import running_system
from tests.e2e.system import new_caller
from tests.support.postgres import private_postgres  # noqa: F401 - the fixture

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk, pytest.mark.postgres]


@pytest.fixture(scope="module")
def system(tmp_path_factory, private_postgres):
    yield from running_system(tmp_path_factory, "e2e-db", database_url=private_postgres.url)


@pytest.fixture
def database_down(system, private_postgres):
    """PostgreSQL stopped (fast shutdown) for the test, and running again after it."""
    private_postgres.stop()
    yield private_postgres
    if not private_postgres.running():
        private_postgres.start()


def healthz(system) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{system.values['SIAGA_WEB__PORT']}/healthz", timeout=2)


def put_through(system, caller: str, *, busy_first: bool = False) -> str:
    """A 112 caller choosing medical (1) in Kuta (2); the Kuta unit answers (or is busy, and the next one does).

    The case log cannot say how the call is doing (the database is down): the service log does.
    """
    first = {"busy": True} if busy_first else {"answer_after": 0.3}
    with system.line("psc-kuta", **first) as kuta, system.line("psc-kuta-utara", answer_after=0.3) as utara:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, duration=25) as citizen:
            (utara if busy_first else kuta).wait_for("answered", 25)
            ticket = system.until(lambda: ticket_of(system, caller), 5, f"the service to log a ticket for {caller}")
            system.until(lambda: logged(system, rf"{ticket} FORWARDING -\[.*\]-> CONNECTED"), 10, f"{ticket} connected")
            citizen.stop()
    system.until(lambda: logged(system, rf"{ticket} CONNECTED -\[completed\]-> ENDED"), 15, f"{ticket} to end")
    return ticket


def ticket_of(system, caller: str) -> str | None:
    return logged(system, rf"(\S+) received on line 112 from {caller}")


def logged(system, pattern: str) -> str | None:
    found = re.search(pattern, system.service_log.read_text(errors="replace"))
    return (found.group(1) if found.groups() else found.group(0)) if found else None


def stamps(case: dict, *keys: str) -> list[datetime]:
    return [datetime.fromisoformat(case[k].replace("Z", "+00:00")) for k in keys]


def assert_whole_and_once(system, caller: str, units: list[tuple[str, str]]) -> None:
    case = system.case(caller, status={"ended"}, timeout=30)
    with system.sessions() as session:
        assert [c.caller_number for c in list_cases(session, limit=500)].count(caller) == 1
    assert (case["category"], case["district"], case["disposition"]) == ("medical", "kuta", "completed")
    received, ivr_done, forwarded, answered, ended = stamps(
        case, "received_at", "ivr_completed_at", "forwarded_at", "agency_answered_at", "ended_at"
    )
    assert received <= ivr_done <= forwarded <= answered <= ended
    assert [(a["unit"], a["outcome"]) for a in case["attempts"]] == units
    assert [a["seq"] for a in case["attempts"]] == list(range(1, len(units) + 1))
    assert all(a["started_at"] and a["ended_at"] for a in case["attempts"])
    kinds = Counter(e["kind"] for e in case["events"])
    assert kinds["received"] == kinds["ivr.completed"] == kinds["attempt.answered"] == kinds["ended"] == 1
    assert kinds["ivr.select"] == 3  # language, category, district: each once
    assert kinds["attempt.failed"] == len(units) - 1


def test_calls_during_a_database_outage_are_put_through_and_their_cases_appear_once_it_is_back(system, database_down):
    system.until(lambda: system.health().get("database") == "degraded", 15, "/healthz to report the database down")
    callers = [new_caller(), new_caller()]
    put_through(system, callers[0])
    put_through(system, callers[1], busy_first=True)
    response = healthz(system)
    assert response.status_code == 200  # calls go through: the service itself is fine
    body = response.json()
    assert (body["status"], body["database"]) == ("ok", "degraded") and body["backlog"] > 0
    assert body["oldest_pending_seconds"] > 0
    database_down.start()
    system.until(lambda: system.health().get("backlog") == 0, 30, "the journalled writes to be applied")
    assert system.health()["database"] == "ok"
    assert_whole_and_once(system, callers[0], [("psc-kuta", "answered")])
    assert_whole_and_once(system, callers[1], [("psc-kuta", "busy"), ("psc-kuta-utara", "answered")])


def test_cases_journalled_by_a_service_killed_during_the_outage_are_applied_after_its_restart(system, database_down):
    caller = new_caller()
    put_through(system, caller)  # returns once the call has ended, i.e. its last write is journalled
    assert system.health()["backlog"] > 0
    system.stop_service(signal.SIGKILL)  # the journal is all that is left of the call's case
    database_down.start()
    system.start_service()
    system.until(lambda: system.health().get("backlog") == 0, 30, "the previous run's writes to be replayed")
    assert_whole_and_once(system, caller, [("psc-kuta", "answered")])
    assert "replaying" in system.log_tail(200)


def test_a_service_started_while_the_database_is_down_takes_calls_and_writes_their_cases_later(system, database_down):
    system.stop_service()
    system.start_service()  # the database is down: the service must start all the same
    assert "database not reachable at start" in system.log_tail(400)
    caller = new_caller()
    put_through(system, caller)
    database_down.start()
    system.until(lambda: system.health().get("backlog") == 0, 30, "the journalled writes to be applied")
    assert_whole_and_once(system, caller, [("psc-kuta", "answered")])
