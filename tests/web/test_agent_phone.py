"""The browser softphone for real: agent-1's page in Debian's Chromium (fake microphone playing a
tone), a real Asterisk 22 with the demo directory, a real ``siaga web --profile demo``, and a pjsua2
phone at the other end of the call. Until the agent queue exists the call is originated from
Asterisk's CLI (Dial to the pjsua2 phone once the browser answers)."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from app.asterisk import AsteriskInstance, AsteriskNotFound, find_asterisk
from app.directory.loader import load_directory
from app.settings import DEMO_SECRET, Settings
from app.sipua.control import start_line
from app.sipua.tones import has_tone, write_tone_wav
from tests.support.browser import MEDIA_FLAGS, launch, screenshot
from tests.support.parts import need
from tests.support.waiting import until
from tests.support.webapp import free_port, running_web, web_env
from tests.web.test_browser import log_in
from web import vendor

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]

BROWSER_TONE, PHONE_TONE = 1500, 1000
CALL_SECONDS_MS = 20_000


def _asterisk_and_pjsua2() -> bool:
    try:
        find_asterisk(Settings(profile="demo"))
        import pjsua2  # noqa: F401
    except (AsteriskNotFound, ImportError):
        return False
    return os.geteuid() == 0


def _udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """Asterisk and the web app of the demo profile on free ports: (instance, settings, base URL)."""
    need(_asterisk_and_pjsua2(), "Asterisk 22 and pjsua2 (run `make bootstrap`)")
    need(not vendor.missing(), "web/node_modules (bootstrap runs npm ci in web/)")
    folder = tmp_path_factory.mktemp("desk")
    env = web_env(folder)
    ports = {
        "SIAGA_ARI__PORT": str(free_port()),
        "SIAGA_SIP__PORT": str(_udp_port()),
        "SIAGA_WEBRTC__TLS_PORT": str(free_port()),
        "SIAGA_WEB__PORT": str(free_port()),  # no call service there: the page says it is down
        "SIAGA_REDIS__URL": "",
    }
    env.update(ports)
    rtp = 31000 + (os.getpid() % 30) * 100
    settings = Settings(
        profile="demo",
        ari={"port": int(ports["SIAGA_ARI__PORT"])},
        sip={"port": int(ports["SIAGA_SIP__PORT"]), "rtp_start": rtp, "rtp_end": rtp + 99},
        webrtc={"tls_port": int(ports["SIAGA_WEBRTC__TLS_PORT"])},
    )
    asterisk = AsteriskInstance(settings, load_directory(settings.directory), name=f"test-phone-{os.getpid()}")
    try:
        asterisk.start()
        with running_web(env, "--profile", "demo") as base:
            yield asterisk, settings, base
    finally:
        asterisk.stop()
        shutil.rmtree(asterisk.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def tone_browser(playwright, tmp_path_factory):
    """Chromium whose fake microphone plays BROWSER_TONE."""
    wav = write_tone_wav(tmp_path_factory.mktemp("mic") / "mic.wav", BROWSER_TONE, 4, rate=48000)
    chromium = launch(playwright, *MEDIA_FLAGS, f"--use-file-for-fake-audio-capture={wav}")
    yield chromium
    chromium.close()


@pytest.fixture
def tab(tone_browser, request):
    context = tone_browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    screenshot(page, request.node.name)
    context.close()


def ari_endpoint(settings: Settings, name: str) -> dict:
    assert settings.ari.password is not None
    response = httpx.get(
        f"{settings.ari.base_url}/endpoints/PJSIP/{name}",
        auth=(settings.ari.user, settings.ari.password.get_secret_value()),
        timeout=2,
    )
    return response.json() if response.status_code == 200 else {}


REMOTE_SDP = "() => window.siaga.session?.connection?.remoteDescription?.sdp"
RTP_STATS = """async () => {
    const pc = window.siaga.session && window.siaga.session.connection;
    if (!pc) return null;
    const out = {};
    (await pc.getStats()).forEach(s => {
        if (s.type === "inbound-rtp" && s.kind === "audio") {
            out.received = s.packetsReceived; out.energy = s.totalAudioEnergy; out.codecId = s.codecId;
        }
        if (s.type === "outbound-rtp" && s.kind === "audio") out.sent = s.packetsSent;
    });
    (await pc.getStats()).forEach(s => { if (s.id === out.codecId) out.codec = s.mimeType; });
    return out;
}"""


def test_agent_1s_browser_phone_registers_rings_answers_and_carries_audio_both_ways(desk, tab, tmp_path):
    asterisk, settings, base = desk
    log_in(tab, base)
    tab.goto(f"{base}/agent")
    expect(tab.get_by_test_id("phone-state")).to_have_attribute("data-state", "registered")
    # Asterisk's own view: the browser's contact is registered on agent-1-web.
    until(lambda: ari_endpoint(settings, "agent-1-web").get("state") == "online", 10, "agent-1-web online in ARI")
    expect(tab.get_by_test_id("service-banner")).to_contain_text("call service is down")

    heard = tmp_path / "heard-by-phone.wav"
    tone = write_tone_wav(tmp_path / "phone.wav", PHONE_TONE, 2)
    registrar = f"sip:127.0.0.1:{settings.sip.port}"
    with start_line("operator-1", DEMO_SECRET, registrar, answer_after=0.2, play=tone, record=heard) as phone:
        phone.wait_for("registered", 10)
        asterisk.cli("channel originate PJSIP/agent-1-web application Dial PJSIP/operator-1")
        expect(tab.get_by_test_id("incoming")).to_be_visible()
        tab.get_by_test_id("answer").click()
        expect(tab.get_by_test_id("call-state")).to_have_attribute("data-state", "in-call")
        phone.wait_for("answered", 10)
        try:
            stats = until(
                lambda: (s := tab.evaluate(RTP_STATS)) and s.get("received", 0) > 150 and s.get("sent", 0) > 150 and s,
                15,
                "RTP both ways in the browser (getStats)",
            )
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}: {tab.evaluate(RTP_STATS)}\nAsterisk's SDP:\n{tab.evaluate(REMOTE_SDP)}"
            ) from None
        assert stats["energy"] > 0.01, stats  # the browser hears sound, not silence
        screenshot(tab, "agent_phone_in_call")
        tab.get_by_test_id("hangup").click()
        expect(tab.get_by_test_id("call-state")).to_have_attribute("data-state", "idle")
        phone.wait_for("disconnected", 10)
        phone.wait_for("recorded", 10)
    assert has_tone(heard, BROWSER_TONE, min_seconds=1.0), "the phone did not hear the browser's microphone"
    print(f"browser RTP: {stats}")


def test_the_page_says_phone_offline_while_asterisk_is_gone_and_registers_again_after(desk, tab):
    asterisk, settings, base = desk
    log_in(tab, base)
    tab.goto(f"{base}/agent")
    state = tab.get_by_test_id("phone-state")
    expect(state).to_have_attribute("data-state", "registered")
    asterisk.stop()
    try:
        expect(state).to_have_attribute("data-state", "offline")
        expect(state).to_contain_text("phone offline")
        screenshot(tab, "agent_phone_offline")
    finally:
        asterisk.start()
    expect(state).to_have_attribute("data-state", "registered", timeout=30_000)
    until(lambda: ari_endpoint(settings, "agent-1-web").get("state") == "online", 10, "agent-1-web online again")


def test_wss_on_the_tls_port_answers_with_the_bootstrap_certificate(desk):
    _, settings, _ = desk
    if not Path(settings.webrtc.cert_file).is_file():
        need(False, f"the TLS certificate {settings.webrtc.cert_file} (bootstrap makes it)")
    # A WebSocket upgrade over TLS on the TLS port reaches res_pjsip_transport_websocket ("sip" subprotocol).
    response = httpx.get(
        f"https://127.0.0.1:{settings.webrtc.tls_port}/ws",
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Protocol": "sip",
        },
        verify=False,
        timeout=3,
    )
    assert response.status_code == 101, response.text
