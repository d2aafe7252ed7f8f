"""The whole story of issue 11 in a real browser: a call-taker takes a 112 call on the agent page.

Real Asterisk 22, the call service, Redis, ``siaga web``, Debian's Chromium (fake microphone playing a
tone) as agent-1, a pjsua2 caller and a pjsua2 phone for the Kuta ambulance. The agent goes available,
the caller dials 112 and presses 1, 2; the page rings with the case on screen; the agent answers,
conferences psc-kuta in, leaves; caller and unit go on talking; the agent closes the case.
Screenshots are kept under var/screenshots/.
"""

from __future__ import annotations

import subprocess

import pytest
from playwright.sync_api import expect

from app.sipua.tones import has_tone, tone_ratio, write_tone_wav
from tests.e2e.conftest import running_system
from tests.e2e.system import SIAGA, new_caller, wav_seconds
from tests.support.browser import MEDIA_FLAGS, launch, playwright, screenshot  # noqa: F401 - the fixture
from tests.support.waiting import until
from tests.support.webapp import free_port, running_web
from tests.web.test_browser import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]

CALLER_TONE, AGENT_TONE, UNIT_TONE = 1000, 1500, 700
PASSWORD = "kopi-Bali-7-ombak"
RTP_IN = """async () => {
    const pc = window.siaga.session && window.siaga.session.connection;
    if (!pc) return 0;
    let n = 0;
    (await pc.getStats()).forEach(s => { if (s.type === "inbound-rtp" && s.kind === "audio") n = s.packetsReceived; });
    return n;
}"""


@pytest.fixture(scope="module")
def system(tmp_path_factory, redis_server):
    yield from running_system(tmp_path_factory, "e2e-desk", redis_url=redis_server.url)


