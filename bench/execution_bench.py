"""The venue's matching rate: a recorded quote stream against 10,000 working orders, 100 symbols.

The baseline, measured in the same run on the same quotes and orders, is a naive matcher that
checks every working order of the quote's symbol on every quote (no price index): the cost the
venue's price-indexed book avoids. Target: >= 50,000 quotes/s.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from papertape.common.events.account import OrderPlaced
from papertape.common.events.market import QuoteReceived
from papertape.common.events.orders import OrderSide, OrderType
from papertape.common.ids import Symbol
from papertape.trading.venue import Venue
from papertape.trading.venue.prng import SplitMix64
from papertape.trading.venue.scenarios import placed

SYMBOLS = 100
ORDERS = 10_000
QUOTES = int(os.environ.get("BENCH_EXECUTION_QUOTES", "200000"))
NAIVE_QUOTES = int(os.environ.get("BENCH_EXECUTION_NAIVE_QUOTES", "20000"))
TARGET = 50_000.0
START = datetime(2024, 1, 2, 15, tzinfo=UTC)
CENT = Decimal("0.01")


def symbols() -> list[Symbol]:
    return [Symbol(f"S{i:03d}") for i in range(SYMBOLS)]


def working_orders() -> list[OrderPlaced]:
    """Limits and stops 0.5% to 30% away from 100 on both sides, a quarter of each kind."""
    rng = SplitMix64(7)
    orders = []
    kinds = [
        (OrderSide.BUY, OrderType.LIMIT, -1),
        (OrderSide.SELL, OrderType.LIMIT, 1),
        (OrderSide.BUY, OrderType.STOP, 1),
        (OrderSide.SELL, OrderType.STOP, -1),
    ]
    for i in range(ORDERS):
        side, kind, direction = kinds[i % 4]
        distance = Decimal(5 + rng.next() % 295) / 1000
        price = (Decimal(100) * (1 + direction * distance)).quantize(CENT)
        orders.append(
            placed(
                f"o{i}",
                side,
                "10",
                kind,
                symbol=symbols()[i % SYMBOLS],
                ts=START,
                limit=str(price) if kind is OrderType.LIMIT else None,
                stop=str(price) if kind is OrderType.STOP else None,
            )
        )
    return orders


def recorded_quotes(count: int) -> list[QuoteReceived]:
    """A seeded random walk per symbol, round-robin, one cent wide."""
    rng = SplitMix64(11)
    mids = [Decimal(100)] * SYMBOLS
    names = symbols()
    quotes = []
    for n in range(count):
        i = n % SYMBOLS
        step = Decimal(int(rng.next() % 21) - 10) / 100
        mids[i] = max(Decimal(1), mids[i] + step)
        ts = START + timedelta(milliseconds=n + 1)
        quotes.append(
            QuoteReceived(
                symbol=names[i],
                bid=mids[i],
                ask=mids[i] + CENT,
                ts_event=ts,
                ts_init=ts,
                source="bench",
            )
        )
    return quotes


@dataclass(slots=True)
class NaiveOrder:
    """The naive matcher's order: a side, a kind and a price."""

    buy: bool
    limit: bool
    price: Decimal
    done: bool = False


def naive_rate(orders: list[OrderPlaced], quotes: list[QuoteReceived]) -> float:
    """Quotes/s of a matcher that scans every order of the symbol on every quote."""
    book: dict[str, list[NaiveOrder]] = {}
    for o in orders:
        price = o.limit_price if o.order_type is OrderType.LIMIT else o.stop_price
        assert price is not None
        book.setdefault(o.symbol, []).append(
            NaiveOrder(o.side is OrderSide.BUY, o.order_type is OrderType.LIMIT, price)
        )
    started = time.perf_counter()
    for q in quotes:
        for order in book[q.symbol]:
            if order.done:
                continue
            if order.limit:
                hit = q.ask < order.price if order.buy else q.bid > order.price
            else:
                hit = q.ask >= order.price if order.buy else q.bid <= order.price
            if hit:
                order.done = True
    return len(quotes) / (time.perf_counter() - started)


def venue_rate(orders: list[OrderPlaced], quotes: list[QuoteReceived]) -> tuple[float, int]:
    """Quotes/s of the venue, and how many reports it made."""
    venue = Venue()
    for order in orders:
        venue.on_account_event(order)
    reports = 0
    started = time.perf_counter()
    for q in quotes:
        reports += len(venue.on_quote(q))
    return len(quotes) / (time.perf_counter() - started), reports


def run() -> list[dict[str, Any]]:
    """The measurements, as records of bench/results/latest.json (without machine and time)."""
    orders = working_orders()
    quotes = recorded_quotes(QUOTES)
    naive = naive_rate(orders, quotes[:NAIVE_QUOTES])
    rate, _ = venue_rate(orders, quotes)
    baseline = {"name": "execution.naive_scan_quotes_per_s", "value": round(naive, 1)}
    return [
        {
            "name": "execution.naive_scan_quotes_per_s",
            "value": round(naive, 1),
            "unit": "quotes/s",
            "higher_is_better": True,
            "baseline": None,
        },
        {
            "name": "execution.match_quotes_per_s_10k_orders_100_symbols",
            "value": round(rate, 1),
            "unit": "quotes/s",
            "higher_is_better": True,
            "baseline": baseline,
        },
    ]


if __name__ == "__main__":
    for record in run():
        print(record)
