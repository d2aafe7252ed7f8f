"""The browser softphones: each directory agent's WebRTC endpoint and where browsers reach it.

An agent ``agent-1`` has a UDP phone ``agent-1`` and a browser phone ``agent-1-web``, with
the same password. Browsers speak SIP over a WebSocket to Asterisk's own HTTP server:
``ws://`` on the ARI port while that listens on loopback only (a browser on this
machine), ``wss://`` on ``webrtc.tls_port`` otherwise, since browsers on the LAN need TLS
for the microphone and nobody should read SIP digest exchanges off the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.passwords import is_loopback
from app.settings import Settings

SUFFIX = "-web"
WS_PATH = "/ws"  # res_http_websocket's path for res_pjsip_transport_websocket


def web_endpoint(agent: str) -> str:
    return f"{agent}{SUFFIX}"


@dataclass(frozen=True)
class PhoneAccount:
    """What JsSIP needs to register ``endpoint``."""

    ws_uri: str
    sip_uri: str
    authorization_user: str
    password: str
    display_name: str


def host(settings: Settings) -> str:
    """The name browsers use for Asterisk (and the SIP domain of the browser phones)."""
    return settings.webrtc.public_host or settings.ari.host


def ws_uri(settings: Settings) -> str:
    if is_loopback(settings.ari.host):
        return f"ws://{_bracketed(settings.ari.host)}:{settings.ari.port}{WS_PATH}"
    return f"wss://{_bracketed(host(settings))}:{settings.webrtc.tls_port}{WS_PATH}"


def account(settings: Settings, agent: str, password: str, display_name: str) -> PhoneAccount:
    name = web_endpoint(agent)
    return PhoneAccount(
        ws_uri=ws_uri(settings),
        sip_uri=f"sip:{name}@{_bracketed(host(settings))}",
        authorization_user=name,
        password=password,
        display_name=display_name,
    )


def origin(settings: Settings) -> str:
    """The WebSocket's origin, for the pages' Content-Security-Policy (``connect-src``)."""
    scheme, _, rest = ws_uri(settings).partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _bracketed(name: str) -> str:
    return f"[{name}]" if ":" in name and not name.startswith("[") else name
