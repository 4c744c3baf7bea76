"""The service on real NATS and PostgreSQL: quotes and bars on MARKET, deduplicated; answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.errors import NoRespondersError

from papertape.common.clock import FakeClock
from papertape.contract import codec
from papertape.contract.events.envelope import Reply, Request
from papertape.contract.events.market import (
    BarClosed,
    BarHistory,
    GetBars,
    GetLatestQuote,
    QuoteReceived,
    Timeframe,
)
from papertape.contract.ids import Actor, Symbol
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.marketdata.bars import BarAggregator
from papertape.marketdata.barstore import BarStore
from papertape.marketdata.bootstrap import MarketDataService
from papertape.marketdata.feeds.replay import ReplayFeed
from papertape.marketdata.publisher import MarketPublisher
from papertape.marketdata.settings import MarketDataSettings

pytestmark = pytest.mark.integration
T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)  # a Tuesday, 09:30 New York: NYSE is open


def write_quotes(path: Path, count: int) -> None:
    lines = ["ts,symbol,bid,ask,last,volume"]
    for i in range(count):
        ts = (T0 + timedelta(seconds=10 * i)).isoformat()
        lines.append(
            f"{ts},AAPL,{185 + i * 0.01:.2f},{185.02 + i * 0.01:.2f},{185.01 + i * 0.01:.2f},5"
        )
    path.write_text("\n".join(lines) + "\n")


async def stream_messages(nats_client: Client, subjects: Subjects, subject: str) -> int:
    info = await nats_client.jetstream().stream_info(
        subjects.stream("MARKET"), subjects_filter=subject
    )
    return sum((info.state.subjects or {}).values())


async def test_a_replayed_feed_published_twice_is_stored_once(
    nats_client: Client, subjects: Subjects, jetstream_streams: tuple[StreamSpec, ...]
) -> None:
    ticks = [
        QuoteReceived(
            symbol=Symbol("AAPL"),
            bid=Decimal("185.00") + i,
            ask=Decimal("185.02") + i,
            last=Decimal("185.01") + i,
            volume=Decimal(5),
            ts_event=T0 + timedelta(seconds=10 * i),
            ts_init=T0 + timedelta(seconds=10 * i),
            source="replay",
        )
        for i in range(13)  # 2 minutes and 10 seconds: closes two 1m bars
    ]

    async def feed() -> AsyncIterator[QuoteReceived]:
        for tick in ticks:
            yield tick

    for _ in range(2):  # a restarted feed replays the same quotes
        publisher = MarketPublisher(nats_client, subjects, aggregator=BarAggregator([Timeframe.M1]))
        await publisher.run(feed())

    assert await stream_messages(nats_client, subjects, subjects.quote("AAPL")) == 13
    assert await stream_messages(nats_client, subjects, subjects.bar("1m", "AAPL")) == 2
    info = await nats_client.jetstream().stream_info(subjects.stream("MARKET"))
    assert info.state.messages == 15


async def test_published_quotes_carry_their_session_mark(
    nats_client: Client, subjects: Subjects, jetstream_streams: tuple[StreamSpec, ...]
) -> None:
    saturday = datetime(2024, 1, 6, 15, 0, tzinfo=UTC)
    publisher = MarketPublisher(nats_client, subjects)
    for symbol in ("AAPL", "BTCUSD"):
        await publisher.on_quote(
            QuoteReceived(
                symbol=Symbol(symbol),
                bid=Decimal("1.00"),
                ask=Decimal("1.01"),
                ts_event=saturday,
                ts_init=saturday,
                source="test",
            )
        )
    await publisher.flush()
    js = nats_client.jetstream()
    decoder = codec.Codec[QuoteReceived](QuoteReceived)
    stream = subjects.stream("MARKET")
    aapl = decoder.decode((await js.get_last_msg(stream, subjects.quote("AAPL"))).data or b"")
    btc = decoder.decode((await js.get_last_msg(stream, subjects.quote("BTCUSD"))).data or b"")
    assert (aapl.in_session, btc.in_session) == (False, True)


async def test_the_service_answers_latest_price_and_ohlc_history(
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    fresh_database: str,
    nats_url: str,
    tmp_path: Path,
) -> None:
    path = tmp_path / "aapl.csv"
    write_quotes(path, 19)  # 09:30:00 to 09:33:00: closes the 1m bars of 09:30, 09:31, 09:32
    settings = MarketDataSettings(
        nats_url=nats_url,
        database_url=fresh_database,
        namespace=subjects.namespace,
        metrics_port=-1,
        feed="replay",
        replay_path=str(path),
        timeframes="1m,5m",
    )
    service = MarketDataService(settings, feed=ReplayFeed(path))
    serving = asyncio.create_task(service.serve())
    try:
        quote_reply = codec.Codec[Reply[QuoteReceived]](Reply[QuoteReceived])
        bars_reply = codec.Codec[Reply[BarHistory]](Reply[BarHistory])
        history: Reply[BarHistory] | None = None
        for _ in range(600):  # until the replay has been published and stored (30 s at most)
            await asyncio.sleep(0.05)
            if serving.done() or service.publisher is None:
                continue
            try:
                answer = await nats_client.request(
                    subjects.marketdata_query("get_bars"),
                    codec.encode(request(GetBars(symbol=Symbol("AAPL"), timeframe=Timeframe.M1))),
                    timeout=5,
                )
            except NoRespondersError:  # subscriptions reach the server just after start
                continue
            history = bars_reply.decode(answer.data)
            if history.result is not None and len(history.result.bars) == 3:
                break
        assert history is not None
        assert history.result is not None
        assert [b.start for b in history.result.bars] == [
            T0 + timedelta(minutes=m) for m in range(3)
        ]
        first: BarClosed = history.result.bars[0]
        assert (first.open, first.close, first.volume) == (
            Decimal("185.01"),
            Decimal("185.06"),
            Decimal(30),
        )
        answer = await nats_client.request(
            subjects.marketdata_query("get_latest_quote"),
            codec.encode(request(GetLatestQuote(symbol=Symbol("AAPL")))),
            timeout=5,
        )
        latest = quote_reply.decode(answer.data)
        assert latest.ok
        assert latest.result is not None
        assert latest.result.last == Decimal("185.19")
        answer = await nats_client.request(
            subjects.marketdata_query("get_latest_quote"),
            codec.encode(request(GetLatestQuote(symbol=Symbol("MSFT")))),
            timeout=5,
        )
        assert quote_reply.decode(answer.data).error_code == "no_market_price"
    finally:
        service.runtime.stop()
        await serving


def request(body: GetBars | GetLatestQuote) -> Request[GetBars | GetLatestQuote]:
    return Request(request_id="r-1", issued_at=T0, actor=Actor("test"), body=body)


class FailsOnceFeed:
    """A live-like feed whose first connection breaks; the second one delivers a quote."""

    name = "flaky"

    def __init__(self) -> None:
        self.connections = 0

    async def stream(self) -> AsyncIterator[QuoteReceived]:
        self.connections += 1
        if self.connections == 1:
            raise ConnectionError("the vendor hung up")
        now = datetime.now(UTC)
        yield QuoteReceived(
            symbol=Symbol("BTCUSD"),
            bid=Decimal(100),
            ask=Decimal("100.02"),
            ts_event=now,
            ts_init=now,
            source="flaky",
        )
        await asyncio.Event().wait()  # a live feed never ends by itself


async def test_a_failed_feed_is_restarted_and_publishes_again(
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
        symbols="BTCUSD",
        store_bars=False,
    )
    feed = FailsOnceFeed()
    service = MarketDataService(settings, feed=feed)
    market = await nats_client.subscribe(subjects.quote("BTCUSD"))
    serving = asyncio.create_task(service.serve())
    try:
        msg = await market.next_msg(timeout=20)
        assert b'"source":"flaky"' in msg.data
        assert feed.connections == 2
        assert service.metrics.feed_restarts.labels("flaky")._value.get() == 1
    finally:
        service.runtime.stop()
        await serving


class OneQuoteFeed:
    """A live-like feed that sends one quote at the clock's time, then waits."""

    name = "one"

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock

    async def stream(self) -> AsyncIterator[QuoteReceived]:
        now = self._clock.now()
        yield QuoteReceived(
            symbol=Symbol("BTCUSD"),
            bid=Decimal(100),
            ask=Decimal("100.02"),
            last=Decimal("100.01"),
            ts_event=now,
            ts_init=now,
            source="one",
        )
        await asyncio.Event().wait()


