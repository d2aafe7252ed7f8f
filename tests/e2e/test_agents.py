"""Call-takers answer 112 end to end: real Asterisk, the call service, pjsua2 callers, agents and units.

An agent is a pjsua2 phone registered as the agent's SIP endpoint, made available over the call
service's internal channel as the web app does it; dispatches go the same way. The case log is the witness.
"""

from __future__ import annotations

import subprocess
from datetime import datetime

import httpx
import pytest

from app.sipua.tones import has_tone, tone_ratio, write_tone_wav
from tests.e2e.system import SIAGA, new_caller, wav_seconds
from tests.support.webapp import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]

CALLER_TONE, AGENT_TONE, UNIT_TONE = 1000, 1200, 1500


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def kinds(case: dict) -> list[str]:
    return [e["kind"] for e in case["events"]]


def test_an_agent_takes_a_112_call_and_conferences_the_kuta_ambulance_then_leaves(system, tmp_path):
    caller = new_caller()
    tones = {f: write_tone_wav(tmp_path / f"{f}.wav", f, 2) for f in (CALLER_TONE, AGENT_TONE, UNIT_TONE)}
    agent_heard, unit_heard, caller_heard = (tmp_path / f"heard-by-{w}.wav" for w in ("agent", "unit", "caller"))
    with (
        system.line("agent-1", answer_after=0.5, play=tones[AGENT_TONE], record=agent_heard, hangup_after=7) as agent,
        system.line("psc-kuta", answer_after=0.5, play=tones[UNIT_TONE], record=unit_heard) as unit,
    ):
        system.agent_available("agent-1")
        with system.call(
            "112",
            caller,
            dtmf=["1", "2"],
            dtmf_after=1.0,
            dtmf_gap=0.8,
            duration=24,
            play=tones[CALLER_TONE],
            record=caller_heard,
        ) as citizen:
            call = agent.wait_for("incoming", 20)
            agent.wait_for("answered", 5)
            taken = system.case(caller, status={"connected"})
            assert taken["agent"] == "agent-1" and taken["workflow"] == "taken"
            assert system.internal("GET", "/agents/agent-1")["status"] == "on-call"
            dispatched = system.internal(
                "POST",
                f"/calls/{taken['ticket']}/dispatch",
                {"unit": "psc-kuta", "mode": "conference", "by": "agent-1", "role": "agent"},
            )
            assert dispatched["state"] == "ringing"
            unit.wait_for("incoming", 10)
            unit.wait_for("answered", 5)
            agent.wait_for("disconnected", 15)  # the agent hangs up 7 s after answering: caller and unit stay
            citizen.wait_for("disconnected", 40)
            citizen.wait_for("recorded", 10)
        unit.wait_for("disconnected", 10)
        unit.wait_for("recorded", 10)
        agent.wait_for("recorded", 10)
    assert caller in call["remote"] and taken["ticket"] in call["remote"]  # the agent's phone shows both
    case = system.case(caller, status={"ended"})
    assert (case["agent"], case["workflow"], case["disposition"]) == ("agent-1", "agency-answered", "completed")
    assert (case["dispatched_unit"], case["answered_by_unit"]) == ("psc-kuta", "psc-kuta")
    assert case["received_at"] <= case["taken_at"] <= case["dispatched_at"] <= case["agency_answered_at"]
    assert case["forwarded_at"] is None  # the caller was never put through directly
    assert [(a["unit"], a["outcome"]) for a in case["attempts"]] == [("psc-kuta", "answered")]
    order = kinds(case)
    for before, after in [
        ("queued", "agent.offered"),
        ("agent.offered", "agent.answered"),
        ("agent.answered", "dispatch.started"),
        ("dispatch.started", "dispatch.answered"),
        ("dispatch.answered", "agent.left"),
        ("agent.left", "ended"),
    ]:
        assert order.index(before) < order.index(after), order
    # Audio both ways: the agent heard the caller; the caller heard the agent, then the unit; the unit heard
    # the caller after the agent had left (the end of its recording: the agent's tone is gone from it).
    assert has_tone(agent_heard, CALLER_TONE)
    assert has_tone(caller_heard, AGENT_TONE) and has_tone(caller_heard, UNIT_TONE)
    tail = wav_seconds(unit_heard)
    assert tone_ratio(unit_heard, CALLER_TONE, tail - 4, tail - 1) > 0.5
    assert tone_ratio(unit_heard, AGENT_TONE, tail - 4, tail - 1) < 0.1
    assert system.internal("GET", "/agents/agent-1")["status"] == "available"  # wrap-up of 0 s in these tests
    system.agent_away("agent-1")


