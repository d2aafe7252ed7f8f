"""The agent page's server side: the page, its API token (CSRF), the browser phone's account and the
live feed (a real ``siaga web`` process, a private redis-server, a stand-in call service /healthz)."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from app.asterisk.secrets import endpoint_password
from app.settings import DEMO_SECRET
from tests.support.parts import need
from tests.support.redis_server import BINARY as REDIS_BINARY
from tests.support.redis_server import PrivateRedis
from tests.support.waiting import until
from tests.support.webapp import free_port, running_web, web_env
from tests.web.conftest import bearer, settings_for
from tests.web.test_pages import log_in
from web.agent_events import CHANNEL, for_agent
from web.main import create_app

# -- the page and its token -------------------------------------------------------


def test_the_agent_page_has_the_phone_the_status_and_the_case_panel_and_no_inline_script(client):
    log_in(client)
    page = client.get("/agent")
    assert page.status_code == 200
    for testid in ["phone-state", "answer", "hangup", "agent-status", "case-panel", "service-banner", "suggestions"]:
        assert f'data-testid="{testid}"' in page.text, testid
    assert '<script src="/static/agent.js" defer></script>' in page.text
    assert not re.search(r"<script>|\son[a-z]+=", page.text)  # the CSP forbids inline script
    assert 'href="/agent"' in client.get("/").text


def test_the_agent_page_without_a_session_goes_to_the_login_form(client):
    response = client.get("/agent", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/agent"


def csrf_of(client) -> str:
    return re.search(r'name="siaga-csrf" content="([^"]+)"', client.get("/agent").text).group(1)


def test_the_page_token_needs_the_sessions_csrf_token_and_then_works_on_the_api(client):
    log_in(client)
    assert client.post("/agent/token").status_code == 403
    assert client.post("/agent/token", headers={"X-CSRF-Token": "another"}).status_code == 403
    answer = client.post("/agent/token", headers={"X-CSRF-Token": csrf_of(client)})
    assert answer.status_code == 200 and answer.json()["expires_in"] == 600
    me = client.get("/api/me", headers=bearer(answer.json()["access_token"]))
    assert me.json() == {"name": "agent-1", "role": "agent"}


def test_the_page_token_without_a_session_is_no_token(client):
    response = client.post("/agent/token", headers={"X-CSRF-Token": "x"}, follow_redirects=False)
    assert response.status_code == 303


# -- the browser phone's account ---------------------------------------------------------


def test_a_directory_agent_gets_the_browser_phone_account_over_ws_on_loopback(client, auth, settings):
    phone = client.get("/api/agents/me/phone", headers=auth["agent"])
    assert phone.status_code == 200
    assert phone.json() == {
        "ws_uri": "ws://127.0.0.1:8088/ws",
        "sip_uri": "sip:agent-1-web@127.0.0.1",
        "authorization_user": "agent-1-web",
        "password": endpoint_password(settings, "agent-1"),
        "display_name": "agent-1",
    }


def test_a_user_who_is_no_directory_agent_gets_a_clear_404(client, auth):
    phone = client.get("/api/agents/me/phone", headers=auth["supervisor"])
    assert phone.status_code == 404
    assert (
        phone.json()["detail"] == "supervisor-1 is not a call-taker in the directory (agents:), so has no browser phone"
    )


def test_beyond_loopback_the_phone_uses_wss_on_the_tls_port_and_the_csp_admits_it(engine, auth_for):
    settings = settings_for(
        str(engine.url), ari={"host": "10.1.2.3", "password": "x"}, webrtc={"tls_port": 8443, "public_host": "pbx.lan"}
    )
    with auth_for(settings) as (client, headers):
        phone = client.get("/api/agents/me/phone", headers=headers).json()
        assert phone["ws_uri"] == "wss://pbx.lan:8443/ws"
        assert phone["sip_uri"] == "sip:agent-1-web@pbx.lan"
        assert "connect-src 'self' wss://pbx.lan:8443;" in client.get("/login").headers["content-security-policy"]


@pytest.fixture
def auth_for(engine):
    from fastapi.testclient import TestClient

    from tests.web.conftest import KEY, token_of

    @contextmanager
    def make(settings):
        with TestClient(create_app(settings, engine, KEY)) as client:
            yield client, bearer(token_of(client, "agent-1"))

    return make


# -- the live feed -----------------------------------------------------------------------


def test_only_messages_for_the_agent_become_data_lines_unchanged():
    raw = '{"type": "offer", "agent": "agent-1", "ticket": "112-261205-00001"}'
    assert for_agent(raw.encode(), "agent-1") == raw
    assert for_agent(raw, "agent-2") is None
    assert for_agent(b"not json", "agent-1") is None
    assert for_agent(b'["agent-1"]', "agent-1") is None
    assert for_agent('{\n"agent": "agent-1"}', "agent-1") == '{"agent": "agent-1"}'  # one SSE line


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the standard library's name
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def call_service_health() -> Iterator[int]:
    """A stand-in for the call service's /healthz (200) on a free port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def logged_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=5)
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = client.post("/login", data={"username": name, "password": DEMO_SECRET, "csrf": csrf})
    assert answer.status_code == 303, answer.text
    return client


