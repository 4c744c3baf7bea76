"""The live sources by name, in the priority order asked for."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def live_sources(names: Sequence[str]) -> list[QuoteSource]:
    """Sources for ``names`` (``ccxt:binance`` picks an exchange), in that order."""
    sources: list[QuoteSource] = []
    for name in names:
        kind, _, option = name.partition(":")
        if kind not in FACTORIES:
            raise ValueError(f"unknown live source {kind!r}: one of {', '.join(FACTORIES)}")
        sources.append(CcxtSource(option) if kind == "ccxt" and option else FACTORIES[kind]())
    return sources
