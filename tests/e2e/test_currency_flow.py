"""A USD account trades USDJPY through portfolio, execution and market-data on real servers.

The yen profit of a round trip reaches the account in dollars, at the rate of the closing
fill, as a hand computation from the venue's fills says.
"""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from nats.aio.client import Client

from papertape.contract.codec import Codec
from papertape.contract.events.account import OpenAccount, PlaceOrder
from papertape.contract.events.market import QuoteReceived
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.portfolio import GetAccountSummary, GetClosedTrades
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.contract.subjects import StreamSpec, Subjects
from tests.e2e.processes import replay_feed, running, service_env
from tests.e2e.test_trade_flow import STARTUP_S, _answers, fills_on, flat, until
from tests.portfolio.conftest import PortfolioClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ACC = AccountId("yen-trader")
USDJPY = Symbol("USDJPY")
UNITS = Decimal(10000)
CASH = Decimal(200000)
quotes: Codec[QuoteReceived] = Codec(QuoteReceived)


def write_quotes(path: Path, start: datetime) -> None:
    """At 150 for twelve seconds (the entry), then at 151 for forty (the exit)."""
    rows = [("149.990", "150.010")] * 60 + [("150.990", "151.010")] * 200
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ts", "symbol", "bid", "ask", "last"])
        for index, (bid, ask) in enumerate(rows):
            ts = start + timedelta(milliseconds=200 * index)
            writer.writerow([ts.isoformat(), USDJPY, bid, ask, ""])


def order(order_id: str, side: OrderSide) -> PlaceOrder:
    return PlaceOrder(
        account_id=ACC, order_id=OrderId(order_id), symbol=USDJPY, side=side, quantity=UNITS
    )


async def test_a_usd_account_books_a_usdjpy_round_trip_in_dollars_at_the_closing_rate(
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
        opened = OpenAccount(account_id=ACC, name="Yen", initial_cash=CASH)
        await client.command(opened)
        path = tmp_path / "quotes.csv"
        write_quotes(path, datetime.now(UTC) + timedelta(seconds=STARTUP_S))
        feed = replay_feed(env, str(path), USDJPY)
        market = await nats_client.subscribe(subjects.quote(USDJPY))
        async with running("marketdata", feed):
            await market.next_msg(timeout=30)  # portfolio now knows the rate for risk
            await asyncio.sleep(0.2)
            # 10,000 USD of USDJPY: within 10% of 200,000 USD (as 1,500,000 it was refused).
            bought = await client.command(order("buy-1", OrderSide.BUY))
            assert bought.result["events"][0]["data"]["type"] == "order_placed.v1", bought
            [entry] = await fills_on(nats_client, subjects, 1)
            while quotes.decode((await market.next_msg(timeout=60)).data).bid < 150:
                pass  # the market is at 151 now, for the portfolio too
            await asyncio.sleep(0.2)
            sold = await client.command(order("sell-1", OrderSide.SELL))
            assert sold.result["events"][0]["data"]["type"] == "order_placed.v1", sold
            _, exit_ = await fills_on(nats_client, subjects, 2)

            await until(lambda: flat(client, ACC))
            summary = (await client.query("summary", GetAccountSummary(account_id=ACC))).result
            [trade] = (await client.query("trades", GetClosedTrades(account_id=ACC))).result
        await market.unsubscribe()

    # By hand: bought at the ask, sold at the bid (FX: no fee, the quoted spread); the yen
    # made is 10,000 x (exit - entry), worth that over the closing price in dollars.
    assert (entry.price, exit_.price) == (Decimal("150.010"), Decimal("150.990"))
    assert entry.fee == exit_.fee == 0
    yen = UNITS * (exit_.price - entry.price)
    dollars = (yen / exit_.price).quantize(Decimal("0.01"))
    assert dollars == Decimal("64.90")
    assert Decimal(summary["realized_pnl"]) == dollars
    assert Decimal(summary["cash"]) == CASH + dollars
    assert Decimal(summary["equity"]) == CASH + dollars
    assert Decimal(trade["gross_pnl"]) == dollars
    assert Decimal(trade["rate"]) == Decimal("0.006622955163")  # 1 / 150.990
