"""The live sources by name, in the priority order asked for."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from papertape.marketdata.aggregator import RateBudget
from papertape.marketdata.feeds.base import QuoteSource
from papertape.marketdata.feeds.live.alphavantage import AlphaVantageSource
from papertape.marketdata.feeds.live.ccxt import CcxtSource
from papertape.marketdata.feeds.live.finnhub import FinnhubSource
from papertape.marketdata.feeds.live.twelvedata import TwelveDataSource
from papertape.marketdata.feeds.live.yfinance import YFinanceSource

FACTORIES: dict[str, Callable[[], QuoteSource]] = {
    "ccxt": CcxtSource,
    "yfinance": YFinanceSource,
    "twelvedata": TwelveDataSource,
    "finnhub": FinnhubSource,
    "alphavantage": AlphaVantageSource,
}


# Calls per period each vendor's free tier allows (a budget spent moves the aggregator on to
# the next source instead of being refused by the vendor).
FREE_TIER_BUDGETS: dict[str, tuple[float, float]] = {
    "yfinance": (60, 60.0),
    "twelvedata": (8, 60.0),
    "finnhub": (60, 60.0),
    "alphavantage": (25, 86_400.0),
}
CCXT_BUDGET = (600, 60.0)


def free_tier_budgets(sources: Sequence[QuoteSource]) -> dict[str, RateBudget]:
    """A rate budget for each source, from its vendor's free-tier limit."""
    return {
        source.name: RateBudget(*FREE_TIER_BUDGETS.get(source.name, CCXT_BUDGET))
        for source in sources
    }


def live_sources(names: Sequence[str]) -> list[QuoteSource]:
    """Sources for ``names`` (``ccxt:binance`` picks an exchange), in that order."""
    sources: list[QuoteSource] = []
    for name in names:
        kind, _, option = name.partition(":")
        if kind not in FACTORIES:
            raise ValueError(f"unknown live source {kind!r}: one of {', '.join(FACTORIES)}")
        sources.append(CcxtSource(option) if kind == "ccxt" and option else FACTORIES[kind]())
    return sources
