"""Answers to price and OHLC-history questions, from the latest quotes and the bar store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from papertape.contract.events.envelope import Reply, ReplyErrorCode
from papertape.contract.events.market import (
    BarHistory,
    GetBars,
    GetLatestQuote,
    ListInstruments,
    MarketQuery,
    QuoteReceived,
)
from papertape.contract.ids import Symbol
from papertape.contract.instruments import Instrument, instrument_for
from papertape.marketdata.barstore import BarStore

NO_MARKET_PRICE = ReplyErrorCode.NO_MARKET_PRICE
NO_BAR_STORE = ReplyErrorCode.NO_BAR_STORE
MAX_BARS = 10_000


class MarketQueries:
    """Answers ``MarketQuery`` messages."""

    def __init__(
        self,
        latest: Mapping[Symbol, QuoteReceived],
        store: BarStore | None,
        symbols: Sequence[str] = (),
    ) -> None:
        self._latest = latest
        self.store = store
        self._symbols = tuple(symbols)

    async def answer(self, query: MarketQuery) -> Reply[Any]:
        """The reply to one query."""
        if isinstance(query, GetLatestQuote):
            return self.latest_quote(query)
        if isinstance(query, ListInstruments):
            return self.instruments()
        return await self.bars(query)

    def instruments(self) -> Reply[list[Instrument]]:
        """The configured symbols and those quoted so far (a replay's), as instruments."""
        symbols = sorted({*self._symbols, *self._latest})
        return Reply(ok=True, result=[instrument_for(symbol) for symbol in symbols])

    def latest_quote(self, query: GetLatestQuote) -> Reply[QuoteReceived]:
        quote = self._latest.get(query.symbol)
        if quote is None:
            return Reply(
                ok=False, error_code=NO_MARKET_PRICE, error=f"no quote for {query.symbol} yet"
            )
        return Reply(ok=True, result=quote)

    async def bars(self, query: GetBars) -> Reply[BarHistory]:
        if self.store is None:
            return Reply(ok=False, error_code=NO_BAR_STORE, error="bar history is not stored")
        bars = await self.store.bars(
            query.symbol,
            query.timeframe,
            query.start,
            query.end,
            max(0, min(query.limit, MAX_BARS)),
        )
        return Reply(
            ok=True,
            result=BarHistory(symbol=query.symbol, timeframe=query.timeframe, bars=tuple(bars)),
        )
