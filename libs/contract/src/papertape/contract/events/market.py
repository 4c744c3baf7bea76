"""Market data on the bus: quotes and bars (published by market-data)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import msgspec

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

    symbol: Symbol
    bid: Decimal
    ask: Decimal
    bid_size: Decimal = Decimal(0)
    ask_size: Decimal = Decimal(0)
    last: Decimal | None = None
    volume: Decimal = Decimal(0)
    ts_event: datetime
    ts_init: datetime
    source: str
    in_session: bool = True


class BarClosed(Event, frozen=True, kw_only=True):
    """An OHLCV bar whose interval has ended."""

    symbol: Symbol
    timeframe: Timeframe
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    start: datetime
    end: datetime
    source: str
    in_session: bool = True


MarketEvent = QuoteReceived | BarClosed


# --- queries (request-reply on ``marketdata.query.<name>``) --------------------------------


class GetLatestQuote(Query, frozen=True, kw_only=True):
    """The last quote market-data published for a symbol (reply result: ``QuoteReceived``)."""

    symbol: Symbol


class GetBars(Query, frozen=True, kw_only=True):
    """Stored bars of a symbol and width, oldest first (reply result: ``BarHistory``)."""

    symbol: Symbol
    timeframe: Timeframe
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 500


class BarHistory(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to ``GetBars``: bars whose start lies in [start, end), oldest first."""

    symbol: Symbol
    timeframe: Timeframe
    bars: tuple[BarClosed, ...] = ()


MarketQuery = GetLatestQuote | GetBars
