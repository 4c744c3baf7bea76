"""The portfolio marks the pairs that convert what an account holds, not only its symbols."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client

from papertape.common.bus.publishing import publish as publish_report
from papertape.contract.codec import encode
from papertape.contract.events.account import OpenAccount, PlaceOrder
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.portfolio import GetActivity, GetPositions
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.contract.subjects import Subjects
from papertape.trading.venue.scenarios import quote
from tests.e2e.test_trade_flow import until
from tests.portfolio.conftest import PortfolioClient
from tests.portfolio.test_execution_reports import fill_report

pytestmark = pytest.mark.integration
ACC = AccountId("pounds")
EURGBP, GBPUSD = Symbol("EURGBP"), Symbol("GBPUSD")


async def publish(nc: Client, subjects: Subjects, symbol: Symbol, price: str) -> None:
    await nc.publish(
        subjects.quote(symbol), encode(quote(price, price, datetime.now(UTC), symbol=symbol))
    )


async def test_a_move_of_gbpusd_reaches_an_account_holding_eurgbp_in_dollars(
    client: PortfolioClient, nats_client: Client, subjects: Subjects
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Pounds"))
    await publish(nats_client, subjects, EURGBP, "0.85000")
    await publish(nats_client, subjects, GBPUSD, "1.25000")
    await nats_client.flush()
    await asyncio.sleep(0.3)  # the quotes reach the portfolio's mark book
    entry = PlaceOrder(
        account_id=ACC,
        order_id=OrderId("o1"),
        symbol=EURGBP,
        side=OrderSide.BUY,
        quantity=Decimal(500),
    )
    placed = await client.command(entry)
    assert placed.result["events"][0]["data"]["rate"] == "1.25000", placed
    # The fill comes as the venue's report on EXECUTION (clients cannot send ApplyFill).
    template = fill_report("o1.fill.1", "500", "0.85000", "0")
    report = msgspec.structs.replace(
        template.data, account_id=ACC, order_id=OrderId("o1"), symbol=EURGBP
    )
    subject = subjects.execution_report(ACC, "order_fill_reported")
    await publish_report(
        nats_client.jetstream(),
        subject,
        msgspec.structs.replace(template, data=report),
        msg_id="f1",
    )

    async def filled() -> dict[str, Any] | None:
        activity = (await client.query("activity", GetActivity(account_id=ACC))).result
        fills = [e["data"] for e in activity if e["data"]["type"] == "order_filled.v2"]
        return fills[0] if fills else None

    fill = await until(filled, seconds=15)
    assert fill["rate"] == "1.25000", fill
    # The pound moves; EURGBP does not: the account is marked through GBPUSD alone.
    await publish(nats_client, subjects, GBPUSD, "1.30000")

    async def rerated() -> dict[str, str] | None:
        [position] = (await client.query("positions", GetPositions(account_id=ACC))).result
        return position if Decimal(position["rate"]) == Decimal("1.3") else None

    position = await until(rerated, seconds=15)
    # 425 GBP booked at 1.25 (531.25 USD); no move in EURGBP, so no open P&L.
    assert Decimal(position["market_value"]) == Decimal("531.25")
    assert Decimal(position["unrealized_pnl"]) == Decimal("0.00")
