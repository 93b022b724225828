"""Browser tests: Debian's Chromium, driven by Playwright, against the app on a real HTTP server.

The browser is /usr/bin/chromium (Playwright's own browser downloads do not work here). Without
it these tests skip, except where BONUS_TEST_REQUIRE_BROWSER is set (CI): there they fail.
Each test saves screenshots at 360 px and at desktop width into tests/screenshots/.

The session cookie keeps its production flags (Secure included): Chromium counts
http://127.0.0.1 as a secure context and sends Secure cookies to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.browser import PHONE_SIZE, why_no_browser

# BONUS_TEST_CHROMIUM points elsewhere on a machine whose Chromium lives elsewhere
CHROMIUM = Path(os.environ.get("BONUS_TEST_CHROMIUM", "/usr/bin/chromium"))
# The machine's network is closed: without these Chromium keeps dialling Google at start-up.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run; each test opens its own contexts (cookie jars)."""
    reason = why_no_browser(CHROMIUM)
    if reason and os.environ.get("BONUS_TEST_REQUIRE_BROWSER"):
        pytest.fail(f"browser tests are required here, but {reason}")
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, live_server) -> Iterator[Callable]:
    """open_page("/cabinet") → a page in a fresh browser (own cookies), 360 px wide."""
    contexts = []

    def open_(path: str):
        context = browser.new_context(viewport=PHONE_SIZE, base_url=live_server, locale="ru-RU")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto(path)
        return page

    yield open_
    for context in contexts:
        context.close()
