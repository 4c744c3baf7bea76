"""The one place where market-data is wired: runtime, feed, publisher, bar store, handlers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from papertape.common.clock import Clock
from papertape.common.runtime import ServiceRuntime, configure
from papertape.common.tasks import restart_on_failure, stop_tasks
from papertape.contract.events.market import QuoteReceived
from papertape.contract.ids import Symbol
from papertape.marketdata import handlers
from papertape.marketdata.aggregator import SourceAggregator
from papertape.marketdata.bars import TIMEFRAME_SECONDS, BarAggregator, bar_start
from papertape.marketdata.barstore import BarStore
from papertape.marketdata.calendars import MarketHours
from papertape.marketdata.feeds.base import Feed
from papertape.marketdata.feeds.live.polling import PollingFeed
from papertape.marketdata.feeds.live.sources import free_tier_budgets, live_sources
from papertape.marketdata.feeds.replay import ReplayFeed
from papertape.marketdata.feeds.synthetic import SyntheticFeed, default_model
from papertape.marketdata.history import synthetic_history
from papertape.marketdata.metrics import MarketDataMetrics
from papertape.marketdata.publisher import MarketPublisher
from papertape.marketdata.queries import MarketQueries
from papertape.marketdata.settings import MarketDataSettings

SERVICE = "market-data"


def build_feed(settings: MarketDataSettings, clock: Clock, metrics: MarketDataMetrics) -> Feed:
    """The feed the settings name."""
    if settings.feed == "synthetic":
        return SyntheticFeed(
            [default_model(symbol) for symbol in settings.symbol_list()],
            seed=settings.seed,
            clock=clock,
            rate=settings.quote_rate,
            time_scale=settings.time_scale,
        )
    if settings.feed == "replay":
        return ReplayFeed.from_settings(settings)
    if settings.feed == "live":
        sources = live_sources(settings.source_list())
        aggregator = SourceAggregator(
            sources,
            budgets=free_tier_budgets(sources),
            cache_ttl_s=settings.poll_interval_s,  # one poll's answer serves the whole poll
            metrics=metrics,
        )
        return PollingFeed(aggregator, settings.symbol_list(), interval_s=settings.poll_interval_s)
    raise ValueError(f"unknown feed {settings.feed!r}: synthetic, replay or live")


FEED_RESTART_S = (1.0, 60.0)  # first and longest pause before a failed feed restarts
BAR_CLOSE_EVERY_S = 1.0


class MarketDataService:
    """The running service: a feed pumped into the publisher, bars closed on the clock."""

    def __init__(
        self, settings: MarketDataSettings, *, clock: Clock | None = None, feed: Feed | None = None
    ) -> None:
        configure(settings)
        self.settings = settings
        self.runtime = ServiceRuntime(SERVICE, settings, clock=clock)
        self.metrics = MarketDataMetrics(self.runtime.metrics.registry)
        self.feed = feed or build_feed(settings, self.runtime.clock, self.metrics)
        self.store: BarStore | None = None
        self.publisher: MarketPublisher | None = None
        self.latest: dict[Symbol, QuoteReceived] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.queries = MarketQueries(self.latest, store=None, symbols=settings.symbol_list())
        handlers.register(self.runtime, self.queries)

    async def start(self) -> None:
        """Open the bar store, build the publisher, start pumping the feed."""
        aggregator = BarAggregator(self.settings.timeframe_list())
        if self.settings.store_bars:
            self.store = await BarStore.open(
                self.settings.database_url, role=self.settings.database_role or None
            )
            await self._resume_feed(self.store, aggregator)
        self.publisher = MarketPublisher(
            self.runtime.broker.connection,
            self.runtime.subjects,
            aggregator=aggregator,
            store=self.store,
            metrics=self.metrics,
            latest=self.latest,
            settle_s=self.settings.bar_settle_s,
        )
        self.queries.store = self.store
        self._tasks = [asyncio.create_task(self._pump(), name="market-data feed")]
        if self.settings.feed != "replay":
            self._tasks.append(
                self.runtime.every("closing bars", BAR_CLOSE_EVERY_S, self._close_bars)
            )

    async def _resume_feed(self, store: BarStore, aggregator: BarAggregator) -> None:
        """A synthetic feed continues from the last bars it stored (``make run`` again), and
        the wider bars those had begun are taken up, so the bar store agrees with itself."""
        if not isinstance(self.feed, SyntheticFeed):
            return
        base, widest = aggregator.timeframes[0], aggregator.timeframes[-1]
        symbols = self.settings.symbol_list()
        last = await store.last_bars(symbols, base, self.feed.name)
        if self.settings.history_minutes and len(last) < len(symbols):
            await self._write_history(store, aggregator, set(symbols) - set(last))
            last = await store.last_bars(symbols, base, self.feed.name)
        self.feed.resume_after(last.values())
        per_widest = TIMEFRAME_SECONDS[widest] // TIMEFRAME_SECONDS[base]
        for symbol, bar in sorted(last.items()):
            begun = await store.bars(
                symbol, base, bar_start(bar.start, widest), bar.end, limit=per_widest
            )
            aggregator.resume(b for b in begun if b.source == self.feed.name)
            self.runtime.log.info("%s continues from %s at %s", symbol, bar.close, bar.end)

    async def _write_history(
        self, store: BarStore, aggregator: BarAggregator, cold: set[str]
    ) -> None:
        """Symbols with no stored bars get the walk's history before now (``history.py``)."""
        assert isinstance(self.feed, SyntheticFeed)
        bars = synthetic_history(
            self.feed,
            end=self.runtime.clock.now(),
            minutes=self.settings.history_minutes,
            timeframes=list(aggregator.timeframes),
            in_session=MarketHours().in_session,
        )
        await store.upsert([b for b in bars if b.symbol in cold])
        self.runtime.log.info(
            "stored %d minutes of history for %s", self.settings.history_minutes, sorted(cold)
        )

    async def stop(self) -> None:
        """Stop the feed and wait for acknowledgements (queries are still answered)."""
        await stop_tasks(self._tasks)
        if self.publisher is not None:
            await self.publisher.flush()

    async def stopped(self) -> None:
        """Close the store once no query can use it."""
        if self.store is not None:
            await self.store.close()

    async def serve(self) -> None:
        """Run until SIGINT/SIGTERM (prints READY once started)."""
        await self.runtime.serve(on_start=self.start, on_stop=self.stop, on_stopped=self.stopped)

    async def _pump(self) -> None:
        """Publish the feed; a failing feed is restarted after a growing pause (a replay that
        reaches its end is done). Quote ids are deterministic, so a restart re-publishing a
        quote is dropped by the stream's dedup window."""
        publisher = self.publisher
        assert publisher is not None

        async def publish_feed() -> None:
            await publisher.run(self.feed.stream())
            self.runtime.log.info("feed %s ended", self.feed.name)

        await restart_on_failure(
            publish_feed,
            what=f"feed {self.feed.name}",
            log=self.runtime.log,
            on_restart=self.metrics.feed_restarts.labels(self.feed.name).inc,
            pauses=FEED_RESTART_S,
        )

    async def _close_bars(self) -> None:
        """Close the bars the wall clock has passed (late ticks get the grace first)."""
        assert self.publisher is not None
        grace = timedelta(seconds=self.settings.bar_close_grace_s)
        await self.publisher.flush()
        await self.publisher.close_due(self.runtime.clock.now() - grace)
