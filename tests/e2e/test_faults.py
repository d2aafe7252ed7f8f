"""Faults on the call path, end to end: no 112 call and no case is lost.

Each test is a row of docs/RELIABILITY.md: the fault, what callers experienced,
calls lost, case data lost.
"""

from __future__ import annotations

import signal
import time
from contextlib import contextmanager
from datetime import datetime

import pytest

from tests.e2e.system import new_caller, wav_seconds

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]


def test_callers_in_the_ivr_when_the_service_is_killed_reach_a_human_and_their_cases_are_completed(system):
    callers = [new_caller(), new_caller()]
    # Phones without call waiting: one call each. op2 answers slower, so the first caller
    # is not taken by both; the second caller may need a second round of the fallback loop.
    with system.line("operator-1", answer_after=0.3) as op1, system.line("operator-2", answer_after=2.0) as op2:
        citizens = [system.call("112", c, duration=90) for c in callers]
        try:
            for c in callers:
                system.case(c, status={"in-ivr"})
            system.stop_service(signal.SIGKILL)  # nothing is handed over: the watchdog must act
            killed_at = time.time()
            op1.wait_for("answered", 20)
            op2.wait_for("answered", 40)
            journal = system.asterisk.fallback_journal
            system.until(
                lambda: journal.read_text().count("SIAGA-JOURNAL|") >= 2,
                5,
                f"both callers in the fallback journal: {journal.read_text()!r}",
            )
        finally:
            for citizen in citizens:
                citizen.stop()
    system.start_service()  # back: it completes the cases from the fallback journal
    answered_by = set()
    for c in callers:
        case = system.case(c, status={"ended"}, timeout=15)
        assert case["disposition"] == "fallback"
        answered_by.add(case["answered_by_unit"])
        answered = datetime.fromisoformat(case["agency_answered_at"].replace("Z", "+00:00")).timestamp()
        assert answered - killed_at < 40  # seconds from the crash to a human (EPOCH has 1 s steps)
        kinds = [e["kind"] for e in case["events"]]
        assert kinds.count("fallback.dialplan") == 1 and kinds.count("fallback.ended") == 1
        assert [e["detail"]["reason"] for e in case["events"] if e["kind"] == "fallback.dialplan"] == ["WATCHDOG"]
        # The whole call, IVR and the operator's answer, recorded by the dialplan and filed after the restart.
        filed = system.until(lambda: system.case(c, status={"ended"}).get("recording"), 10, "the recording filed")
        assert wav_seconds(system.settings.recordings_dir / filed) > 2.0
    assert answered_by == {"operator-1", "operator-2"}


@contextmanager
def killed_mid_conversation(system, caller: str):
    """A 112 caller talking to psc-kuta when the call service is killed (SIGKILL): (unit, citizen, case)."""
    with system.line("psc-kuta", answer_after=0.5) as unit:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, dtmf_gap=0.8, duration=120) as citizen:
            unit.wait_for("answered", 30)
            case = system.case(caller, status={"connected"})
            system.stop_service(signal.SIGKILL)
            yield unit, citizen, case


def test_a_conversation_when_the_service_is_killed_goes_on_and_its_case_is_closed_after_the_restart(system):
    caller = new_caller()
    with killed_mid_conversation(system, caller) as (unit, citizen, case):
        time.sleep(3)  # longer than the watchdog's grace: it must leave a conversation alone
        system.start_service()
        system.until(lambda: "adopted as connected" in system.log_tail(400), 15, "the conversation adopted")
        time.sleep(1)
        assert "disconnected" not in citizen.names() and "disconnected" not in unit.names()  # never cut
        citizen.stop()  # the caller hangs up: the service releases the agency line
        unit.wait_for("disconnected", 10)
    ended = system.case(caller, status={"ended"}, timeout=15)
    assert ended["ticket"] == case["ticket"] and ended["disposition"] == "completed"
    assert ended["answered_by_unit"] == "psc-kuta"
    resumed = [e["detail"] for e in ended["events"] if e["kind"] == "resumed"]
    assert len(resumed) == 1 and resumed[0]["connected_leg"]
    # The whole call, recorded by the dialplan from its arrival, filed by the restarted service.
    assert wav_seconds(system.settings.recordings_dir / ended["recording"]) > 5.0


