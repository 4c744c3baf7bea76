"""Several live sources as one: priorities and failover, retries with backoff, rate-limit
budgets per source, a short cache, and a metric of which source served what."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.marketdata.feeds.base import QuoteSource, SourceUnavailable
from papertape.marketdata.metrics import MarketDataMetrics

T = TypeVar("T")


class TransientSourceError(SourceUnavailable):
    """A failure worth retrying on the same source (timeout, 5xx, throttled)."""


class RateBudget:
    """A token bucket: at most ``calls`` per ``per_s`` seconds, refilled continuously."""

    def __init__(self, calls: float, per_s: float, monotonic: Callable[[], float] = time.monotonic):
        self.capacity = calls
        self.rate = calls / per_s
        self._tokens = calls
        self._monotonic = monotonic
        self._at = monotonic()

    def try_take(self) -> bool:
        """Spend one call if the budget allows it now."""
        now = self._monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class SourceAggregator:
    """Asks its sources in priority order; the first that answers wins, and is cached briefly."""

    name = "aggregate"

    def __init__(
        self,
        sources: Sequence[QuoteSource],
        *,
        budgets: Mapping[str, RateBudget] | None = None,
        cache_ttl_s: float = 1.0,
        attempts: int = 3,
        backoff_s: float = 0.2,
        metrics: MarketDataMetrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not sources:
            raise ValueError("an aggregator needs at least one source")
        self.sources = tuple(sources)
        self.budgets = dict(budgets or {})
        self.cache_ttl_s = cache_ttl_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.metrics = metrics or MarketDataMetrics()
        self._monotonic = monotonic
        self._cache: dict[tuple[Any, ...], tuple[float, Any]] = {}

    async def latest_quote(self, symbol: Symbol) -> QuoteReceived:
        """The first answer among the sources, or the cached one if still fresh."""
        return await self._ask(("quote", symbol), "quote", lambda s: s.latest_quote(symbol))

    async def bars(
        self,
        symbol: Symbol,
        timeframe: Timeframe,
        start: datetime | None,
        end: datetime | None,
    ) -> list[BarClosed]:
        """Bar history from the first source that has it."""
        return await self._ask(
            ("bars", symbol, timeframe, start, end),
            "bars",
            lambda s: s.bars(symbol, timeframe, start, end),
        )

    async def _ask(
        self,
        key: tuple[Any, ...],
        what: str,
        call: Callable[[QuoteSource], Awaitable[T]],
    ) -> T:
        now = self._monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self.cache_ttl_s:
            self.metrics.served.labels("cache", what).inc()
            result: T = cached[1]
            return result
        failures: list[str] = []
        for source in self.sources:
            budget = self.budgets.get(source.name)
            if budget is not None and not budget.try_take():
                self.metrics.source_failures.labels(source.name, "rate_limited").inc()
                failures.append(f"{source.name}: rate budget spent")
                continue
            try:
                result = await self._with_retries(source, call)
            except SourceUnavailable as error:
                self.metrics.source_failures.labels(source.name, type(error).__name__).inc()
                failures.append(f"{source.name}: {error}")
                continue
            self.metrics.served.labels(source.name, what).inc()
            self._cache[key] = (self._monotonic(), result)
            return result
        raise SourceUnavailable(f"no source answered {key}: " + "; ".join(failures))

    async def _with_retries(
        self, source: QuoteSource, call: Callable[[QuoteSource], Awaitable[T]]
    ) -> T:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientSourceError),
            wait=wait_exponential(multiplier=self.backoff_s, max=10 * self.backoff_s),
            stop=stop_after_attempt(self.attempts),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await call(source)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover
