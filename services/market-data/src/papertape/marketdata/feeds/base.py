"""The one interface every source of market data offers, and the trade print it may carry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import msgspec

from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol


class Trade(msgspec.Struct, frozen=True, kw_only=True):
    """A trade print from a source (kept inside the service: bars are built from it)."""

    symbol: Symbol
    price: Decimal
    size: Decimal
    ts_event: datetime
    source: str


Tick = QuoteReceived | BarClosed | Trade
"""What a feed yields: quotes, trades, or bars the source closed itself."""


class Feed(Protocol):
    """A source that pushes market data (synthetic, replayed, or a live poller)."""

    name: str

    def stream(self) -> AsyncIterator[Tick]:
        """Yield ticks until the source ends (a replay) or forever (synthetic, live)."""
        ...


class QuoteSource(Protocol):
    """A source that answers on demand: the latest quote and bar history of a symbol."""

    name: str

    async def latest_quote(self, symbol: Symbol) -> QuoteReceived:
        """The source's current top of book for ``symbol``."""
        ...

    async def bars(
        self,
        symbol: Symbol,
        timeframe: Timeframe,
        start: datetime | None,
        end: datetime | None,
    ) -> list[BarClosed]:
        """Closed bars with ``start`` in [start, end), oldest first."""
        ...


class SourceUnavailable(Exception):
    """A source cannot answer now (network, quota, unknown symbol): try another."""


class VendorShapeChanged(SourceUnavailable):
    """A source answered in a shape its adapter does not know (a key gone, a type changed)."""


class UnusableVendorValue(SourceUnavailable):
    """A source answered a number that is no price or size: not a number, not finite, not
    above zero on the tick (a price), below zero (a size), or past the contract's bound."""
