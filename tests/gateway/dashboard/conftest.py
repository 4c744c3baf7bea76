"""A whole stack for the dashboard's browser tests, and headless Chromium driven by Playwright.

The stack is every service as a process on real NATS and PostgreSQL (the notification service
too, with two attempts per delivery): market-data's synthetic feed (BTCUSD and AAPL, four
quotes a second) gives the chart its candles and the venue its prices. The browser is Debian's
``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it); Playwright never downloads
one. Without it the tests skip and say so.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from papertape.gateway.dashboard import vendor
from tests.gateway.stack import SERVICES, Stack, running_stack

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "dashboard"


def chromium() -> str | None:
    """Debian's chromium, if installed."""
    for path in CHROMIUM:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = chromium()
    if path is None:
        pytest.skip(
            "no Chromium at /usr/bin/chromium: `apt-get install -y chromium` "
            "(.ci/run does) to run the dashboard's browser tests"
        )
    return path


@pytest.fixture(scope="module")
def chart_library() -> None:
    """The dashboard's chart library, fetched (pinned) when missing; skips when it cannot be."""
    try:
        vendor.ensure()
    except (vendor.IntegrityError, OSError) as error:
        pytest.skip(f"the dashboard's chart library could not be fetched: {error}")


@pytest_asyncio.fixture(scope="module")
async def stack(
    chart_library: None, nats_url: str, postgres_server_url: str
) -> AsyncIterator[Stack]:
    extra = {
        "PAPERTAPE_SERVICES": "portfolio,marketdata,signals",
        "PAPERTAPE_SYMBOLS": "BTCUSD,AAPL",
        "PAPERTAPE_QUOTE_RATE": "4",
        "PAPERTAPE_ACCOUNT_INTERVAL_S": "0.5",
        # Sessions trade the bars a test publishes: warmed up with market-data's own history
        # first, they would take a test's bars of minutes market-data has closed as stale.
        "PAPERTAPE_WARMUP_BARS": "0",
        # The notification service's: a failing webhook is a dead letter after two tries.
        "PAPERTAPE_MAX_ATTEMPTS": "2",
        "PAPERTAPE_BACKOFF_BASE_S": "0.2",
        "PAPERTAPE_ALLOW_PRIVATE_TARGETS": "true",  # the tests' webhook receivers are on loopback
    }
    with tempfile.TemporaryDirectory(prefix="papertape-dashboard-") as folder:
        async with running_stack(
            nats_url,
            postgres_server_url,
            Path(folder),
            extra=extra,
            services=("marketdata", "signals", "notification", *SERVICES),
        ) as running:
            yield running


@pytest_asyncio.fixture(scope="module")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    args = ["--disable-background-networking", "--disable-component-update", "--no-first-run"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=args
        )
        try:
            yield launched
        finally:
            await launched.close()


class Screens:
    """Screenshots of one test, kept in test-artifacts/dashboard/<test>/ (gitignored)."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.taken: list[Path] = []

    async def shot(self, name: str) -> Path:
        path = self.folder / f"{len(self.taken):02d}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest_asyncio.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.extend(_script_error(message)))
    try:
        yield opened
    finally:
        await context.close()
    # A script error is a failure even when the page looked right.
    assert not errors, errors


def _script_error(message: ConsoleMessage) -> list[str]:
    """A console error of the page's own (the browser logs every refused request too: a 422
    the page shows as a refusal is expected, not an error)."""
    if message.type != "error" or message.text.startswith("Failed to load resource"):
        return []
    return [message.text]


@pytest.fixture
def screens(page: Page, request: pytest.FixtureRequest) -> Screens:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Screens(page, folder)
