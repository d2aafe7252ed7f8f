"""The agent page's case panel in Chromium, fed by real Redis messages through a real ``siaga web``.

The case routes the panel calls (history, suggestions, classification, dispatch...) belong to the
case API; here the browser's requests to them are answered by the test (Playwright routes), which
also records what the page sent, so the page's wiring is checked whatever the server holds.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from app.settings import DEMO_SECRET
from tests.support.parts import need
from tests.support.redis_server import BINARY as REDIS_BINARY
from tests.support.redis_server import PrivateRedis
from tests.support.waiting import until
from tests.support.webapp import running_web, web_env
from tests.web.test_agent_page import CHANNEL, call_service_health
from tests.web.test_browser import log_in
from web import vendor

TICKET = "112-261205-00001"


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    need(REDIS_BINARY is not None, "redis-server (bootstrap installs it)")
    need(not vendor.missing(), "web/node_modules (bootstrap runs npm ci in web/)")
    folder = tmp_path_factory.mktemp("desk-ui")
    redis = PrivateRedis(folder / "redis").start()
    try:
        with call_service_health() as health_port:
            env = {**web_env(folder), "REDIS_URL": redis.url, "SIAGA_WEB__PORT": str(health_port)}
            with running_web(env, "--profile", "demo") as base:
                yield base, redis
    finally:
        redis.kill()
        shutil.rmtree(folder / "redis", ignore_errors=True)


def publish(redis, **message) -> None:
    redis.client().publish(CHANNEL, json.dumps(message))


def fake_case_api(tab, sent: list) -> None:
    """Answer the case routes as the case API will, and record every request the page sends them."""
    answers = {
        f"/api/cases/{TICKET}": {
            "ticket": TICKET,
            "history": {"calls": 3, "last_classification": "prank", "flagged": True},
        },
        f"/api/cases/{TICKET}/suggestions": [
            {"unit": "psc-kuta", "name": "PSC Kuta", "agency": "psc", "distance_km": 0.4},
            {"unit": "amb-kuta-1", "name": "Ambulans Kuta 1", "agency": "ambulance", "distance_km": 2.25},
        ],
        "/api/settings/classifications": ["emergency", "information", "silent", "prank", "wrong number"],
    }

    def answer(route):
        request = route.request
        path = request.url.split("://", 1)[1].split("/", 1)[1]
        path = "/" + path.split("?")[0]
        if request.method == "POST":
            sent.append((path, request.post_data_json, request.headers.get("authorization", "")))
            if path.endswith("/dispatch"):
                return route.fulfill(status=409, json={"detail": "the call has ended"})
            return route.fulfill(status=200, json={})
        return route.fulfill(status=200, json=answers[path]) if path in answers else route.fallback()

    tab.route("**/api/cases/**", answer)
    tab.route("**/api/settings/classifications", answer)


def test_an_offer_puts_the_case_on_screen_and_the_panel_wires_its_actions(page, desk):
    base, redis = desk
    sent: list = []
    fake_case_api(page, sent)
    log_in(page, base, "agent-1", DEMO_SECRET)
    page.goto(f"{base}/agent")
    expect(page.get_by_test_id("no-case")).to_be_visible()
    until(lambda: page.evaluate("window.siaga.events.length") > 0, 10, "the feed's first message")

    received = (datetime.now(UTC) - timedelta(seconds=75)).isoformat().replace("+00:00", "Z")
    publish(redis, type="offer", agent="agent-2", ticket="112-261205-00099", caller_number="0000")
    offer = {
        "type": "offer",
        "agent": "agent-1",
        "ticket": TICKET,
        "line": "112",
        "caller_number": "081234567890",
        "language": "en",
        "category": "medical",
        "district": "kuta",
        "silent": False,
        "received_at": received,
    }
    publish(redis, **offer)
    panel = page.get_by_test_id("case-panel")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("case-ticket")).to_have_text(TICKET)
    expect(page.get_by_test_id("case-caller")).to_have_text("081234567890")
    for field, value in [("language", "en"), ("category", "medical"), ("district", "kuta"), ("line", "112")]:
        expect(page.get_by_test_id(f"case-{field}")).to_have_text(value)
    expect(page.get_by_test_id("case-age")).to_contain_text("1 min")
    expect(page.get_by_test_id("case-history")).to_have_text("3 earlier call(s), last classified prank")
    expect(page.get_by_test_id("case-prank")).to_be_visible()
    assert page.evaluate("window.siaga.events.filter(m => m.agent === 'agent-2').length") == 0

    publish(redis, type="taken", agent="agent-1", ticket=TICKET)
    expect(page.get_by_test_id("case-state")).to_have_text("taken")

    page.get_by_test_id("classification").select_option("emergency")
    page.get_by_test_id("classify").click()
    expect(page.get_by_test_id("case-done")).to_have_text("Classified.")
    page.get_by_test_id("note-text").fill("caller on the beach, near the lifeguard tower")
    page.get_by_test_id("add-note").click()
    expect(page.get_by_test_id("case-done")).to_have_text("Note added.")
    page.get_by_test_id("correct-district").fill("kuta-utara")
    page.get_by_test_id("correct").click()
    expect(page.get_by_test_id("case-done")).to_have_text("Corrected.")

    rows = page.get_by_test_id("suggestions").locator("tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("PSC Kuta")
    page.get_by_test_id("dispatch-conference-psc-kuta").click()
    expect(page.get_by_test_id("case-error")).to_have_text("the call has ended")  # a refusal's detail
    publish(redis, type="dispatch", agent="agent-1", ticket=TICKET, unit="psc-kuta", mode="conference", state="ringing")
    expect(page.get_by_test_id("dispatch-state")).to_have_text("psc-kuta (conference): ringing")
    publish(redis, type="call.ended", agent="agent-1", ticket=TICKET)
    expect(page.get_by_test_id("case-state")).to_contain_text("call ended")
    page.get_by_test_id("close-case").click()
    expect(page.get_by_test_id("no-case")).to_have_text("Case closed.")

    posts = [(path.rsplit("/", 1)[1], body) for path, body, _ in sent]
    assert posts == [
        ("classification", {"classification": "emergency"}),
        ("notes", {"text": "caller on the beach, near the lifeguard tower"}),
        ("corrections", {"district": "kuta-utara"}),
        ("dispatch", {"unit": "psc-kuta", "mode": "conference"}),
        ("close", None),
    ]
    assert all(auth.startswith("Bearer v1.") for _, _, auth in sent)


def test_status_buttons_show_the_servers_refusal_and_the_feed_sets_the_status(page, desk):
    base, redis = desk
    log_in(page, base, "agent-1", DEMO_SECRET)
    page.goto(f"{base}/agent")
    until(lambda: page.evaluate("window.siaga.events.length") > 0, 10, "the feed's first message")
    page.route(
        "**/api/agents/me/status",
        lambda route: route.fulfill(status=409, json={"detail": "no registered phone: cannot be available"}),
    )
    page.get_by_test_id("status-available").click()
    expect(page.get_by_test_id("status-error")).to_have_text("no registered phone: cannot be available")
    publish(
        redis,
        type="agent.status",
        agent="agent-1",
        status="available",
        phones={"sip": False, "web": True},
        since="2026-12-05T10:00:00Z",
        wrapup_ends_at=None,
    )
    expect(page.get_by_test_id("agent-status")).to_have_text("available")
    expect(page.get_by_test_id("status-available")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("service-banner")).to_be_hidden()  # the stand-in call service is up


def test_an_offer_withdrawn_takes_the_case_off_the_desk(page, desk):
    base, redis = desk
    log_in(page, base, "agent-1", DEMO_SECRET)
    page.goto(f"{base}/agent")
    until(lambda: page.evaluate("window.siaga.events.length") > 0, 10, "the feed's first message")
    publish(redis, type="offer", agent="agent-1", ticket=TICKET, caller_number="0812", received_at=None)
    expect(page.get_by_test_id("case-panel")).to_be_visible()
    publish(redis, type="offer.withdrawn", agent="agent-1", ticket=TICKET, reason="caller hung up")
    expect(page.get_by_test_id("case-panel")).to_be_hidden()
    expect(page.get_by_test_id("no-case")).to_have_text(f"Offer {TICKET} withdrawn: caller hung up")