def test_with_no_agent_available_112_goes_direct_at_once(system):
    caller = new_caller()
    with system.line("psc-kuta", answer_after=0.3, hangup_after=1) as unit:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, dtmf_gap=0.8, duration=15):
            unit.wait_for("incoming", 15)
            unit.wait_for("disconnected", 10)
    case = system.case(caller, status={"ended"})
    assert case["agent"] is None and "queued" not in kinds(case)
    assert [(a["unit"], a["outcome"]) for a in case["attempts"]] == [("psc-kuta", "answered")]


def test_an_agent_who_does_not_answer_is_followed_by_the_next(system):
    caller = new_caller()
    with (
        system.line("agent-1", no_answer=True) as first,
        system.line("agent-2", answer_after=0.3, hangup_after=2) as second,
    ):
        system.agent_available("agent-1")
        system.agent_available("agent-2")
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, dtmf_gap=0.8, duration=20):
            first.wait_for("incoming", 20)
            second.wait_for("incoming", 10)
            second.wait_for("disconnected", 10)
    case = system.case(caller, status={"ended"})
    assert case["agent"] == "agent-2" and case["disposition"] == "completed"
    missed = [e["detail"] for e in case["events"] if e["kind"] == "agent.missed"]
    assert missed == [{"agent": "agent-1", "outcome": "no-answer"}]
    state = system.internal("GET", "/agents/agent-1")
    assert (state["status"], state["reason"]) == ("away", f"did not answer {case['ticket']}")
    system.agent_away("agent-2")


def test_nobody_answering_within_the_bound_puts_the_caller_through_directly(system):
    caller = new_caller()
    names = ("agent-1", "agent-2", "agent-3")
    with (
        system.line("agent-1", no_answer=True),
        system.line("agent-2", no_answer=True),
        system.line("agent-3", no_answer=True),
        system.line("psc-kuta", answer_after=0.3, hangup_after=1) as unit,
    ):
        for name in names:
            system.agent_available(name)
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, dtmf_gap=0.8, duration=30):
            unit.wait_for("incoming", 25)
            unit.wait_for("disconnected", 10)
    case = system.case(caller, status={"ended"})
    assert case["agent"] is None and case["answered_by_unit"] == "psc-kuta"
    left = [e["detail"]["why"] for e in case["events"] if e["kind"] == "queue.left"]
    assert left == ["no call-taker answered in time"]
    waited = stamp(case["forwarded_at"]) - stamp(case["ivr_completed_at"])
    assert 7.5 <= waited.total_seconds() < 12  # the bound (8 s in these tests), not a ring timeout
    system.agent_away(*names)


def test_a_silent_caller_reaches_an_agent_flagged_silent(system, tmp_path):
    caller = new_caller()
    with system.line("agent-1", answer_after=0.3, hangup_after=2) as agent:
        system.agent_available("agent-1")
        with system.call("112", caller, duration=45):
            agent.wait_for("incoming", 40)
            agent.wait_for("disconnected", 10)
    case = system.case(caller, status={"ended"})
    assert (case["agent"], case["silent"], case["ivr_end_reason"]) == ("agent-1", True, "no-input")
    system.agent_away("agent-1")


