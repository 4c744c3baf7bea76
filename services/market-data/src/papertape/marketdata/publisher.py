"""From ticks to the MARKET stream: session marks, bars, dedup ids, acknowledged publishing.

Quotes are published with many acknowledgements in flight (``AckedPublisher``); a publish whose
acknowledgement fails is retried with the same ``Nats-Msg-Id``, so it is stored at most once.
Messages are bare ``QuoteReceived`` / ``BarClosed`` structs: market data are high-rate facts,
not account events, and need no envelope.

The bars a quote closes are published before that quote: they ended before it. With a settle
time (``bar_settle_s``) the quote waits that long after them, so an order a strategy places on
a closed bar reaches the venue before the next bar's first quote and fills there, as a backtest
given the same quotes fills it; a replay compared with its backtest needs that (the venue fills
at the first quote after an order arrives, and without the wait which quote that is depends on
how fast the services answered).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime

import msgspec
from nats.aio.client import Client

from papertape.common.bus.publishing import publish
from papertape.contract import codec
from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.contract.ids import Symbol
from papertape.contract.subjects import Subjects
from papertape.marketdata.acks import AckedPublisher
from papertape.marketdata.bars import BarAggregator
from papertape.marketdata.barstore import BarStore
from papertape.marketdata.calendars import MarketHours, TradingCalendar, calendar_for
from papertape.marketdata.feeds.base import Tick, Trade
from papertape.marketdata.metrics import MarketDataMetrics


def quote_id(quote: QuoteReceived) -> str:
    """The dedup id of a quote: the same quote from the same source always gets the same id."""
    return f"{quote.source}:{quote.symbol}:{quote.ts_event.isoformat()}"


def bar_id(bar: BarClosed) -> str:
    """The dedup id of a bar."""
    return f"{bar.source}:{bar.symbol}:{bar.timeframe.value}:{bar.start.isoformat()}"


class MarketPublisher:
    """Marks, aggregates, stores and publishes every tick of a feed."""

    def __init__(
        self,
        nc: Client,
        subjects: Subjects,
        *,
        aggregator: BarAggregator | None = None,
        store: BarStore | None = None,
        metrics: MarketDataMetrics | None = None,
        calendars: Callable[[str], TradingCalendar] = calendar_for,
        latest: dict[Symbol, QuoteReceived] | None = None,
        settle_s: float = 0.0,
    ) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self.quotes = AckedPublisher(nc)
        self._subjects = subjects
        self.aggregator = aggregator or BarAggregator()
        self._store = store
        self.metrics = metrics or MarketDataMetrics()
        self.hours = MarketHours(calendars)
        self._subject_cache: dict[str, str] = {}
        self._quote_counts: dict[str, int] = {}
        self.latest: dict[Symbol, QuoteReceived] = {} if latest is None else latest
        self.settle_s = settle_s

    def in_session(self, symbol: str, ts: datetime) -> bool:
        """Whether ``symbol``'s market is open at ``ts``."""
        return self.hours.in_session(symbol, ts)

    async def run(self, ticks: AsyncIterator[Tick]) -> None:
        """Publish a whole feed, then wait for every acknowledgement."""
        async for tick in ticks:
            await self.on_tick(tick)
        await self.flush()

    async def on_tick(self, tick: Tick) -> None:
        """Handle one tick from a feed."""
        if isinstance(tick, QuoteReceived):
            await self.on_quote(tick)
        elif isinstance(tick, Trade):
            in_session = self.in_session(tick.symbol, tick.ts_event)
            await self.publish_bars(self.aggregator.on_trade(tick, in_session))
        else:
            bar = self._marked_bar(tick)
            await self.publish_bars([bar, *self.aggregator.on_bar(bar)])

    async def on_quote(self, quote: QuoteReceived) -> None:
        """Mark and remember a quote; publish and store the bars it closes, then the quote."""
        in_session = self.in_session(quote.symbol, quote.ts_event)
        if in_session != quote.in_session:
            quote = msgspec.structs.replace(quote, in_session=in_session)
        self.latest[quote.symbol] = quote
        closed = self.aggregator.on_quote(quote)
        if closed:
            await self.publish_bars(closed)
            if self.settle_s > 0:
                await asyncio.sleep(self.settle_s)  # orders on those bars reach the venue
        subject = self._subject_cache.get(quote.symbol)
        if subject is None:
            subject = self._subject_cache[quote.symbol] = self._subjects.quote(quote.symbol)
        await self.quotes.publish(subject, codec.encode(quote), quote_id(quote))
        self._quote_counts[quote.source] = self._quote_counts.get(quote.source, 0) + 1

    async def close_due(self, now: datetime) -> None:
        """Close and publish the bars whose interval has ended by ``now``."""
        await self.publish_bars(self.aggregator.close_due(now))

    async def publish_bars(self, bars: Sequence[BarClosed]) -> None:
        """Store bars (idempotent upsert), then publish each with its dedup id."""
        if not bars:
            return
        if self._store is not None:
            await self._store.upsert(bars)
        for bar in bars:
            subject = self._subjects.bar(bar.timeframe.value, bar.symbol)
            await publish(self._js, subject, bar, msg_id=bar_id(bar))
            self.metrics.published.labels("bar", bar.source).inc()

    async def flush(self) -> None:
        """Wait for every quote's acknowledgement (republishing what failed); count them."""
        republished = await self.quotes.flush()
        if republished:
            self.metrics.publish_failures.labels("quote").inc(republished)
        counts, self._quote_counts = self._quote_counts, {}
        for source, count in counts.items():
            self.metrics.published.labels("quote", source).inc(count)

    def _marked_bar(self, bar: BarClosed) -> BarClosed:
        in_session = self.in_session(bar.symbol, bar.start)
        return (
            bar
            if in_session == bar.in_session
            else msgspec.structs.replace(bar, in_session=in_session)
        )
