"""Market data on the bus: quotes and bars (published by market-data)."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

import msgspec

from papertape.contract.bounds import NAME, Charge, Limit, Size, Text, UtcTime
from papertape.contract.events.base import Event, Query
from papertape.contract.ids import Symbol


class Timeframe(enum.StrEnum):
    """Bar widths."""

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    H1 = "1h"
    D1 = "1d"


class QuoteReceived(Event, frozen=True, kw_only=True):
    """A top-of-book quote; ``last`` is the last trade when the source has one."""

    symbol: Annotated[Symbol, NAME]
    bid: Charge
    ask: Charge
    bid_size: Size = Decimal(0)
    ask_size: Size = Decimal(0)
    last: Charge | None = None
    volume: Size = Decimal(0)
    ts_event: UtcTime
    ts_init: UtcTime
    source: Text
    in_session: bool = True


# Not tracked by the cyclic collector: immutable values only, and signals and backtests keep
# many (see IndicatorValue).
class BarClosed(Event, frozen=True, kw_only=True, gc=False):
    """An OHLCV bar whose interval has ended."""

    symbol: Annotated[Symbol, NAME]
    timeframe: Timeframe
    open: Charge
    high: Charge
    low: Charge
    close: Charge
    volume: Size
    start: UtcTime
    end: UtcTime
    source: Text
    in_session: bool = True


MarketEvent = QuoteReceived | BarClosed


# --- queries (request-reply on ``marketdata.query.<name>``) --------------------------------


class GetLatestQuote(Query, frozen=True, kw_only=True):
    """The last quote market-data published for a symbol (reply result: ``QuoteReceived``)."""

    symbol: Annotated[Symbol, NAME]


class GetBars(Query, frozen=True, kw_only=True):
    """Stored bars of a symbol and width, oldest first (reply result: ``BarHistory``)."""

    symbol: Annotated[Symbol, NAME]
    timeframe: Timeframe
    start: UtcTime | None = None
    end: UtcTime | None = None
    limit: Limit = 500


class ListInstruments(Query, frozen=True, kw_only=True):
    """Every instrument market-data publishes (reply result: a list of ``Instrument``)."""


class BarHistory(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to ``GetBars``: bars whose start lies in [start, end), oldest first."""

    symbol: Symbol
    timeframe: Timeframe
    bars: tuple[BarClosed, ...] = ()


MarketQuery = GetLatestQuote | GetBars | ListInstruments