class Feed:
    """Reads one /agent/events stream in a thread; ``messages`` grows as they come."""

    def __init__(self, client: httpx.Client) -> None:
        self.messages: list[dict] = []
        self.raw: list[str] = []
        self.status: int | None = None
        self._client = client
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with self._client.stream("GET", "/agent/events", timeout=httpx.Timeout(5, read=None)) as response:
                self.status = response.status_code
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        self.raw.append(line[6:])
                        self.messages.append(json.loads(line[6:]))
        except httpx.HTTPError:
            pass

    def close(self) -> None:
        self._client.close()


@pytest.fixture(scope="module")
def live_web(tmp_path_factory):
    need(REDIS_BINARY is not None, "redis-server (bootstrap installs it)")
    folder = tmp_path_factory.mktemp("feed")
    redis = PrivateRedis(folder / "redis").start()
    try:
        with call_service_health() as health_port:
            env = {**web_env(folder), "REDIS_URL": redis.url, "SIAGA_WEB__PORT": str(health_port)}
            env.pop("SIAGA_REDIS__URL", None)
            with running_web(env, "--profile", "demo") as base:
                yield base, redis
    finally:
        redis.kill()
        shutil.rmtree(folder / "redis", ignore_errors=True)


def test_the_feed_passes_on_the_agents_own_messages_unchanged_and_says_the_service_is_up(live_web):
    base, redis = live_web
    feed = Feed(logged_in(base, "agent-1"))
    try:
        until(lambda: any(m.get("type") == "service" for m in feed.messages), 10, "the first service message")
        assert feed.status == 200
        assert feed.messages[0] == {"type": "service", "up": True, "live": True}
        mine = json.dumps({"type": "offer", "agent": "agent-1", "ticket": "112-261205-00001", "language": "en"})
        others = json.dumps({"type": "offer", "agent": "agent-2", "ticket": "112-261205-00002"})
        publisher = redis.client()
        publisher.publish(CHANNEL, others)
        publisher.publish(CHANNEL, "not json")
        publisher.publish(CHANNEL, mine)
        until(lambda: mine in feed.raw, 10, "agent-1's offer on agent-1's feed")
        assert not any(m.get("agent") == "agent-2" for m in feed.messages)
    finally:
        feed.close()


def test_without_redis_the_feed_says_live_false_and_keeps_going(tmp_path):
    with call_service_health() as health_port:
        env = {**web_env(tmp_path), "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
        env["SIAGA_WEB__PORT"] = str(health_port)
        with running_web(env, "--profile", "demo") as base:
            feed = Feed(logged_in(base, "agent-1"))
            try:
                until(lambda: len(feed.messages) >= 2, 10, "two service messages")
                assert feed.status == 200
                assert feed.messages[:2] == [{"type": "service", "up": True, "live": False}] * 2
            finally:
                feed.close()


def test_the_feed_says_the_call_service_is_down_when_its_healthz_does_not_answer(tmp_path):
    env = {**web_env(tmp_path), "SIAGA_REDIS__URL": "", "SIAGA_WEB__PORT": str(free_port())}
    with running_web(env, "--profile", "demo") as base:
        feed = Feed(logged_in(base, "agent-1"))
        try:
            until(lambda: feed.messages, 10, "a service message")
            assert feed.messages[0] == {"type": "service", "up": False, "live": False}
        finally:
            feed.close()


def test_the_feed_needs_a_page_session(live_web):
    base, _ = live_web
    response = httpx.get(f"{base}/agent/events", follow_redirects=False, timeout=5)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/agent/events"