async def test_bars_close_on_the_clock_after_the_closing_loop_failed_once(
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    nats_url: str,
) -> None:
    clock = FakeClock(T0)
    settings = MarketDataSettings(
        nats_url=nats_url,
        namespace=subjects.namespace,
        metrics_port=-1,
        symbols="BTCUSD",
        timeframes="1m",
        store_bars=False,
    )
    service = MarketDataService(settings, clock=clock, feed=OneQuoteFeed(clock))
    quotes = await nats_client.subscribe(subjects.quote("BTCUSD"))
    bars = await nats_client.subscribe(subjects.bar("1m", "BTCUSD"))
    serving = asyncio.create_task(service.serve())
    try:
        await quotes.next_msg(timeout=20)
        publisher = service.publisher
        assert publisher is not None
        close_due = publisher.close_due
        calls = 0

        async def fails_once(now: datetime) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionError("the bar store is away")
            await close_due(now)

        publisher.close_due = fails_once  # type: ignore[method-assign]
        clock.advance(timedelta(minutes=2))
        bar = codec.Codec[BarClosed](BarClosed).decode((await bars.next_msg(timeout=20)).data)
        assert bar.start == T0
        assert calls >= 2
        failures = service.runtime.metrics.task_failures.labels("market-data", "closing bars")
        assert failures._value.get() == 1
    finally:
        service.runtime.stop()
        await serving