@pytest.fixture(scope="module")
def web(system, tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    env = {**system.env, "SIAGA_WEBAPP__PORT": str(free_port()), "SIAGA_WEBAPP__SECRET_FILE": str(folder / "key")}
    subprocess.run(
        [str(SIAGA), "users", "add", "agent-1", "--role", "agent"],
        input=PASSWORD + "\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    with running_web(env) as base:
        yield base


@pytest.fixture(scope="module")
def chromium(playwright, tmp_path_factory):
    wav = write_tone_wav(tmp_path_factory.mktemp("mic") / "mic.wav", AGENT_TONE, 4, rate=48000)
    browser = launch(playwright, *MEDIA_FLAGS, f"--use-file-for-fake-audio-capture={wav}")
    yield browser
    browser.close()


@pytest.fixture
def desk(chromium, web, request):
    context = chromium.new_context()
    context.set_default_timeout(20_000)
    tab = context.new_page()
    log_in(tab, web, "agent-1", PASSWORD)
    tab.goto(f"{web}/agent")
    yield tab
    screenshot(tab, request.node.name)
    context.close()


def test_agent_1_takes_a_112_call_in_the_browser_conferences_psc_kuta_leaves_and_closes_the_case(
    system, desk, tmp_path
):
    tab = desk
    expect(tab.get_by_test_id("phone-state")).to_have_attribute("data-state", "registered")
    system.until(lambda: system.internal("GET", "/agents/agent-1")["phones"]["web"], 10, "agent-1-web registered")
    tab.get_by_test_id("status-available").click()
    expect(tab.get_by_test_id("agent-status")).to_have_attribute("data-status", "available")

    caller = new_caller()
    caller_heard, unit_heard = tmp_path / "heard-by-caller.wav", tmp_path / "heard-by-unit.wav"
    caller_tone = write_tone_wav(tmp_path / "caller.wav", CALLER_TONE, 2)
    unit_tone = write_tone_wav(tmp_path / "unit.wav", UNIT_TONE, 2)
    with system.line("psc-kuta", answer_after=0.5, play=unit_tone, record=unit_heard) as unit:
        with system.call(
            "112",
            caller,
            dtmf=["1", "2"],
            dtmf_after=1.0,
            dtmf_gap=0.8,
            duration=40,
            play=caller_tone,
            record=caller_heard,
        ) as citizen:
            # The page rings with the case on screen, pushed (no reload).
            expect(tab.get_by_test_id("incoming")).to_be_visible(timeout=30_000)
            expect(tab.get_by_test_id("case-panel")).to_be_visible()
            expect(tab.get_by_test_id("case-caller")).to_contain_text(caller)
            expect(tab.get_by_test_id("case-category")).to_contain_text("medical")
            expect(tab.get_by_test_id("case-district")).to_contain_text("kuta")
            ticket = tab.get_by_test_id("case-ticket").inner_text().strip()
            screenshot(tab, "desk_ringing")
            tab.get_by_test_id("answer").click()
            expect(tab.get_by_test_id("call-state")).to_have_attribute("data-state", "in-call")
            until(lambda: tab.evaluate(RTP_IN) > 100, 15, "the browser receiving the caller's audio")
            taken = system.case(caller, status={"connected"})
            assert (taken["ticket"], taken["agent"], taken["workflow"]) == (ticket, "agent-1", "taken")

            # Dispatch by conference to the Kuta ambulance, from the page's suggestions.
            # Nearest first: the Kuta post covers the caller's district and is the first suggestion.
            expect(tab.locator("#suggestions tr").first).to_have_attribute("data-testid", "suggestion-psc-kuta")
            tab.get_by_test_id("dispatch-conference-psc-kuta").click()
            unit.wait_for("incoming", 15)
            unit.wait_for("answered", 10)
            expect(tab.get_by_test_id("dispatch-state")).to_contain_text("answered")
            screenshot(tab, "desk_conference")
            system.until(lambda: tab.evaluate(RTP_IN) > 0, 5, "audio still flowing")
            # The agent leaves; the caller and the unit stay together.
            tab.wait_for_timeout(3000)
            tab.get_by_test_id("hangup").click()
            expect(tab.get_by_test_id("call-state")).to_have_attribute("data-state", "idle")
            citizen.wait_for("disconnected", 45)
            citizen.wait_for("recorded", 10)
        unit.wait_for("disconnected", 10)
        unit.wait_for("recorded", 10)

    ended = system.case(caller, status={"ended"})
    assert ended["disposition"] == "completed" and ended["answered_by_unit"] == "psc-kuta"
    # Close the case from the page after wrap-up.
    tab.get_by_test_id("close-case").click()
    expect(tab.get_by_test_id("no-case")).to_contain_text("Case closed.")
    screenshot(tab, "desk_closed")
    case = system.until(lambda: (c := system.case(caller)) and c["workflow"] == "closed" and c, 10, "the case closed")
    assert (case["agent"], case["closed_by"]) == ("agent-1", "agent-1")
    assert case["received_at"] <= case["taken_at"] <= case["dispatched_at"] <= case["agency_answered_at"]
    assert case["agency_answered_at"] <= case["ended_at"] <= case["closed_at"]
    kinds = [e["kind"] for e in case["events"]]
    for kind in ("agent.answered", "dispatch.started", "dispatch.answered", "agent.left", "closed"):
        assert kind in kinds, kinds
    assert next(e for e in case["events"] if e["kind"] == "closed")["detail"]["by"] == "agent-1"
    # Audio both ways: the caller heard the agent's microphone and then the unit; the unit heard the
    # caller once the agent had gone (the end of its recording).
    assert has_tone(caller_heard, AGENT_TONE), "the caller never heard the agent"
    assert has_tone(caller_heard, UNIT_TONE), "the caller never heard the unit"
    tail = wav_seconds(unit_heard)
    assert tone_ratio(unit_heard, CALLER_TONE, tail - 5, tail - 1) > 0.5, "caller and unit apart after the agent left"
    assert tone_ratio(unit_heard, AGENT_TONE, tail - 5, tail - 1) < 0.1


def test_a_browser_that_goes_away_mid_call_leaves_the_caller_with_the_fallback_group(system, chromium, web, tmp_path):
    """The agent's tab dies without a goodbye: after ``webrtc.rtp_timeout_seconds`` of no audio Asterisk
    ends the browser's leg and the caller goes to the command-center group; nothing is lost."""
    context = chromium.new_context()
    context.set_default_timeout(20_000)
    tab = context.new_page()
    log_in(tab, web, "agent-1", PASSWORD)
    tab.goto(f"{web}/agent")
    expect(tab.get_by_test_id("phone-state")).to_have_attribute("data-state", "registered")
    system.until(lambda: system.internal("GET", "/agents/agent-1")["phones"]["web"], 10, "agent-1-web registered")
    if system.internal("GET", "/agents/agent-1")["status"] != "available":
        tab.get_by_test_id("status-available").click()
    expect(tab.get_by_test_id("agent-status")).to_have_attribute("data-status", "available")
    caller = new_caller()
    with system.line("operator-1", answer_after=0.3) as operator:
        with system.call("112", caller, dtmf=["1", "2"], dtmf_after=1.0, dtmf_gap=0.8, duration=60) as citizen:
            expect(tab.get_by_test_id("incoming")).to_be_visible(timeout=30_000)
            tab.get_by_test_id("answer").click()
            expect(tab.get_by_test_id("call-state")).to_have_attribute("data-state", "in-call")
            system.case(caller, status={"connected"})
            context.close()  # the tab and its connections die: no BYE
            operator.wait_for("incoming", 30)
            operator.wait_for("answered", 5)
            citizen.stop()
    case = system.case(caller, status={"ended"})
    assert case["agent"] == "agent-1" and case["disposition"] == "fallback"
    dropped = [e for e in case["events"] if e["kind"] == "agent.dropped"]
    assert dropped and dropped[0]["detail"]["agent"] == "agent-1", [e["kind"] for e in case["events"]]
    system.agent_away("agent-1")
