"""The dashboard in headless Firefox (Debian's firefox-esr) over WebDriver BiDi, on a running
stack: log in with a key, see the candles and the account, place an order from the ticket and
see its fill in positions, all without reloading.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.gateway.dashboard.bidi import Firefox, firefox, firefox_version, launched
from tests.gateway.dashboard.conftest import ARTIFACTS
from tests.gateway.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]
OLDEST = 115  # the first ESR whose WebDriver BiDi has everything used here


@pytest.fixture(scope="module")
def firefox_path() -> str:
    path = firefox()
    if path is None:
        pytest.skip(
            "no Firefox at /usr/bin/firefox-esr: `apt-get install -y firefox-esr` "
            "(.ci/run does) to run the dashboard's Firefox test"
        )
    version = firefox_version(path)
    if version < OLDEST:
        pytest.skip(f"Firefox {version} at {path} is older than {OLDEST}: no WebDriver BiDi")
    return path


@pytest_asyncio.fixture
async def tab(firefox_path: str) -> AsyncIterator[Firefox]:
    async with launched(firefox_path) as browser:
        yield browser
    # A script error is a failure even when the page looked right.
    assert not browser.errors, browser.errors


def _text(selector: str) -> str:
    return f"document.querySelector({json.dumps(selector)})?.textContent ?? ''"


async def _fill(tab: Firefox, selector: str, value: str) -> None:
    """Type into a field as a user would: the value, then the events a page listens to."""
    await tab.evaluate(
        f"(() => {{ const field = document.querySelector({json.dumps(selector)});"
        f" field.value = {json.dumps(value)};"
        " field.dispatchEvent(new Event('input', {bubbles: true}));"
        " field.dispatchEvent(new Event('change', {bubbles: true})); return true; })()"
    )


async def _click(tab: Firefox, selector: str) -> None:
    await tab.evaluate(f"document.querySelector({json.dumps(selector)}).click(), true")


@pytest.mark.usefixtures("firefox_path")
async def test_firefox_logs_in_sees_candles_and_the_account_and_a_ticket_order_fills_live(
    stack: Stack, tab: Firefox
) -> None:
    folder = ARTIFACTS / "firefox"
    folder.mkdir(parents=True, exist_ok=True)
    key = await stack.account("foxtrot")
    await tab.navigate(stack.url + "/")
    assert "PAPER TRADING" in str(await tab.evaluate(_text("#paper-banner")))
    await _fill(tab, "#login-key", key)
    await _click(tab, "#login-form button[type=submit]")
    await tab.until("document.querySelector('#live-status')?.dataset.state === 'live'")
    assert await tab.evaluate("document.querySelector('#app').checkVisibility()") is True
    assert await tab.evaluate("document.querySelector('#account-select').value") == "foxtrot"

    # Candles drawn on a canvas, and the account's money.
    candles = await tab.until("Number(document.querySelector('#price-chart').dataset.candles) || 0")
    assert isinstance(candles, int | float), candles
    assert candles >= 1
    assert await tab.evaluate(
        "document.querySelector('#price-chart canvas')?.getBoundingClientRect().width > 0"
    )
    await tab.until(f"{_text('#summary [data-field=equity]')} === '100000.00'")
    await tab.until(f"{_text('#last-price')}.includes('bid')")
    await tab.screenshot(folder / "00-logged-in.png")

    # A market buy from the ticket fills, and shows in positions without a reload.
    await tab.evaluate("window.__loadedOnce = true")
    await _fill(tab, "#ticket [name=quantity]", "0.1")
    await _click(tab, "#ticket button[type=submit]")
    await tab.until("document.querySelector('#ticket-result').dataset.ok === 'true'")
    await tab.until(f"{_text('#ticket-result')}.includes('placed')")
    position = "#positions tr[data-symbol=BTCUSD]"
    shown = await tab.until(_text(position))
    assert "BTCUSD" in str(shown), shown
    assert "long0.1" in str(shown), shown  # the cells' text, joined
    await tab.until(f"{_text('#summary [data-field=cash]')} !== '100000.00'")
    assert await tab.evaluate("window.__loadedOnce === true")  # the same page, never reloaded
    shot = await tab.screenshot(folder / "01-filled.png")
    assert shot.stat().st_size > 0
