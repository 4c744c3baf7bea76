"""The dashboard in headless Chromium on a running stack: log in, watch, trade, run a bot, be
notified.

Everything the tests see arrives without a reload: the page is loaded once per test.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Locator, Page, WebSocketRoute, expect

from papertape.contract.events.market import BarClosed, Timeframe
from tests.gateway.dashboard.conftest import Screens
from tests.gateway.stack import BTC, Stack
from tests.gateway.test_deadletters import letters
from tests.notification.conftest import SignedReceiver
from tests.signals.test_service import publish_bar

# Chromium first: without it the tests skip before a stack is started for them.
pytestmark = [
    pytest.mark.usefixtures("chromium_path"),
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(240),
]
WAIT_MS = 30_000
SOME = re.compile(r"^[1-9][0-9]*$")


async def log_in(page: Page, stack: Stack, key: str) -> None:
    await page.goto(stack.url + "/")
    await expect(page.locator("#paper-banner")).to_contain_text("PAPER TRADING")
    await page.fill("#login-key", key)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")


async def test_a_trader_logs_in_sees_candles_and_the_account_and_a_ticket_order_fills_live(
    stack: Stack, page: Page, screens: Screens
) -> None:
    key = await stack.account("trader")
    await log_in(page, stack, key)
    await expect(page.locator("#account-select")).to_have_value("trader")
    await expect(page.locator("#symbol-select")).to_have_value("BTCUSD")
    chart = page.locator("#price-chart")
    await expect(chart).to_have_attribute("data-candles", SOME, timeout=WAIT_MS)
    await expect(chart.locator("canvas").first).to_be_visible()
    summary = page.locator("#summary")
    await expect(summary.locator("[data-field=equity]")).to_have_text("100000.00")
    await expect(summary.locator("[data-field=cash]")).to_have_text("100000.00")
    await expect(page.locator("#last-price")).to_contain_text("bid", timeout=WAIT_MS)
    await screens.shot("logged-in")

    # A refusal shows the account's reason.
    await page.fill("#ticket [name=quantity]", "100000")
    await page.click("#ticket button[type=submit]")
    result = page.locator("#ticket-result")
    await expect(result).to_have_attribute("data-ok", "false", timeout=WAIT_MS)
    await expect(result).to_contain_text("refused: max_position_size")

    # A market buy with a bracket: filled by the venue, shown in positions and on the chart.
    await page.fill("#ticket [name=quantity]", "0.1")
    bid = await _bid(page)
    await page.fill("#ticket [name=stop_loss]", f"{bid * 0.9:.2f}")
    await page.fill("#ticket [name=take_profit]", f"{bid * 1.1:.2f}")
    await page.click("#ticket button[type=submit]")
    await expect(result).to_have_attribute("data-ok", "true", timeout=WAIT_MS)
    await expect(result).to_contain_text("placed")
    position = page.locator("#positions tr[data-symbol=BTCUSD]")
    await expect(position).to_be_visible(timeout=WAIT_MS)
    await expect(position).to_contain_text("0.1")
    await expect(position).to_contain_text("open, protected", timeout=WAIT_MS)
    await expect(chart).to_have_attribute("data-fill-markers", "1", timeout=WAIT_MS)
    await expect(chart).to_have_attribute("data-exit-lines", "2", timeout=WAIT_MS)
    orders = page.locator("#orders tbody tr")
    await expect(orders).to_have_count(2)
    await expect(page.locator("#orders")).to_contain_text("stop_loss")
    await expect(summary.locator("[data-field=cash]")).not_to_have_text("100000.00")
    await screens.shot("filled")

    # Cancelling the take-profit from the page leaves the stop working, and one line.
    take_profit = page.locator("#orders tbody tr", has_text="take_profit")
    await take_profit.get_by_role("button", name="Cancel").click()
    await expect(orders).to_have_count(1, timeout=WAIT_MS)
    await expect(chart).to_have_attribute("data-exit-lines", "1", timeout=WAIT_MS)
    await screens.shot("take-profit-cancelled")

    # Closing from the page: the position goes, the round trip shows in the closed trades.
    await position.get_by_role("button", name="Close").click()
    await expect(position).to_be_hidden(timeout=WAIT_MS)
    trades = page.locator("#trades tbody tr")
    await expect(trades).to_have_count(1, timeout=WAIT_MS)
    await expect(trades.first).to_contain_text("BTCUSD")
    await expect(trades.first).to_contain_text("manual")
    filters = page.locator("#trade-filters")
    await filters.locator("[name=symbol]").fill("ETHUSD")
    await filters.locator("button[type=submit]").click()
    await expect(page.locator("#trades tbody")).to_contain_text("none")
    await filters.locator("[name=symbol]").fill("BTCUSD")
    await filters.locator("[name=exit_reason]").select_option("manual")
    await filters.locator("button[type=submit]").click()
    await expect(trades.first).to_contain_text("BTCUSD")
    async with page.expect_download() as downloading:
        await page.click("#trades-csv")
    download = await downloading.value
    assert download.suggested_filename == "trader-trades.csv"
    csv = await asyncio.to_thread(Path(await download.path()).read_text)
    assert "BTCUSD" in csv.splitlines()[1], csv
    await screens.shot("closed")
    assert len(screens.taken) == 4


async def test_a_dropped_connection_comes_back_and_shows_what_happened_while_it_was_down(
    stack: Stack, page: Page, screens: Screens
) -> None:
    sockets: list[WebSocketRoute] = []
    back = asyncio.Event()

    async def through(socket: WebSocketRoute) -> None:
        sockets.append(socket)
        if len(sockets) > 2:  # the login's check, the first live socket, then the reconnect
            await back.wait()
        socket.connect_to_server()

    await page.route_web_socket(re.compile(r"/ws\b"), through)
    key = await stack.account("dropped")
    await log_in(page, stack, key)
    status = page.locator("#live-status")
    await expect(status).to_have_attribute("data-connections", "1")
    await expect(page.locator("#positions tbody")).to_contain_text("none")

    # The gateway's side of the live socket goes away, and stays away until the order placed
    # meanwhile has filled.
    await sockets[-1].close(code=1012, reason="gateway restarting")
    await expect(status).to_have_attribute("data-state", "down")
    async with stack.client(key) as http:
        placed = await http.post(
            "/api/v1/accounts/dropped/orders",
            json={"symbol": "BTCUSD", "side": "buy", "quantity": "0.05"},
        )
        assert placed.status_code == 201, placed.text
        await until(lambda: _holds(http, "dropped"))
    await expect(page.locator("#positions tbody")).to_contain_text("none")
    back.set()
    await expect(status).to_have_attribute("data-connections", "2", timeout=WAIT_MS)
    await expect(status).to_have_attribute("data-state", "live")
    position = page.locator("#positions tr[data-symbol=BTCUSD]")
    await expect(position).to_contain_text("0.05", timeout=WAIT_MS)
    chart = page.locator("#price-chart")
    await expect(chart).to_have_attribute("data-fill-markers", "1", timeout=WAIT_MS)
    await screens.shot("reconnected")


async def test_a_bot_session_is_started_and_stopped_from_the_page(
    stack: Stack, page: Page, screens: Screens
) -> None:
    key = await stack.account("botter")
    await log_in(page, stack, key)
    await expect(page.locator("#strategy-select option")).not_to_have_count(0)
    await page.select_option("#strategy-select", "donchian_breakout")
    for name, value in PERIODS.items():
        await page.fill(f"#strategy-parameters input[name='param:{name}']", str(value))
    await submit(
        page, "#session-form", session_id="dash-bot", symbols="BTCUSD", mode="CONSERVATIVE"
    )
    result = page.locator("#session-result")
    await expect(result).to_contain_text("started dash-bot: RUNNING", timeout=WAIT_MS)
    row = page.locator("#sessions tr[data-session=dash-bot]")
    await expect(row).to_have_attribute("data-status", "RUNNING")
    await expect(row).to_contain_text("CONSERVATIVE")

    # Bars as market-data publishes them: flat, then a breakout on the minute the chart is
    # forming. The session's signals reach the feed; the breakout is a marker on the chart.
    for bar in breakout(datetime.now(UTC)):
        await publish_bar(stack.nc, stack.subjects, bar)
    signals = page.locator("#signals tbody tr[data-signal]")
    # One signal per bar (market-data's own bars of BTCUSD may add one as a minute closes).
    await expect(signals.filter(has_text="BUY").first).to_be_visible(timeout=WAIT_MS)
    # Every bar's signal: the table may still be drawing the ones the same batch carried.
    await until(lambda: _at_least(signals, len(CLOSES)))
    chart = page.locator("#price-chart")
    await expect(chart).to_have_attribute("data-signal-markers", SOME, timeout=WAIT_MS)
    # A click on the breakout's candle (the newest, at the right) reads the signal's reasoning.
    detail = page.locator("#signal-detail")
    clicked = await click_newest_candle(page, detail)
    assert clicked, f"no click on the chart showed the signal: {await chart_state(page)}"
    await expect(detail).to_contain_text("BUY BTCUSD")
    await screens.shot("signal-from-the-chart")
    buy = page.locator("#signals tbody tr[data-signal]", has_text="BUY").first
    await expect(buy).to_be_visible()
    await buy.click()
    await expect(detail).to_contain_text("BUY BTCUSD")
    reasoning = (await buy.locator("td").nth(5).inner_text()).strip()
    assert reasoning
    await expect(detail).to_contain_text(reasoning)
    await screens.shot("running-with-signals")

    # Sessions compared: the ticked ones side by side.
    await row.locator("input[name=compare]").check()
    await page.click("#compare-sessions")
    compared = page.locator("#comparison tbody tr")
    await expect(compared).to_have_count(1, timeout=WAIT_MS)
    await expect(compared.first).to_contain_text("dash-bot")
    await expect(compared.first).to_contain_text("donchian_breakout")

    await row.get_by_role("button", name="Pause").click()
    await expect(row).to_have_attribute("data-status", "PAUSED", timeout=WAIT_MS)
    await row.get_by_role("button", name="Resume").click()
    await expect(row).to_have_attribute("data-status", "RUNNING", timeout=WAIT_MS)
    await row.get_by_role("button", name="Stop").click()
    await expect(row).to_have_attribute("data-status", "STOPPED", timeout=WAIT_MS)
    await expect(row.get_by_role("button", name="Stop")).to_be_disabled()
    await screens.shot("stopped")
    async with stack.client(key) as http:
        view = (await http.get("/api/v1/sessions/dash-bot")).json()
    assert view["status"] == "STOPPED"
    assert view["mode"] == "CONSERVATIVE"
    assert view["parameters"]["period"] == PERIODS["period"]
    assert view["signals"].get("BUY", 0) >= 1


PERIODS = {"period": 3, "exit_period": 2, "atr_period": 2, "volatility_period": 2}
CLOSES = ("43000", "43000", "43000", "43000", "43000", "47000")


def breakout(now: datetime) -> list[BarClosed]:
    """One-minute BTCUSD bars ending with the minute now in progress: flat, then a jump."""
    last = now.replace(second=0, microsecond=0)
    bars = []
    for index, close in enumerate(CLOSES):
        start = last - timedelta(minutes=len(CLOSES) - 1 - index)
        price = Decimal(close)
        bars.append(
            BarClosed(
                symbol=BTC,
                timeframe=Timeframe.M1,
                open=price,
                high=price + 5,
                low=price - 5,
                close=price,
                volume=Decimal(10),
                start=start,
                end=start + timedelta(minutes=1),
                source="test",
            )
        )
    return bars


async def click_newest_candle(page: Page, detail: Locator) -> bool:
    """Click across the right end of the chart's plot until a signal's reasoning shows."""
    chart = page.locator("#price-chart")
    await chart.scroll_into_view_if_needed()
    box = await chart.bounding_box()
    assert box is not None
    # The price scale is on the right, about 60-80 px wide; a chart of one candle (market-data
    # closed no bar yet) has a target a few pixels wide.
    for offset in range(20, 400, 1):
        await page.mouse.click(box["x"] + box["width"] - offset, box["y"] + box["height"] / 2)
        if await detail.is_visible():
            return True
    return False


async def chart_state(page: Page) -> str:
    """What the chart says it drew and where it was last clicked (for a failure's message)."""
    return str(
        await page.locator("#price-chart").evaluate(
            "e => JSON.stringify({...e.dataset, now: new Date().toISOString()})"
        )
    )


async def submit(page: Page, form: str, **fields: str) -> None:
    """Fill the named inputs and selects of ``form`` and submit it."""
    for name, value in fields.items():
        field = page.locator(f"{form} [name={name}]")
        if await field.evaluate("e => e.tagName") == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)
    await page.locator(f"{form} button[type=submit]").click()


