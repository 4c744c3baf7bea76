"""Only the venue fills, triggers and expires orders, and only what matches them (issue 9).

On real NATS and PostgreSQL: a client sending the venue's commands on the command subject is
refused with ``service_only_command`` and nothing is appended; a fill report on EXECUTION that
does not match its order is recorded as refused and the order works on, and the real fill
that follows is booked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from nats.aio.client import Client

from papertape.common.bus.publishing import publish
from papertape.contract.events.account import (
    AccountCommand,
    ApplyFill,
    ApplyMark,
    ExpireOrder,
    OpenAccount,
    TriggerOrder,
)
from papertape.contract.events.envelope import ReplyErrorCode
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.portfolio import GetActivity, GetOpenOrders, GetPositions
from papertape.contract.ids import AccountId, FillId, OrderId, Symbol
from papertape.contract.subjects import Subjects
from tests.portfolio.conftest import PortfolioClient, aapl_limit
from tests.portfolio.test_execution_reports import ACC, fill_report, wait_for

pytestmark = pytest.mark.integration

NOW = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
ORDER = OrderId("o-1")

VENUE_COMMANDS: list[AccountCommand] = [
    ApplyFill(
        account_id=ACC,
        fill_id=FillId("forged-1"),
        order_id=ORDER,
        price=Decimal(1000),
        quantity=Decimal("0.01"),
        ts=NOW,
    ),
    TriggerOrder(account_id=ACC, order_id=ORDER, trigger_price=Decimal(1), ts=NOW),
    ExpireOrder(account_id=ACC, order_id=ORDER, reason="forged", ts=NOW),
    ApplyMark(account_id=ACC, symbol=Symbol("AAPL"), price=Decimal(1), ts=NOW),
]


async def activity(client: PortfolioClient) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = (
        await client.query("activity", GetActivity(account_id=AccountId(ACC)))
    ).result
    return [e["data"] for e in result]


async def working(client: PortfolioClient) -> list[str]:
    orders = (await client.query("orders", GetOpenOrders(account_id=AccountId(ACC)))).result
    return [o["order_id"] for o in orders]


@pytest.mark.parametrize("command", VENUE_COMMANDS, ids=lambda c: type(c).__name__)
async def test_a_client_cannot_send_the_venues_commands(
    client: PortfolioClient, command: AccountCommand
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Bob"))
    await client.command(aapl_limit(ACC, OrderSide.BUY, 5, 99))
    before = await activity(client)
    reply = await client.command(command)
    assert not reply.ok
    assert reply.error_code == ReplyErrorCode.SERVICE_ONLY_COMMAND
    assert await activity(client) == before
    assert await working(client) == ["o-1"]


async def test_a_fill_report_that_does_not_match_its_order_is_refused_and_the_order_works_on(
    client: PortfolioClient, nats_client: Client, subjects: Subjects
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Bob"))
    await client.command(aapl_limit(ACC, OrderSide.BUY, 5, 99))
    js = nats_client.jetstream()
    subject = subjects.execution_report(ACC, "order_fill_reported")
    forged = fill_report("forged.fill.1", "5", "1000", "0")  # far above the buy limit of 99
    await publish(js, subject, forged, msg_id="forged")

    async def refused() -> bool:
        return any(e["type"] == "fill_rejected.v1" for e in await activity(client))

    await wait_for(refused)
    [rejected] = [e for e in await activity(client) if e["type"] == "fill_rejected.v1"]
    assert rejected["reason_code"] == "price_outside_limit"
    assert await working(client) == ["o-1"]
    kinds = [e["type"] for e in await activity(client)]
    assert "order_expired.v1" not in kinds

    real = fill_report("o-1.fill.1", "5", "99", "0")
    await publish(js, subject, real, msg_id="real")

    async def filled() -> bool:
        reply = await client.query("positions", GetPositions(account_id=AccountId(ACC)))
        return bool(reply.result)

    await wait_for(filled)
    assert await working(client) == []
