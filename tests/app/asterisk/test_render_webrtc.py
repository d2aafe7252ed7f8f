"""The browser softphones in the rendered configuration: an <agent>-web WebRTC endpoint per call-taker,
SIP over WebSocket (ws, and wss with the certificate), the modules, and ICE."""

from __future__ import annotations

import stat

import pytest

from app.asterisk import constants as c
from app.asterisk import tls
from app.asterisk.render import render
from app.directory.schema import AgentDesk
from app.settings import Settings
from tests.app.asterisk.test_render import PRODUCTION, rendered, sections


@pytest.fixture
def with_agents(directory):
    return directory.model_copy(update={"agents": [AgentDesk(name="agent-1"), AgentDesk(name="agent-2")]})


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate made the way bootstrap makes it, in a temporary folder."""
    settings = Settings.load(
        profile="demo", webrtc={"cert_file": tmp_path / "tls/c.pem", "key_file": tmp_path / "tls/k"}
    )
    assert tls.ensure_self_signed(settings)
    return settings.webrtc


def test_each_agent_gets_a_webrtc_endpoint_with_its_sip_phones_password(with_agents, tmp_path):
    pjsip = sections(rendered(Settings.load(**PRODUCTION), with_agents, tmp_path)["pjsip.conf"])
    for agent in ["agent-1", "agent-2"]:
        web = pjsip[(f"{agent}-web", "endpoint")]
        for line in [
            f"context = {c.CONTEXT_INTERNAL}",
            "webrtc = yes",
            "dtls_auto_generate_cert = yes",
            "allow = opus,ulaw,alaw",
            f"auth = {agent}-web",
        ]:
            assert line in web, (agent, line)
        assert f"username = {agent}-web" in pjsip[(f"{agent}-web", "auth")]
        password = [x for x in pjsip[(f"{agent}-web", "auth")].splitlines() if x.startswith("password = ")]
        assert password == [x for x in pjsip[(agent, "auth")].splitlines() if x.startswith("password = ")]
        aor = pjsip[(f"{agent}-web", "aor")]
        assert "max_contacts = 1" in aor and "remove_existing = yes" in aor
        assert "webrtc" not in pjsip[(agent, "endpoint")]  # the UDP phone stays as it was
    assert "protocol = ws" in pjsip[(c.TRANSPORT_WS, "transport")]
    assert "protocol = wss" in pjsip[(c.TRANSPORT_WSS, "transport")]


def test_without_agents_there_is_no_websocket_transport(directory, tmp_path):
    pjsip = rendered(Settings.load(profile="demo"), directory, tmp_path)["pjsip.conf"]
    assert "protocol = ws" not in pjsip and "webrtc" not in pjsip


def test_an_agent_whose_browser_phone_name_is_taken_is_refused(with_agents, tmp_path):
    clash = with_agents.model_copy(update={"agents": [AgentDesk(name="desk"), AgentDesk(name="desk-web")]})
    with pytest.raises(ValueError, match="'desk-web' is both"):
        render(Settings.load(profile="demo"), clash, tmp_path / "instance")


def test_the_webrtc_modules_load_and_ice_is_on_only_as_the_browsers_need_it(with_agents, tmp_path):
    files = rendered(Settings.load(profile="demo"), with_agents, tmp_path)
    for module in ["res_pjsip_transport_websocket", "res_srtp", "codec_opus_open_source", "res_format_attr_opus"]:
        assert f"load = {module}.so" in files["modules.conf"], module
    assert "icesupport = yes" in files["rtp.conf"]
    assert "ice_support" not in files["pjsip.conf"]  # only webrtc=yes turns it on, per endpoint


def test_https_serves_wss_on_the_tls_port_with_a_private_copy_of_the_certificate(with_agents, tmp_path, certificate):
    settings = Settings.load(profile="demo", webrtc={**certificate.model_dump(), "tls_port": 18089})
    http = rendered(settings, with_agents, tmp_path)["http.conf"]
    etc = tmp_path / "instance" / "etc"
    assert "tlsenable = yes" in http and "tlsbindaddr = 127.0.0.1:18089" in http
    assert f"tlscertfile = {etc / 'webrtc-cert.pem'}" in http and f"tlsprivatekey = {etc / 'webrtc-key.pem'}" in http
    assert (etc / "webrtc-key.pem").read_bytes() == certificate.key_file.read_bytes()
    assert stat.S_IMODE((etc / "webrtc-key.pem").stat().st_mode) == 0o600


@pytest.mark.parametrize("how", ["no certificate", "port 0"])
def test_without_a_certificate_or_a_tls_port_there_is_no_https(with_agents, tmp_path, certificate, how):
    webrtc = {"cert_file": tmp_path / "missing.pem"} if how == "no certificate" else {"tls_port": 0}
    settings = Settings.load(profile="demo", webrtc={**certificate.model_dump(), **webrtc})
    assert "tlsenable" not in rendered(settings, with_agents, tmp_path)["http.conf"]


def test_the_self_signed_certificate_is_made_once_with_a_private_key(tmp_path, certificate):
    assert stat.S_IMODE(certificate.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(certificate.key_file.parent.stat().st_mode) == 0o700
    before = certificate.cert_file.read_bytes()
    settings = Settings.load(profile="demo", webrtc=certificate.model_dump())
    assert not tls.ensure_self_signed(settings)  # kept: an operator's real certificate is never replaced
    assert certificate.cert_file.read_bytes() == before