async def _at_least(rows: Locator, count: int) -> bool:
    return await rows.count() >= count


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def _holds(http: httpx.AsyncClient, account: str) -> bool:
    positions = await http.get(f"/api/v1/accounts/{account}/positions")
    return bool(positions.json())


async def _bid(page: Page) -> float:
    text = await page.locator("#last-price").inner_text()
    return float(text.split("bid ")[1].split(" ")[0])


async def test_a_wrong_key_is_refused_and_data_is_shown_as_text_on_a_phone_sized_screen(
    stack: Stack, page: Page, screens: Screens
) -> None:
    await page.goto(stack.url + "/dashboard/")
    await page.fill("#login-key", "pt_nosuchkey_secret")
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#login-error")).to_contain_text("unauthorized")
    await expect(page.locator("#app")).to_be_hidden()

    # An account whose name is markup: the page shows the characters, runs nothing.
    name = "<img src=x onerror=\"document.title='pwned'\">"
    async with stack.client(stack.admin) as http:
        opened = await http.post("/api/v1/accounts", json={"account_id": "xss", "name": name})
        assert opened.status_code == 201, opened.text
        issued = await http.post("/api/v1/keys", json={"account_id": "xss", "scopes": ["read"]})
        assert issued.status_code == 201, issued.text
    await page.set_viewport_size({"width": 390, "height": 844})
    await log_in(page, stack, str(issued.json()["key"]))
    await expect(page.locator("#account-select option")).to_have_text(f"{name} (xss)")
    await expect(page.locator("#summary [data-field=equity]")).to_have_text("10000.00")
    assert await page.locator("main img").count() == 0
    assert await page.title() != "pwned"
    # Readable on a phone: nothing wider than the screen but the tables, which scroll.
    width = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => !e.closest('.table-wrap'))"
        ".filter(e => e.getBoundingClientRect().right > 391)"
        ".slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className)"
    )
    assert width <= 390, (width, wide)
    await screens.shot("phone")


