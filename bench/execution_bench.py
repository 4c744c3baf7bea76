"""The venue's matching rate: a recorded quote stream against 10,000 working orders, 100 symbols.

Two figures, each against the same baseline measured in the same run on the same quotes:
decoding the quotes' bytes alone, the floor every consumer pays. The venue engine itself
(quote in, reports out), and the execution service's handler (bytes in, quote decoded,
matched, reports published through the service's own publisher to a stand-in that
acknowledges at once: only the network is left out). Target for
both: >= 50,000 quotes/s.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from nats.js import JetStreamContext
from nats.js.api import PubAck

from papertape.contract.codec import encode
from papertape.contract.events.account import OrderPlaced
from papertape.contract.events.market import QuoteReceived
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.ids import Symbol
from papertape.contract.subjects import Subjects
from papertape.execution.handlers import ExecutionHandlers, market_events
from papertape.execution.reports import ReportPublisher
from papertape.trading.venue import Venue
from papertape.trading.venue.prng import SplitMix64
from papertape.trading.venue.scenarios import placed

SYMBOLS = 100
ORDERS = 10_000
QUOTES = int(os.environ.get("BENCH_EXECUTION_QUOTES", "200000"))
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


class AcknowledgingJetStream:
    """A JetStream stand-in that acknowledges every publish at once: the network left out,
    everything the service does per report (subject, envelope, encode, headers) kept."""

    def __init__(self) -> None:
        self.published = 0

    async def publish(self, subject: str, payload: bytes, **_: Any) -> PubAck:
        self.published += 1
        return PubAck(stream="EXECUTION", seq=self.published)


async def service_path_rates(
    orders: list[OrderPlaced], quotes: list[QuoteReceived]
) -> tuple[float, float]:
    """Quotes/s of the execution service's handler (bytes in, reports encoded), and of
    decoding the same bytes alone (the floor any handler pays)."""
    wire = [encode(q) for q in quotes]
    started = time.perf_counter()
    for data in wire:
        market_events.decode(data)
    decode_only = len(wire) / (time.perf_counter() - started)
    js = AcknowledgingJetStream()
    publisher = ReportPublisher(cast(JetStreamContext, js), Subjects())
    handlers = ExecutionHandlers(Venue(), publisher)
    for order in orders:
        handlers.venue.on_account_event(order)
    started = time.perf_counter()
    for data in wire:
        await handlers.on_market_event(data)
    return len(wire) / (time.perf_counter() - started), decode_only


async def run() -> list[dict[str, Any]]:
    """The measurements, as records of bench/results/latest.json (without machine and time)."""
    orders = working_orders()
    quotes = recorded_quotes(QUOTES)
    rate, _ = venue_rate(orders, quotes)
    service, decode_only = await service_path_rates(orders, quotes)
    decoding = {"name": "execution.decode_only_quotes_per_s", "value": round(decode_only, 1)}
    return [
        {
            "name": "execution.decode_only_quotes_per_s",
            "value": round(decode_only, 1),
            "unit": "quotes/s",
            "higher_is_better": True,
            "baseline": None,
        },
        {
            "name": "execution.service_handler_quotes_per_s_10k_orders_100_symbols",
            "value": round(service, 1),
            "unit": "quotes/s",
            "higher_is_better": True,
            "baseline": decoding,
        },
        {
            "name": "execution.match_quotes_per_s_10k_orders_100_symbols",
            "value": round(rate, 1),
            "unit": "quotes/s",
            "higher_is_better": True,
            "baseline": decoding,
        },
    ]


if __name__ == "__main__":
    import asyncio

    for record in asyncio.run(run()):
        print(record)
