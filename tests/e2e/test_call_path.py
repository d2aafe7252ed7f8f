"""112 and 14084 end to end: real Asterisk, the call service, pjsua2 callers and agency phones.

Each test is one person-level story; the case log is the witness.
"""

from __future__ import annotations

import signal
import socket
import subprocess
from datetime import datetime

import httpx
import pytest

from app.sipua.tones import has_tone, write_tone_wav
from tests.e2e.system import SIAGA, free_port, new_caller, wav_seconds

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]

CALLER_TONE, AGENCY_TONE = 1000, 1500


def stamps(case: dict, *keys: str) -> list[datetime]:
    return [datetime.fromisoformat(case[k].replace("Z", "+00:00")) for k in keys]


def test_112_ambulance_in_kuta_reaches_the_kuta_unit_with_audio_both_ways(system, tmp_path):
    # Asterisk 22 takes the service's requests over the events websocket (HTTP stays the fallback).
    assert system.until(lambda: system.health().get("ari_requests") == "websocket", 10, "requests over the websocket")
    caller = new_caller()
    caller_tone = write_tone_wav(tmp_path / "caller.wav", CALLER_TONE, 2)
    agency_tone = write_tone_wav(tmp_path / "agency.wav", AGENCY_TONE, 2)
    with system.line("psc-kuta", answer_after=0.5, play=agency_tone, record=tmp_path / "heard-by-agency.wav") as unit:
        with system.call(
            "112",
            caller,
            dtmf=["1", "2"],
            dtmf_after=1.0,
            dtmf_gap=0.8,
            duration=9,
            play=caller_tone,
            record=tmp_path / "heard-by-caller.wav",
        ) as citizen:
            unit.wait_for("incoming", 20)
            unit.wait_for("answered", 10)
            citizen.wait_for("disconnected", 30)
            citizen.wait_for("recorded", 10)
        unit.wait_for("disconnected", 10)
        unit.wait_for("recorded", 10)
    case = system.case(caller, status={"ended"})
    assert (case["line"], case["language"], case["category"], case["district"]) == ("112", "id", "medical", "kuta")
    assert (case["status"], case["disposition"]) == ("ended", "completed")
    received, ivr_done, forwarded, answered, ended = stamps(
        case, "received_at", "ivr_completed_at", "forwarded_at", "agency_answered_at", "ended_at"
    )
    assert received <= ivr_done <= forwarded <= answered <= ended
    assert [(a["unit"], a["outcome"]) for a in case["attempts"]] == [("psc-kuta", "answered")]
    assert case["attempts"][0]["answered_at"] is not None
    # Audio both ways: each side hears the other's tone.
    assert has_tone(tmp_path / "heard-by-agency.wav", CALLER_TONE, min_seconds=1.0)
    assert has_tone(tmp_path / "heard-by-caller.wav", AGENCY_TONE, min_seconds=1.0)
    # The bridge was recorded, both directions mixed.
    recording = system.settings.recordings_dir / case["recording"]
    assert recording.exists() and wav_seconds(recording) > 2.0
    # Both tones sound at once in the mix, so each holds about half of the energy.
    assert has_tone(recording, AGENCY_TONE, min_seconds=1.0, min_ratio=0.3)
    assert has_tone(recording, CALLER_TONE, min_seconds=1.0, min_ratio=0.3)
    assert not has_tone(recording, 700, min_seconds=0.5, min_ratio=0.3)  # the check can say no


def test_no_input_on_112_goes_to_an_operator(system):
    caller = new_caller()
    with system.line("operator-1", answer_after=0.3) as operator:
        with system.call("112", caller, duration=45) as citizen:
            call = operator.wait_for("incoming", 40)
            operator.wait_for("answered", 5)
            system.case(caller, status={"connected"})
            citizen.stop()
    assert caller in call["remote"]  # the operator sees who is calling
    case = system.case(caller, status={"ended"})
    assert case["category"] == "operator" and case["language"] == "id"
    assert case["disposition"] == "completed"
    assert case["attempts"][0]["unit"] == "fallback"
    assert any(a["outcome"] == "answered" and a["dial"] == "PJSIP/operator-1" for a in case["attempts"])
    assert any(e["kind"] == "ivr.completed" and e["detail"]["reason"] == "no-input" for e in case["events"])


def test_a_unit_that_does_not_answer_hands_the_call_to_the_next_unit(system):
    caller = new_caller()
    with system.line("psc-kuta", no_answer=True) as first, system.line("psc-kuta-utara", answer_after=0.3) as second:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, duration=20) as citizen:
            first.wait_for("incoming", 20)
            second.wait_for("incoming", 15)
            second.wait_for("answered", 5)
            system.case(caller, status={"connected"})
            citizen.stop()
    case = system.case(caller, status={"ended"})
    assert [(a["unit"], a["outcome"]) for a in case["attempts"]] == [
        ("psc-kuta", "no-answer"),
        ("psc-kuta-utara", "answered"),
    ]
    assert case["disposition"] == "completed"


def test_a_busy_unit_hands_the_call_to_the_next_unit(system):
    caller = new_caller()
    with system.line("psc-kuta", busy=True) as first, system.line("psc-kuta-utara", answer_after=0.3) as second:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, duration=15) as citizen:
            first.wait_for("incoming", 20)
            second.wait_for("answered", 15)
            system.case(caller, status={"connected"})
            citizen.stop()
    case = system.case(caller, status={"ended"})
    assert [(a["unit"], a["outcome"]) for a in case["attempts"]] == [
        ("psc-kuta", "busy"),
        ("psc-kuta-utara", "answered"),
    ]


