"""One trade through separate processes: portfolio, execution and market-data on real servers.

An order placed through portfolio is filled by the venue from replayed market data, the
account's cash, position and fees are right to the cent, and the bracket's stop-loss closes
the position when the price falls through it.
"""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from papertape.contract.codec import Codec
from papertape.contract.events.account import OpenAccount, PlaceOrder
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.execution import ExecutionReport, OrderFillReported
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.events.portfolio import (
    GetAccountSummary,
    GetClosedTrades,
    GetPositions,
    ListAccounts,
)
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.contract.subjects import StreamSpec, Subjects
from tests.e2e.processes import replay_feed, running, service_env
from tests.portfolio.conftest import PortfolioClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ACC = AccountId("trader")
BTC = Symbol("BTCUSD")
reports: Codec[Envelope[ExecutionReport]] = Codec(Envelope[ExecutionReport])
STARTUP_S = 8.0


def write_quotes(path: Path, start: datetime) -> None:
    """Flat at 100 for twelve seconds, then a fall through the 95 stop."""
    # Twelve, not four: on a loaded machine the entry can take seconds to be decided and
    # reach the venue, and it must fill before the fall.
    rows = [("99.99", "100.01")] * 60 + [("97.99", "98.01"), ("94.99", "95.01"), ("93.99", "94.01")]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ts", "symbol", "bid", "ask", "last"])
        for index, (bid, ask) in enumerate(rows):
            last = (Decimal(bid) + Decimal(ask)) / 2
            ts = start + timedelta(milliseconds=200 * index)
            writer.writerow([ts.isoformat(), BTC, bid, ask, f"{last:.2f}"])


async def until(check: Any, seconds: float = 30.0) -> Any:
    for _ in range(int(seconds / 0.1)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def fills_on(nc: Client, subjects: Subjects, count: int) -> list[OrderFillReported]:
    js = nc.jetstream()
    sub = await js.subscribe(subjects.all_execution_reports(), ordered_consumer=True)
    fills: list[OrderFillReported] = []
    try:
        while len(fills) < count:
            msg = await sub.next_msg(timeout=30)
            report = reports.decode(msg.data).data
            if isinstance(report, OrderFillReported):
                fills.append(report)
    finally:
        await sub.unsubscribe()
    return fills


async def test_a_bracket_order_fills_from_market_data_and_its_stop_closes_the_position(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    nats_client: Client,
    jetstream_streams: tuple[StreamSpec, ...],
    tmp_path: Path,
) -> None:
    env = service_env(nats_url, fresh_database, subjects.namespace)
    client = PortfolioClient(nats_client, subjects)
    async with running("portfolio", env), running("execution", env):
        await until(lambda: _answers(client))
        await client.command(OpenAccount(account_id=ACC, name="Trader"))
        quotes = tmp_path / "quotes.csv"
        # The replay keeps the recorded times, paced from its first quote: they must still lie
        # after the order's placement when market-data is slow to start (a loaded machine
        # takes seconds), or the venue sees only quotes older than the order.
        write_quotes(quotes, datetime.now(UTC) + timedelta(seconds=STARTUP_S))
        feed = replay_feed(env, str(quotes), BTC)
        market = await nats_client.subscribe(subjects.quote(BTC))
        async with running("marketdata", feed):
            await market.next_msg(timeout=30)  # portfolio now knows a price for risk
            await asyncio.sleep(0.2)
            placed = await client.command(
                PlaceOrder(
                    account_id=ACC,
                    order_id=OrderId("entry-1"),
                    symbol=BTC,
                    side=OrderSide.BUY,
                    quantity=Decimal(5),
                    order_type=OrderType.MARKET,
                    stop_loss=Decimal(95),
                    take_profit=Decimal(120),
                )
            )
            assert placed.result["events"][0]["data"]["type"] == "order_placed.v1", placed
            entry, exit_ = await fills_on(nats_client, subjects, 2)

            await until(lambda: flat(client, ACC))
            summary = (await _summary(client)).result
            trades = (await client.query("trades", GetClosedTrades(account_id=ACC))).result

    # The entry: a market buy at the ask (100.01) plus crypto's default 5 bps of slippage,
    # 100.060005, rounded up to the tick (against the buyer): 100.07; the taker fee is 40 bps
    # of 5 x 100.07 = 2.0014, charged to the cent: 2.00.
    assert entry.side is OrderSide.BUY
    assert entry.price == Decimal("100.07")
    assert entry.fee == Decimal("2.00")
    assert (entry.fee_model, entry.spread_model) == ("crypto", "quoted")
    # The exit: the stop-loss, at or below the stop.
    assert exit_.side is OrderSide.SELL
    assert exit_.price <= Decimal(95)
    expected_cash = Decimal(10000) - 5 * entry.price - entry.fee + 5 * exit_.price - exit_.fee
    assert Decimal(summary["cash"]) == expected_cash
    assert Decimal(summary["fees_paid"]) == entry.fee + exit_.fee
    assert trades[0]["exit_reason"] == "stop_loss"


async def flat(client: PortfolioClient, account: AccountId) -> bool:
    """Whether the account holds nothing and has closed a trade."""
    positions = await client.query("positions", GetPositions(account_id=account))
    trades = await client.query("trades", GetClosedTrades(account_id=account))
    return not positions.result and bool(trades.result)


async def _answers(client: PortfolioClient) -> bool:
    try:
        return (await client.query("accounts", ListAccounts())).ok
    except Exception:
        return False


async def _summary(client: PortfolioClient) -> Any:
    return await client.query("summary", GetAccountSummary(account_id=ACC))
