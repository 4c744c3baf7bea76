"""The publisher on real NATS: the bars a quote closes go out before that quote, which waits
the settle time after them (so orders placed on those bars reach the venue first)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from nats.aio.client import Client

from papertape.contract.events.market import QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.marketdata.bars import BarAggregator
from papertape.marketdata.publisher import MarketPublisher

pytestmark = pytest.mark.integration
T0 = datetime(2024, 1, 6, 15, 0, tzinfo=UTC)


def quote(seconds: int) -> QuoteReceived:
    ts = T0 + timedelta(seconds=seconds)
    price = Decimal(100) + seconds
    return QuoteReceived(
        symbol=Symbol("BTCUSD"), bid=price, ask=price + 1, last=price, ts_event=ts, ts_init=ts,
        source="test",
    )  # fmt: skip


async def subjects_in_order(nc: Client, subjects: Subjects) -> list[str]:
    js = nc.jetstream()
    stream = subjects.stream("MARKET")
    count = (await js.stream_info(stream)).state.messages
    return [str((await js.get_msg(stream, seq)).subject) for seq in range(1, count + 1)]


async def test_the_bar_a_quote_closes_is_published_before_that_quote(
    nats_client: Client, subjects: Subjects, jetstream_streams: tuple[StreamSpec, ...]
) -> None:
    publisher = MarketPublisher(nats_client, subjects, aggregator=BarAggregator([Timeframe.M1]))
    for seconds in (0, 30, 60):
        await publisher.on_quote(quote(seconds))
    await publisher.flush()
    q, bar = subjects.quote("BTCUSD"), subjects.bar("1m", "BTCUSD")
    assert await subjects_in_order(nats_client, subjects) == [q, q, bar, q]


async def test_with_a_settle_time_the_closing_quote_waits_after_the_bar(
    nats_client: Client, subjects: Subjects, jetstream_streams: tuple[StreamSpec, ...]
) -> None:
    publisher = MarketPublisher(
        nats_client, subjects, aggregator=BarAggregator([Timeframe.M1]), settle_s=30
    )
    await publisher.on_quote(quote(0))
    await publisher.flush()
    closing = asyncio.create_task(publisher.on_quote(quote(60)))
    try:
        js, stream = nats_client.jetstream(), subjects.stream("MARKET")
        for _ in range(200):
            if (await js.stream_info(stream)).state.messages == 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # were the quote not held back, it would be out by now
        assert await subjects_in_order(nats_client, subjects) == [
            subjects.quote("BTCUSD"), subjects.bar("1m", "BTCUSD")
        ]  # fmt: skip
        assert not closing.done()
    finally:
        closing.cancel()