async def test_the_operator_reads_dead_letters_opens_an_account_and_manages_keys_from_the_page(
    stack: Stack, page: Page, screens: Screens
) -> None:
    payload = b'{"nope": "<img src=x onerror=alert(1)>"}'
    await stack.nc.request(stack.subjects.portfolio_command(), payload, timeout=10)
    async with stack.client(stack.admin) as http:
        await letters(http, 1)  # kept by portfolio before the page reads them
    await log_in(page, stack, stack.admin)
    admin = page.locator("#admin-panel")
    await expect(admin).to_be_visible()
    # Every service's dead letters, with the reason, the payload as text.
    letter = page.locator("#dead-letters tbody tr[data-sequence]").first
    await expect(letter).to_contain_text("portfolio", timeout=WAIT_MS)
    await expect(letter).to_contain_text("malformed")
    await expect(letter.locator("code")).to_have_text(payload.decode())
    assert await page.locator("main img").count() == 0
    # A page at a time: one per page, then the older one behind the button.
    second = b'{"nope": "the second"}'
    await stack.nc.request(stack.subjects.portfolio_command(), second, timeout=10)
    async with stack.client(stack.admin) as http:
        await letters(http, 2)
    await submit(page, "#letters-form", limit="1")
    rows = page.locator("#dead-letters tbody tr[data-sequence]")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator("code")).to_have_text(second.decode())
    await page.click("#letters-older")
    await expect(rows.first.locator("code")).to_have_text(payload.decode())
    await expect(rows).to_have_count(1)
    await submit(
        page,
        "#open-account-form",
        account_id="opened-here",
        name="Opened from the dashboard",
        initial_cash="2500",
    )
    await expect(page.locator("#account-result")).to_have_text("opened opened-here")
    await expect(page.locator("#account-select")).to_have_value("opened-here")
    await expect(page.locator("#summary [data-field=cash]")).to_have_text("2500.00")

    await submit(page, "#key-form", account_id="opened-here", scope="read", label="from the page")
    result = page.locator("#key-result")
    await expect(result).to_contain_text("issued ")
    key_id = (await result.inner_text()).split("issued ")[1].split(":")[0]
    row = page.locator("#keys tbody tr", has_text=key_id)
    await expect(row).to_contain_text("from the page")
    await expect(row).to_contain_text("live")
    await screens.shot("admin")
    await row.get_by_role("button", name="Revoke").click()
    await expect(row).to_contain_text("revoked")
    async with stack.client(stack.admin) as http:
        listed = {k["key_id"]: k for k in (await http.get("/api/v1/keys")).json()}
    assert listed[key_id]["revoked"] is True
    assert listed[key_id]["account_id"] == "opened-here"