def test_a_transfer_leaves_caller_and_unit_talking(system, tmp_path):
    caller = new_caller()
    unit_tone = write_tone_wav(tmp_path / "unit.wav", UNIT_TONE, 2)
    heard = tmp_path / "heard-by-caller.wav"
    with (
        system.line("agent-1", answer_after=0.3) as agent,
        system.line("psc-kuta", answer_after=0.5, play=unit_tone) as unit,
    ):
        system.agent_available("agent-1")
        with system.call(
            "112", caller, dtmf=["1", "2"], dtmf_after=1.0, dtmf_gap=0.8, duration=14, record=heard
        ) as citizen:
            agent.wait_for("answered", 20)
            ticket = system.case(caller, status={"connected"})["ticket"]
            system.internal(
                "POST",
                f"/calls/{ticket}/dispatch",
                {"unit": "psc-kuta", "mode": "transfer", "by": "agent-1", "role": "agent"},
            )
            unit.wait_for("answered", 10)
            agent.wait_for("disconnected", 5)  # the call service releases the agent once the unit answered
            citizen.wait_for("disconnected", 30)
            citizen.wait_for("recorded", 10)
    case = system.case(caller, status={"ended"})
    assert case["disposition"] == "completed" and case["answered_by_unit"] == "psc-kuta"
    assert any(e["kind"] == "agent.left" and e["detail"].get("transfer") == "psc-kuta" for e in case["events"])
    assert has_tone(heard, UNIT_TONE)
    system.agent_away("agent-1")


def test_the_web_app_killed_mid_call_leaves_the_call_untouched(system, tmp_path):
    """The agent goes available through a real ``siaga web``; it is killed while the agent talks."""
    env = {**system.env, "SIAGA_WEBAPP__PORT": str(free_port()), "SIAGA_WEBAPP__SECRET_FILE": str(tmp_path / "key")}
    subprocess.run(
        [str(SIAGA), "users", "add", "agent-1", "--role", "agent"],
        input="kopi-Bali-7-ombak\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    caller = new_caller()
    tone = write_tone_wav(tmp_path / "caller.wav", CALLER_TONE, 2)
    heard = tmp_path / "heard-by-agent.wav"
    base = f"http://127.0.0.1:{env['SIAGA_WEBAPP__PORT']}"
    web = subprocess.Popen([str(SIAGA), "web"], env=env, stderr=subprocess.DEVNULL)
    try:
        with system.line("agent-1", answer_after=0.3, record=heard) as agent:
            system.until(lambda: _answers(base), 30, "siaga web to answer")
            token = httpx.post(
                f"{base}/api/auth/token", data={"username": "agent-1", "password": "kopi-Bali-7-ombak"}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            system.until(lambda: httpx.get(f"{base}/api/agents/me", headers=headers).json()["phones"]["sip"], 10, "sip")
            answer = httpx.put(f"{base}/api/agents/me/status", json={"status": "available"}, headers=headers)
            assert answer.status_code == 200, answer.text
            with system.call(
                "112", caller, dtmf=["1", "2"], dtmf_after=1.0, dtmf_gap=0.8, duration=14, play=tone
            ) as citizen:
                agent.wait_for("answered", 20)
                web.kill()  # SIGKILL: no goodbye to anyone
                web.wait(5)
                citizen.wait_for("disconnected", 30)
            agent.wait_for("disconnected", 10)
            agent.wait_for("recorded", 10)
    finally:
        if web.poll() is None:
            web.kill()
    case = system.case(caller, status={"ended"})
    assert (case["agent"], case["disposition"]) == ("agent-1", "completed")
    talked = stamp(case["ended_at"]) - stamp(case["taken_at"])
    assert talked.total_seconds() > 5  # the conversation went on to the caller's own hang-up
    tail = wav_seconds(heard)
    assert tone_ratio(heard, CALLER_TONE, tail - 3, tail - 0.5) > 0.5  # still hearing the caller at the end
    system.agent_away("agent-1")


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/login", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_siaga_dial_says_when_the_caller_waits_for_and_talks_to_a_call_taker(system):
    with system.line("agent-1", answer_after=1.0):
        system.agent_available("agent-1")
        done = subprocess.run(
            [str(SIAGA), "dial", "112", "--press", "1,2", "--talk", "1"],
            env=system.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert "waiting for a call-taker (112 queue) ..." in done.stderr
    assert "connected to call-taker agent-1; talking for 1 s" in done.stderr
    printed = {k.strip(): v for k, _, v in (line.partition(": ") for line in done.stdout.splitlines())}
    assert printed["agent"].strip() == "agent-1" and printed["workflow"].strip() == "taken"
    system.agent_away("agent-1")
