"""The pages in Debian's Chromium against a real ``siaga web --profile demo``: logging in and out
through the forms, JsSIP and Swagger UI from this site, and not one request to another host."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from app import db
from app.cases.models import Case
from app.settings import DEMO_SECRET
from tests.support.parts import need
from tests.support.webapp import running_web, web_env
from web import vendor
from web.deps import SESSION_COOKIE

TICKETS = ["112-261204-00001", "14084-261204-00002"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    need(not vendor.missing(), "web/node_modules (bootstrap runs npm ci in web/)")
    env = web_env(tmp_path_factory.mktemp("web"))
    with db.session_factory(db.make_engine(env["DATABASE_URL"]))() as session:
        for ticket in TICKETS:
            line = ticket.split("-")[0]
            session.add(
                Case(ticket=ticket, line=line, status="ended", received_at=datetime(2026, 12, 4, 13, tzinfo=UTC))
            )
        session.commit()
    with running_web(env, "--profile", "demo") as url:
        yield url


def log_in(page, base, name="agent-1", password=DEMO_SECRET):
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def only_this_site(requested, base):
    assert requested and all(url.startswith(f"{base}/") for url in requested), requested


def session_cookie(page):
    return [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]


def test_an_agent_logs_in_and_sees_who_and_the_latest_cases(page, base):
    log_in(page, base)
    assert page.url == f"{base}/"
    assert "agent-1 (agent)" in page.locator("header").inner_text()
    rows = page.locator("tbody tr").all_inner_texts()
    assert [row.split()[0] for row in rows] == TICKETS[::-1]  # newest first; same time, later id first
    assert session_cookie(page)


def test_a_wrong_password_shows_an_error_and_opens_no_session(page, base):
    log_in(page, base, password="not-the-password")
    assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    assert page.url.startswith(f"{base}/login") and not session_cookie(page)


def test_the_home_page_loads_jssip_from_this_site_and_nothing_from_elsewhere(page, requested, base):
    violations: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    log_in(page, base)
    assert page.evaluate("typeof JsSIP") == "object"
    assert page.evaluate("JsSIP.version") == "3.13.8"
    assert f"{base}/static/vendor/jssip/jssip.min.js" in requested
    only_this_site(requested, base)
    assert not violations


def test_the_csp_lets_websockets_reach_this_site_only(page, base):
    # The softphone's SIP over WebSocket goes to this site: CSP3's connect-src 'self' admits ws:// to it.
    log_in(page, base)
    blocked = page.evaluate(
        """() => new Promise(done => {
            document.addEventListener("securitypolicyviolation", e => done(e.blockedURI));
            new WebSocket("ws://" + location.host + "/no-such-socket");  // first: its violation would come first
            new WebSocket("ws://127.0.0.2:9/elsewhere");
        })"""
    )
    assert blocked == "ws://127.0.0.2:9/elsewhere"


def test_docs_renders_swagger_ui_with_every_operation_and_nothing_from_elsewhere(page, requested, base):
    violations: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    page.goto(f"{base}/docs")
    page.locator(".opblock").first.wait_for()
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/api/cases", "/api/cases/{ticket}", "/api/users", "/api/auth/token"} <= paths
    page.locator(".opblock-summary", has_text="/api/users").first.click()
    expect(page.locator(".opblock.is-open .opblock-body")).to_contain_text("x-siaga-role")
    only_this_site(requested, base)
    assert f"{base}/openapi.json" in requested and not violations


def test_logging_out_ends_the_session(page, base):
    log_in(page, base)
    page.get_by_role("button", name="Log out").click()  # a POST with the session's CSRF token
    page.wait_for_url(f"{base}/login")
    assert not session_cookie(page)
    page.goto(f"{base}/")
    assert page.url == f"{base}/login?next=/"
