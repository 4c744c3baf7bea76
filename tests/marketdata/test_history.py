"""A cold start's history: the synthetic walk of the minutes before now, stored, then continued."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from nats.aio.client import Client

from papertape.common.clock import FakeClock
from papertape.contract import codec
from papertape.contract.events.market import QuoteReceived, Timeframe
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.marketdata.barstore import BarStore
from papertape.marketdata.bootstrap import MarketDataService
from papertape.marketdata.feeds.synthetic import SyntheticFeed, default_model
from papertape.marketdata.history import synthetic_history
from papertape.marketdata.settings import MarketDataSettings

NOW = datetime(2024, 1, 2, 15, 30, 20, tzinfo=UTC)  # a Tuesday, 10:30 New York: NYSE is open
quotes: codec.Codec[QuoteReceived] = codec.Codec(QuoteReceived)
TIMEFRAMES = [Timeframe.M1, Timeframe.M5, Timeframe.H1]


def feed() -> SyntheticFeed:
    return SyntheticFeed(
        [default_model(s) for s in ("BTCUSD", "AAPL")], seed=7, clock=FakeClock(NOW), rate=4
    )


def always_open(_symbol: str, _ts: datetime) -> bool:
    return True


def test_the_history_is_every_whole_minute_before_now_and_the_closed_wider_bars() -> None:
    bars = synthetic_history(
        feed(), end=NOW, minutes=30, timeframes=TIMEFRAMES, in_session=always_open
    )

    last = NOW.replace(second=0)
    minutes = [b for b in bars if b.symbol == "BTCUSD" and b.timeframe is Timeframe.M1]
    assert [b.start for b in minutes] == [last - timedelta(minutes=30 - i) for i in range(30)]
    fives = [b for b in bars if b.symbol == "BTCUSD" and b.timeframe is Timeframe.M5]
    assert [b.end for b in fives] == [last - timedelta(minutes=25 - 5 * i) for i in range(6)]
    assert not [b for b in bars if b.timeframe is Timeframe.H1]  # 15:00-16:00 is still open
    assert fives[-1].close == minutes[-1].close
    again = synthetic_history(
        feed(), end=NOW, minutes=30, timeframes=TIMEFRAMES, in_session=always_open
    )
    assert again == bars  # the same seed, the same past


@pytest.mark.integration
async def test_a_cold_start_stores_history_and_the_feed_continues_from_it(
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    fresh_database: str,
    nats_url: str,
) -> None:
    settings = MarketDataSettings(
        nats_url=nats_url,
        database_url=fresh_database,
        namespace=subjects.namespace,
        metrics_port=-1,
        symbols="BTCUSD,AAPL",
        quote_rate=20,
        history_minutes=20,
    )
    service = MarketDataService(settings, clock=FakeClock(NOW))
    btc = await nats_client.subscribe(subjects.quote("BTCUSD"))
    serving = asyncio.create_task(service.serve())
    try:
        first = quotes.decode((await btc.next_msg(timeout=20)).data)
    finally:
        service.runtime.stop()
        await serving

    store = await BarStore.open(fresh_database)
    try:
        stored = await store.bars("BTCUSD", Timeframe.M1, None, None, limit=100)
        aapl = await store.bars("AAPL", Timeframe.M1, None, None, limit=100)
    finally:
        await store.close()
    assert len(stored) == 20
    assert len(aapl) == 20
    assert stored[-1].end == NOW.replace(second=0)
    assert all(b.in_session for b in aapl)  # marked by the NYSE's calendar, open at 10:30
    assert first.ts_event > stored[-1].end
    mid = (first.bid + first.ask) / 2
    assert abs(mid - stored[-1].close) / stored[-1].close < Decimal("0.005")  # no jump
