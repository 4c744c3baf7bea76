"""Several sources as one: priority, failover, retries, rate budgets, cache, metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.marketdata.aggregator import RateBudget, SourceAggregator, TransientSourceError
from papertape.marketdata.feeds.base import SourceUnavailable
from papertape.marketdata.feeds.live.sources import free_tier_budgets, live_sources
from papertape.marketdata.metrics import MarketDataMetrics

NOW = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


class ScriptedSource:
    """Answers with a quote, after failing as scripted."""

    def __init__(self, name: str, failures: list[Exception] | None = None) -> None:
        self.name = name
        self.failures = list(failures or [])
        self.calls = 0

    async def latest_quote(self, symbol: Symbol) -> QuoteReceived:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return QuoteReceived(
            symbol=symbol,
            bid=Decimal("1.00"),
            ask=Decimal("1.01"),
            ts_event=NOW,
            ts_init=NOW,
            source=self.name,
        )

    async def bars(
        self, symbol: Symbol, timeframe: Timeframe, start: datetime | None, end: datetime | None
    ) -> list[BarClosed]:
        self.calls += 1
        return []


class ManualTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def served(metrics: MarketDataMetrics, source: str) -> float:
    value = metrics.registry.get_sample_value(
        "papertape_marketdata_source_served_total", {"source": source, "what": "quote"}
    )
    return value or 0.0


async def test_the_first_source_in_priority_serves_when_it_answers() -> None:
    first, second = ScriptedSource("first"), ScriptedSource("second")
    quote = await SourceAggregator([first, second]).latest_quote(Symbol("AAPL"))
    assert quote.source == "first"
    assert second.calls == 0


async def test_a_failing_source_fails_over_to_the_next() -> None:
    first = ScriptedSource("first", [SourceUnavailable("unknown symbol")])
    metrics = MarketDataMetrics()
    aggregator = SourceAggregator([first, ScriptedSource("second")], metrics=metrics)
    quote = await aggregator.latest_quote(Symbol("AAPL"))
    assert quote.source == "second"
    assert first.calls == 1  # not retried: retrying cannot help
    assert served(metrics, "second") == 1


async def test_transient_failures_are_retried_with_backoff_on_the_same_source() -> None:
    flaky = ScriptedSource("flaky", [TransientSourceError("timeout"), TransientSourceError("503")])
    aggregator = SourceAggregator([flaky, ScriptedSource("backup")], attempts=3, backoff_s=0.0)
    quote = await aggregator.latest_quote(Symbol("AAPL"))
    assert quote.source == "flaky"
    assert flaky.calls == 3


async def test_a_spent_rate_budget_skips_the_source_until_it_refills() -> None:
    time = ManualTime()
    first, second = ScriptedSource("first"), ScriptedSource("second")
    aggregator = SourceAggregator(
        [first, second],
        budgets={"first": RateBudget(1, per_s=10.0, monotonic=time)},
        cache_ttl_s=0.0,
        monotonic=time,
    )
    assert (await aggregator.latest_quote(Symbol("AAPL"))).source == "first"
    assert (await aggregator.latest_quote(Symbol("AAPL"))).source == "second"
    time.now = 10.0
    assert (await aggregator.latest_quote(Symbol("AAPL"))).source == "first"


async def test_a_fresh_answer_is_served_from_the_cache() -> None:
    time = ManualTime()
    source = ScriptedSource("only")
    metrics = MarketDataMetrics()
    aggregator = SourceAggregator([source], cache_ttl_s=1.0, metrics=metrics, monotonic=time)
    await aggregator.latest_quote(Symbol("AAPL"))
    await aggregator.latest_quote(Symbol("AAPL"))
    assert source.calls == 1
    assert served(metrics, "cache") == 1
    time.now = 2.0
    await aggregator.latest_quote(Symbol("AAPL"))
    assert source.calls == 2


async def test_when_every_source_fails_the_aggregate_is_unavailable() -> None:
    aggregator = SourceAggregator(
        [
            ScriptedSource("a", [SourceUnavailable("down")]),
            ScriptedSource("b", [SourceUnavailable("down")]),
        ]
    )
    with pytest.raises(SourceUnavailable, match="a: down; b: down"):
        await aggregator.latest_quote(Symbol("AAPL"))


def test_every_live_source_gets_its_vendors_free_tier_budget() -> None:
    sources = live_sources(["ccxt:binance", "twelvedata", "alphavantage"])
    budgets = free_tier_budgets(sources)
    assert set(budgets) == {"ccxt-binance", "twelvedata", "alphavantage"}
    twelve = budgets["twelvedata"]
    assert [twelve.try_take() for _ in range(9)] == [True] * 8 + [False]  # 8 calls a minute
