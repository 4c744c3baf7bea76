"""The operator's panel lists every account's notification dead letters (the notification
service's deliveries that ran out of attempts) and re-sends one, in headless Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from papertape.common.testing.receivers import HttpStandIn
from tests.gateway.dashboard.conftest import Screens
from tests.gateway.dashboard.test_browser import WAIT_MS, log_in, until
from tests.gateway.stack import BTC, Stack

# Chromium first: without it the tests skip before a stack is started for them.
pytestmark = [
    pytest.mark.usefixtures("chromium_path"),
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(240),
]


async def test_the_operator_reads_every_accounts_notification_dead_letters_and_re_sends_one(
    stack: Stack, page: Page, screens: Screens
) -> None:
    account = "refused-ops"
    await stack.account(account, cash="100")
    closed = HttpStandIn()
    async with closed:
        down = f"{closed.url}/hook"  # its port, closed: every attempt is refused
    async with stack.client(stack.admin) as http:
        base = f"/api/v1/notifications/{account}"
        added = await http.put(f"{base}/endpoints/down", json={"kind": "webhook", "url": down})
        assert added.status_code == 200, added.text
        rule = {"happenings": ["order_refused"], "endpoints": ["down"]}
        assert (await http.put(f"{base}/rules/refused", json=rule)).status_code == 200
        order = {"symbol": BTC, "side": "buy", "quantity": "1000", "order_type": "limit"}
        refused = await http.post(
            f"/api/v1/accounts/{account}/orders", json={**order, "limit_price": "100"}
        )
        assert refused.status_code >= 400, refused.text  # more than the account's cash

        async def dead_lettered() -> bool:
            found: list[dict[str, Any]] = (
                await http.get("/api/v1/notifications/dead-letters")
            ).json()
            return any(d["account_id"] == account for d in found)

        await until(dead_lettered)

    await log_in(page, stack, stack.admin)
    table = page.locator("#all-notify-dead-letters")
    letter = table.locator("tbody tr[data-delivery]", has_text=account)
    await expect(letter).to_have_count(1, timeout=WAIT_MS)
    await expect(letter).to_contain_text("down (webhook)")
    await expect(letter).to_contain_text("order_refused")
    await expect(page.locator("#notify-letters-older")).to_be_hidden()
    await screens.shot("notification-dead-letters")
    await letter.get_by_role("button", name="Re-send").click()
    result = page.locator("#notify-letters-result")
    await expect(result).to_contain_text("re-sent", timeout=WAIT_MS)
    await expect(result).to_have_attribute("data-ok", "true")