async def test_a_restarted_synthetic_feed_continues_from_the_last_stored_bar(
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    fresh_database: str,
    nats_url: str,
) -> None:
    # What the previous run left in the bar store: BTCUSD closed at 50,000 at 15:31, while
    # the clock (behind it) says 15:00 and a cold start would begin at 43,000.
    end = T0 + timedelta(hours=1, minutes=1)
    stored = BarClosed(
        symbol=Symbol("BTCUSD"),
        timeframe=Timeframe.M1,
        open=Decimal("49990.00"),
        high=Decimal("50010.00"),
        low=Decimal("49980.00"),
        close=Decimal("50000.00"),
        volume=Decimal(3),
        start=end - timedelta(minutes=1),
        end=end,
        source="synthetic",
    )
    store = await BarStore.open(fresh_database)
    await store.upsert([stored])
    await store.close()
    settings = MarketDataSettings(
        nats_url=nats_url,
        database_url=fresh_database,
        namespace=subjects.namespace,
        metrics_port=-1,
        symbols="BTCUSD,ETHUSD",
        quote_rate=20,
    )
    service = MarketDataService(settings, clock=FakeClock(T0 + timedelta(minutes=30)))
    btc = await nats_client.subscribe(subjects.quote("BTCUSD"))
    serving = asyncio.create_task(service.serve())
    decoder = codec.Codec[QuoteReceived](QuoteReceived)
    try:
        first = decoder.decode((await btc.next_msg(timeout=20)).data)
        second = decoder.decode((await btc.next_msg(timeout=20)).data)
    finally:
        service.runtime.stop()
        await serving
    assert end < first.ts_event < second.ts_event  # never back in time
    mid = (first.bid + first.ask) / 2
    assert abs(mid - stored.close) / stored.close < Decimal("0.005")  # one step, no jump


async def test_a_wider_bar_begun_before_a_restart_closes_whole_after_it(
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    fresh_database: str,
    nats_url: str,
) -> None:
    # The previous run stored the 1m bars of 15:30, 15:31 and 15:32 and stopped inside the
    # 5m bar of 15:30-15:35, which it had not closed yet.
    opens = ("50000.00", "50010.00", "50020.00")
    stored = [
        BarClosed(
            symbol=Symbol("BTCUSD"),
            timeframe=Timeframe.M1,
            open=Decimal(price),
            high=Decimal(price) + 15,
            low=Decimal(price) - 5,
            close=Decimal(price) + 10,
            volume=Decimal(2),
            start=T0 + timedelta(hours=1, minutes=minute),
            end=T0 + timedelta(hours=1, minutes=minute + 1),
            source="synthetic",
        )
        for minute, price in enumerate(opens)
    ]
    store = await BarStore.open(fresh_database)
    await store.upsert(stored)
    await store.close()
    settings = MarketDataSettings(
        nats_url=nats_url,
        database_url=fresh_database,
        namespace=subjects.namespace,
        metrics_port=-1,
        symbols="BTCUSD",
        timeframes="1m,5m",
        quote_rate=20,
    )
    clock = FakeClock(stored[-1].end)
    service = MarketDataService(settings, clock=clock)
    quotes = await nats_client.subscribe(subjects.quote("BTCUSD"))
    bars = await nats_client.subscribe(subjects.bar("5m", "BTCUSD"))
    serving = asyncio.create_task(service.serve())
    try:
        await quotes.next_msg(timeout=20)
        clock.advance(timedelta(minutes=5))  # the 5m bar is due on the clock
        bar = codec.Codec[BarClosed](BarClosed).decode((await bars.next_msg(timeout=20)).data)
    finally:
        service.runtime.stop()
        await serving
    assert (bar.start, bar.end) == (stored[0].start, stored[0].start + timedelta(minutes=5))
    assert bar.open == stored[0].open  # from before the restart, not from its first quote
    assert bar.high >= Decimal("50035.00")
    assert bar.volume >= Decimal(6)