def test_a_unit_line_that_fails_at_once_is_skipped(system):
    # damkar-kuta covers Kuta, but no phone is registered for it: the dial fails at once.
    caller = new_caller()
    with system.line("damkar-mengwi", answer_after=0.3) as fallback_unit:
        with system.call("112", caller, dtmf=["2", "2"], dtmf_after=1.0, duration=15) as citizen:
            fallback_unit.wait_for("answered", 20)
            system.case(caller, status={"connected"})
            citizen.stop()
    case = system.case(caller, status={"ended"})
    attempts = case["attempts"]
    assert [(a["unit"], a["outcome"]) for a in attempts] == [("damkar-kuta", "failed"), ("damkar-mengwi", "answered")]
    first_started, second_started = stamps(attempts[0], "started_at") + stamps(attempts[1], "started_at")
    assert (second_started - first_started).total_seconds() < 2.0  # no ring timeout was waited out


def test_caller_hanging_up_during_the_ivr_is_abandoned_in_ivr(system):
    caller = new_caller()
    with system.call("112", caller, duration=1.5) as citizen:
        citizen.wait_for("disconnected", 10)
    case = system.case(caller, status={"ended"})
    assert case["disposition"] == "abandoned-in-ivr"
    assert case["attempts"] == [] and case["forwarded_at"] is None


def test_digits_and_keys_that_are_not_options_do_not_break_the_call(system):
    caller = new_caller()
    with system.line("operator-2", answer_after=0.3) as operator:
        with system.call("112", caller, dtmf=["*", "#", "7"], dtmf_after=1.0, dtmf_gap=0.5, duration=20) as citizen:
            operator.wait_for("answered", 25)
            system.case(caller, status={"connected"})
            citizen.stop()
    case = system.case(caller, status={"ended"})
    assert case["category"] == "operator" and case["disposition"] == "completed"
    assert any(e["kind"] == "ivr.completed" and e["detail"]["reason"] == "invalid-input" for e in case["events"])


def test_14084_reaches_the_department_line(system):
    caller = new_caller()
    with system.line("pupr-line", answer_after=0.3) as department:
        with system.call("14084", caller, dtmf=["9", "1", "2"], dtmf_after=1.0, duration=20) as citizen:
            department.wait_for("answered", 25)
            system.case(caller, status={"connected"})
            citizen.stop()
    case = system.case(caller, status={"ended"})
    assert (case["line"], case["language"], case["category"], case["district"]) == (
        "14084",
        "en",
        "infrastructure",
        "kuta",
    )
    assert [(a["unit"], a["outcome"]) for a in case["attempts"]][-1] == ("pupr-line", "answered")


def test_when_the_call_service_is_down_the_dialplan_fallback_reaches_the_fallback_group(system):
    system.stop_service()
    try:
        caller = new_caller()
        with system.line("operator-1", answer_after=0.3) as operator:
            with system.call("112", caller, duration=10) as citizen:
                operator.wait_for("incoming", 15)
                operator.wait_for("answered", 5)
                citizen.wait_for("answered", 5)
                citizen.stop()
        assert "fallback" in system.asterisk.log_path.read_text(errors="replace").lower()
    finally:
        system.start_service()
    assert system.health()["status"] == "ok"


def test_callers_left_in_the_ivr_by_a_killed_service_are_resumed_on_the_fallback_path(system):
    # Without the watchdog, the restarted service itself finds the caller and takes the safe path.
    system.stop_watchdog()
    caller = new_caller()
    with system.line("operator-1", answer_after=0.3) as operator:
        with system.call("112", caller, duration=40) as citizen:
            system.case(caller, status={"in-ivr"})
            system.stop_service(signal.SIGKILL)  # no goodbye: the call stays in the app, unattended
            system.start_service()
            operator.wait_for("incoming", 15)
            operator.wait_for("answered", 5)
            citizen.stop()
    system.start_watchdog()
    case = system.case(caller, status={"ended"})
    assert case["disposition"] == "fallback"
    kinds = [e["kind"] for e in case["events"]]
    assert "resumed" in kinds and "fallback" in kinds


def test_the_call_service_says_when_ari_is_unreachable_and_keeps_retrying(system, tmp_path):
    port = str(free_port(socket.SOCK_STREAM))  # nothing listens there
    web = str(free_port(socket.SOCK_STREAM))
    log = tmp_path / "service.log"
    env = {
        **system.env,
        "SIAGA_ARI__PORT": port,
        "SIAGA_WEB__PORT": web,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(SIAGA), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:

        def degraded():
            try:
                r = httpx.get(f"http://127.0.0.1:{web}/healthz", timeout=1)
            except httpx.HTTPError:
                return None
            return r if r.status_code == 503 else None

        response = system.until(degraded, 20, "the health endpoint to say degraded")
        assert response.json()["ari"] in {"connecting", "backoff"}
        system.until(lambda: log.read_text().count("not reachable") >= 1, 10, "a readable 'not reachable' line")
        assert f"127.0.0.1:{port}" in log.read_text()
        assert proc.poll() is None  # still retrying, not crashed
    finally:
        proc.terminate()
        proc.wait(10)