async def test_without_the_chart_library_the_page_says_what_to_run_and_still_works(
    stack: Stack, page: Page, screens: Screens
) -> None:
    await page.route("**/dashboard/vendor/**", lambda route: route.fulfill(status=404))
    key = await stack.account("nocharts")
    await log_in(page, stack, key)
    missing = page.locator("#chart-missing")
    await expect(missing).to_be_visible()
    await expect(missing).to_contain_text("make setup")
    await expect(page.locator("#summary [data-field=equity]")).to_have_text("100000.00")
    await expect(page.locator("#last-price")).to_contain_text("bid", timeout=WAIT_MS)
    await screens.shot("no-chart-library")


SECRET_SHOWN = re.compile(r"signing secret (\S+) \(shown this once")


async def test_a_rule_added_from_the_page_toasts_a_fill_and_its_dead_letter_is_re_sent(
    stack: Stack, page: Page, screens: Screens
) -> None:
    receiver = SignedReceiver(failures=2)  # down for both attempts, then back
    key = await stack.account("notified")
    async with receiver.server:
        await log_in(page, stack, key)
        panel = page.locator("#notifications-panel")
        await expect(panel.locator("#rules tbody")).to_contain_text("none", timeout=WAIT_MS)

        # A webhook: its signing secret is shown once, in the answer, and never listed.
        await page.select_option("#endpoint-form [name=kind]", "webhook")
        await expect(page.locator("#endpoint-form [name=email]")).to_be_hidden()
        await submit(page, "#endpoint-form", endpoint_id="hook", url=f"{receiver.server.url}/hook")
        result = page.locator("#endpoint-result")
        await expect(result).to_contain_text("endpoint hook (webhook)", timeout=WAIT_MS)
        await expect(result).to_have_attribute("data-ok", "true")
        shown = SECRET_SHOWN.search(await result.inner_text())
        assert shown, await result.inner_text()
        receiver.secret = shown.group(1)
        endpoint = page.locator("#endpoints tr[data-endpoint=hook]")
        await expect(endpoint).to_contain_text("kept (never shown again)")
        assert receiver.secret not in await page.locator("#endpoints").inner_text()

        # A rule from the page: fills, on the page and to the webhook.
        await page.fill("#rule-form [name=rule_id]", "fills")
        await page.check("#rule-happenings input[value=fill]")
        await page.check("#rule-endpoints input[value=hook]")
        await page.click("#rule-form button[type=submit]")
        await expect(page.locator("#rule-result")).to_have_text("rule fills: fill")
        rule = page.locator("#rules tr[data-rule=fills]")
        await expect(rule).to_contain_text("hook")
        await screens.shot("rule-added")

        # A fill: a toast on the page, without a reload.
        await page.fill("#ticket [name=quantity]", "0.1")
        await page.click("#ticket button[type=submit]")
        await expect(page.locator("#ticket-result")).to_contain_text("placed", timeout=WAIT_MS)
        toast = page.locator("#toasts .toast[data-happening=fill]")
        await expect(toast).to_be_visible(timeout=WAIT_MS)
        await expect(toast).to_contain_text("Filled: buy 0.1 BTCUSD")
        await screens.shot("toast")

        # The webhook refused both attempts: a dead letter, re-sent from the page once it is back.
        letter = page.locator("#notify-dead-letters tbody tr[data-delivery]")
        await expect(letter).to_have_count(1, timeout=WAIT_MS)
        await expect(letter).to_contain_text("HTTP 503")
        await letter.get_by_role("button", name="Re-send").click()
        await expect(page.locator("#resend-result")).to_contain_text("re-sent", timeout=WAIT_MS)
        delivered = page.locator("#deliveries tr[data-status=delivered]")
        await expect(delivered).to_have_count(1, timeout=WAIT_MS)
        await expect(delivered).to_contain_text("hook (webhook)")
        await expect(page.locator("#notify-dead-letters tbody")).to_contain_text("none")
        assert len(receiver.accepted) == 1
        assert [status for status, _ in receiver.refused] == [503, 503]
        for older in ("#deliveries-older", "#dead-letters-older"):  # no page beyond these
            await expect(page.locator(older)).to_be_hidden()
        await screens.shot("re-sent")

        await rule.get_by_role("button", name="Remove").click()
        await expect(rule).to_be_hidden(timeout=WAIT_MS)
        await expect(page.locator("#rule-result")).to_have_text("removed rule fills")
    async with stack.client(key) as http:
        assert (await http.get("/api/v1/notifications/notified/rules")).json() == []
