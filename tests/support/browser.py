"""Debian's Chromium driven by Playwright for Python, for tests of the pages in a real browser.

Playwright's own browser download cannot work on our machines: it drives
``/usr/bin/chromium`` (Debian's package ``chromium``, installed by bootstrap).
The background-networking flags keep Chromium from calling Google's hosts,
which the closed network refuses (many at a time, at every start). Each
``launch`` gets a new empty profile from Playwright (a fresh user-data-dir), and
each test its own context, so no cookie passes from one test to the next.

Use: ``from tests.support.browser import browser, page, playwright, requested  # noqa: F401 - the fixtures``
in one conftest.py only (tests/web/conftest.py).
``page`` records the URL of every request it makes in ``requested`` and leaves
a screenshot of how it ended in var/screenshots/<test>.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.parts import need

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
TIMEOUT_MS = 15_000


# A fake microphone and camera, granted without asking: the softphone's tests. With
# --use-file-for-fake-audio-capture=<wav> the microphone plays that file in a loop.
MEDIA_FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@pytest.fixture(scope="module")
def playwright() -> Iterator:
    """One Playwright per test module (its sync API cannot be started twice in one thread). Not per
    session: while it runs, its event loop holds the thread, and async tests after it would fail."""
    need(CHROMIUM.is_file(), "Chromium (/usr/bin/chromium, Debian's package chromium; bootstrap installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


def launch(playwright, *extra: str):
    """Debian's Chromium, headless, with ``FLAGS`` and ``extra``."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[*FLAGS, *extra])


@pytest.fixture(scope="module")
def browser(playwright) -> Iterator:
    chromium = launch(playwright)
    yield chromium
    chromium.close()


@pytest.fixture
def requested() -> list[str]:
    """Every URL ``page`` has requested so far, in order: documents, scripts, styles, fetches, images."""
    return []


@pytest.fixture
def page(browser, requested, request) -> Iterator:
    yield from tab_of(browser, requested, request.node.name)


def tab_of(browser, requested: list[str], test_name: str) -> Iterator:
    """A tab in a fresh context of ``browser``; its screenshot is left in var/screenshots/<test_name>.png."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.on("request", lambda r: requested.append(r.url))
    try:
        yield tab
    finally:
        screenshot(tab, test_name)
        context.close()


def screenshot(tab, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    tab.screenshot(path=path, full_page=True)
    return path
