"""A feed from on-demand sources: poll each symbol's latest quote at an interval."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from papertape.contract.events.market import QuoteReceived
from papertape.contract.ids import Symbol
from papertape.marketdata.feeds.base import QuoteSource, SourceUnavailable

log = logging.getLogger("papertape.market-data.polling")


class PollingFeed:
    """Yields a quote per symbol per poll; a quote seen before (same time) is not repeated."""

    def __init__(self, source: QuoteSource, symbols: Sequence[str], *, interval_s: float) -> None:
        self.name = source.name
        self.source = source
        self._symbols = [Symbol(s) for s in symbols]
        self._interval_s = interval_s
        self._seen: dict[Symbol, QuoteReceived] = {}

    async def poll(self) -> list[QuoteReceived]:
        """One round over every symbol: the quotes that are new."""
        fresh: list[QuoteReceived] = []
        for symbol in self._symbols:
            try:
                quote = await self.source.latest_quote(symbol)
            except SourceUnavailable as error:
                log.warning("no quote for %s: %s", symbol, error)
                continue
            previous = self._seen.get(symbol)
            if previous is not None and previous.ts_event == quote.ts_event:
                continue
            self._seen[symbol] = quote
            fresh.append(quote)
        return fresh

    async def stream(self) -> AsyncIterator[QuoteReceived]:
        while True:
            for quote in await self.poll():
                yield quote
            await asyncio.sleep(self._interval_s)
