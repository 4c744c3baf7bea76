"""Execution reports from the venue reach the account exactly once, to the cent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from nats.aio.client import Client

from papertape.common.bus.publishing import publish
from papertape.common.idgen import Uuid7Generator
from papertape.contract.codec import encode
from papertape.contract.events.account import OpenAccount
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.execution import ExecutionModels, OrderFillReported
from papertape.contract.events.market import QuoteReceived
from papertape.contract.events.orders import Liquidity, OrderSide
from papertape.contract.events.portfolio import GetAccountSummary, GetActivity, GetPositions
from papertape.contract.ids import (
    AccountId,
    Actor,
    CorrelationId,
    EventId,
    OrderId,
    StreamId,
    Symbol,
)
from papertape.contract.subjects import Subjects
from tests.portfolio.conftest import PortfolioClient, aapl_limit

pytestmark = pytest.mark.integration
ACC = AccountId("bob")
ids = Uuid7Generator()


def fill_report(report_id: str, quantity: str, price: str, fee: str) -> Envelope[OrderFillReported]:
    now = datetime.now(UTC)
    report = OrderFillReported(
        report_id=report_id,
        account_id=ACC,
        order_id=OrderId("o-1"),
        ts=now,
        symbol=Symbol("AAPL"),
        side=OrderSide.BUY,
        price=Decimal(price),
        quantity=Decimal(quantity),
        fee=Decimal(fee),
        liquidity=Liquidity.TAKER,
        reference_price=Decimal("100.00"),
        touch_price=Decimal("100.01"),
        spread_cost=Decimal("0.01"),
        slippage=Decimal("0.02"),
        slippage_bps=Decimal(2),
        models=ExecutionModels(),
        remaining=Decimal(0),
    )
    return Envelope(
        event_id=EventId(ids.new()),
        stream_id=StreamId("venue"),
        stream_version=1,
        occurred_at=now,
        correlation_id=CorrelationId("c"),
        actor=Actor("execution"),
        data=report,
    )


async def wait_for(predicate: object, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_a_fill_report_moves_cash_position_and_fees_once(
    client: PortfolioClient,
    nats_client: Client,
    subjects: Subjects,
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Bob"))
    placed = await client.command(aapl_limit(ACC, OrderSide.BUY, 5, 101))
    assert placed.result["events"][0]["data"]["type"] == "order_placed.v1"
    js = nats_client.jetstream()
    subject = subjects.execution_report("bob", "order_fill_reported")
    report = fill_report("o-1.fill.1", "5", "100.03", "0.025")
    # Delivered twice under different message ids: the fill id keeps it to one fill.
    await publish(js, subject, report, msg_id="first")
    await publish(js, subject, report, msg_id="second")

    async def filled() -> bool:
        reply = await client.query("positions", GetPositions(account_id=ACC))
        return bool(reply.result)

    await wait_for(filled)
    await asyncio.sleep(0.5)
    positions = (await client.query("positions", GetPositions(account_id=ACC))).result
    assert [(p["symbol"], Decimal(p["quantity"])) for p in positions] == [("AAPL", Decimal(5))]
    summary = (await client.query("summary", GetAccountSummary(account_id=ACC))).result
    # 10,000 - 5 x 100.03 - 0.025 fee = 9,499.825, shown in cents (half to even).
    assert summary["cash"] == "9499.82"
    assert summary["fees_paid"] == "0.02"  # 0.025 once, in cents


async def test_a_malformed_report_is_dead_lettered_and_the_next_one_applies(
    client: PortfolioClient,
    nats_client: Client,
    subjects: Subjects,
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Bob"))
    await client.command(aapl_limit(ACC, OrderSide.BUY, 5, 101))
    js = nats_client.jetstream()
    subject = subjects.execution_report("bob", "order_fill_reported")
    await js.publish(subject, b'{"garbage": true}')
    await publish(js, subject, fill_report("o-1.fill.1", "5", "100.03", "0.025"), msg_id="ok")
    dead = await js.subscribe(subjects.all_dead_letters(), ordered_consumer=True)
    letter = await dead.next_msg(timeout=10)
    assert b"garbage" in letter.data

    async def filled() -> bool:
        reply = await client.query("positions", GetPositions(account_id=ACC))
        return bool(reply.result)

    await wait_for(filled)


async def test_quotes_mark_the_position_and_reach_the_log(
    client: PortfolioClient, nats_client: Client, subjects: Subjects
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Bob"))
    await client.command(aapl_limit(ACC, OrderSide.BUY, 5, 101))
    js = nats_client.jetstream()
    report = fill_report("o-1.fill.1", "5", "100.00", "0")
    await publish(js, subjects.execution_report("bob", "order_fill_reported"), report, msg_id="f")
    now = datetime.now(UTC)
    quote = QuoteReceived(
        symbol=Symbol("AAPL"),
        bid=Decimal("109.99"),
        ask=Decimal("110.01"),
        ts_event=now,
        ts_init=now,
        source="test",
    )

    async def marked() -> bool:
        await nats_client.publish(subjects.quote("AAPL"), encode(quote))
        summary = (await client.query("summary", GetAccountSummary(account_id=ACC))).result
        # The long stands at the bid, where it would exit: 5 x (109.99 - 100).
        return bool(Decimal(summary["unrealized_pnl"]) == Decimal("49.95"))

    await wait_for(marked)
    summary = (await client.query("summary", GetAccountSummary(account_id=ACC))).result
    assert Decimal(summary["equity"]) == Decimal("10049.95")
    activity = (await client.query("activity", GetActivity(account_id=ACC))).result
    [mark] = [e["data"] for e in activity if e["data"]["type"] == "position_marked.v1"]
    assert (mark["price"], mark["bid"], mark["ask"]) == ("110.00", "109.99", "110.01")