def test_a_conversation_that_ends_while_the_service_is_down_has_its_case_closed_after_the_restart(system):
    caller = new_caller()
    with killed_mid_conversation(system, caller) as (unit, citizen, case):
        time.sleep(3)  # a few more words, with no call service at all
        citizen.stop()  # the caller hangs up while the service is down
        hung_up = time.time()
        time.sleep(2)
        system.start_service()
        unit.wait_for("disconnected", 15)  # the agency line left in the bridge is released
    ended = system.case(caller, status={"ended"}, timeout=15)
    assert ended["ticket"] == case["ticket"]
    assert (ended["disposition"], ended["answered_by_unit"]) == ("completed", "psc-kuta")
    # The end is the hang-up (told by the recording's length), not the restart 2 s later.
    ended_at = datetime.fromisoformat(ended["ended_at"].replace("Z", "+00:00")).timestamp()
    assert abs(ended_at - hung_up) < 1.5
    [talk] = [a for a in ended["attempts"] if a["outcome"] == "answered"]
    assert talk["ended_at"] == ended["ended_at"]
    [note] = [e["detail"] for e in ended["events"] if e["kind"] == "ended.while.down"]
    assert note == {"disposition": "completed", "end_from": "recording"}
    filed = system.until(lambda: system.case(caller, status={"ended"}).get("recording"), 10, "the recording filed")
    assert wav_seconds(system.settings.recordings_dir / filed) > 5.0


def test_calls_arriving_while_the_service_is_down_all_reach_the_fallback_group_and_get_cases(system):
    system.stop_service()
    callers = [new_caller() for _ in range(4)]
    try:
        with system.line("operator-1", answer_after=0.3) as operator:
            for caller in callers:  # one call-taker, so one call after the other
                with system.call("112", caller, duration=30) as citizen:
                    operator.wait_for("answered", 15)
                    citizen.wait_for("answered", 5)
                    time.sleep(1.5)  # a few words: the recording has audio
                    citizen.stop()
                operator.wait_for("disconnected", 10)
    finally:
        system.start_service()
    for c in callers:
        case = system.case(c, status={"ended"}, timeout=15)
        assert (case["line"], case["disposition"]) == ("112", "fallback")
        assert case["answered_by_unit"] == "operator-1"
        reasons = [e["detail"].get("reason") for e in case["events"] if e["kind"] == "fallback.dialplan"]
        assert reasons == ["FAILED"]  # Stasis() returned at once: no app was connected
        # Recorded by the dialplan from the arrival; filed with the case once the service is back.
        filed = system.until(lambda: system.case(c, status={"ended"}).get("recording"), 10, "the recording filed")
        assert filed == f"{case['ticket']}.wav"
        assert wav_seconds(system.settings.recordings_dir / filed) > 1.0


def test_after_an_asterisk_restart_the_service_reconnects_by_itself_and_takes_new_calls(system):
    system.asterisk.stop()
    stopped = time.monotonic()
    system.until(lambda: system.health().get("status") != "ok", 10, "the health endpoint to notice")
    system.asterisk.start()
    system.until(lambda: system.health().get("status") == "ok", 15, "the service to reconnect to ARI")
    reconnected_after = time.monotonic() - stopped
    caller = new_caller()
    with system.line("psc-kuta", answer_after=0.3) as unit:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, duration=20) as citizen:
            unit.wait_for("answered", 25)
            system.case(caller, status={"connected"})
            citizen.stop()
    case = system.case(caller, status={"ended"})
    assert case["disposition"] == "completed"
    assert reconnected_after < 20


def test_a_call_service_stopped_gracefully_hands_callers_in_the_ivr_to_the_fallback_group(system):
    system.stop_watchdog()  # the service itself must hand over, not the watchdog
    caller = new_caller()
    try:
        with system.line("operator-1", answer_after=0.3) as operator:
            with system.call("112", caller, duration=40) as citizen:
                system.case(caller, status={"in-ivr"})
                system.stop_service()  # SIGTERM, as systemd or Ctrl-C would
                operator.wait_for("answered", 20)
                citizen.stop()
    finally:
        system.start_service()
        system.start_watchdog()
    case = system.case(caller, status={"ended"})
    assert (case["disposition"], case["answered_by_unit"]) == ("fallback", "operator-1")
    assert any(e["kind"] == "fallback" and e["detail"]["why"] == "call service stopping" for e in case["events"])
