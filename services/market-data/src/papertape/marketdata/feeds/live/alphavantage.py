"""Alpha Vantage: GLOBAL_QUOTE, CURRENCY_EXCHANGE_RATE and TIME_SERIES_INTRADAY; key in
``ALPHAVANTAGE_API_KEY``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from papertape.common.clock import Clock
from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.contract.instruments import AssetClass, instrument_for
from papertape.marketdata.aggregator import TransientSourceError
from papertape.marketdata.bars import TIMEFRAME_SECONDS
from papertape.marketdata.feeds.base import SourceUnavailable
from papertape.marketdata.feeds.live.transport import HttpSource, api_key, get_json, price, size

SOURCE = "alphavantage"
BASE_URL = "https://www.alphavantage.co/query"
KEY_VARIABLE = "ALPHAVANTAGE_API_KEY"
_INTRADAY = {
    Timeframe.M1: "1min",
    Timeframe.M5: "5min",
    Timeframe.M15: "15min",
    Timeframe.H1: "60min",
}


def _checked(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise SourceUnavailable("alphavantage: unexpected document")
    if "Note" in document or "Information" in document:  # its way of saying "throttled"
        raise TransientSourceError(
            f"alphavantage: {document.get('Note') or document['Information']}"
        )
    if "Error Message" in document:
        raise SourceUnavailable(f"alphavantage: {document['Error Message']}")
    return document


class AlphaVantageSource(HttpSource):
    """Equity quotes (last price), FX quotes with bid and ask, intraday equity bars."""

    name = SOURCE

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        base_url: str = BASE_URL,
    ) -> None:
        super().__init__(client=client, clock=clock, base_url=base_url)

    async def _query(self, **params: str) -> dict[str, Any]:
        params["apikey"] = api_key(KEY_VARIABLE)
        return _checked(await get_json(self._client, self._base, params))

    async def latest_quote(self, symbol: Symbol) -> QuoteReceived:
        now = self._clock.now()
        if instrument_for(symbol).asset_class is AssetClass.FX:
            doc = await self._query(
                function="CURRENCY_EXCHANGE_RATE", from_currency=symbol[:3], to_currency=symbol[3:]
            )
            rate = doc["Realtime Currency Exchange Rate"]
            zone = ZoneInfo(rate.get("7. Time Zone", "UTC"))
            ts = datetime.fromisoformat(rate["6. Last Refreshed"]).replace(tzinfo=zone)
            return QuoteReceived(
                symbol=symbol,
                bid=price(symbol, rate["8. Bid Price"]),
                ask=price(symbol, rate["9. Ask Price"]),
                last=price(symbol, rate["5. Exchange Rate"]),
                ts_event=ts.astimezone(UTC),
                ts_init=now,
                source=SOURCE,
            )
        doc = await self._query(function="GLOBAL_QUOTE", symbol=symbol)
        quote = doc.get("Global Quote") or {}
        if "05. price" not in quote:
            raise SourceUnavailable(f"alphavantage: no quote for {symbol}")
        last = price(symbol, quote["05. price"])
        day = datetime.fromisoformat(quote["07. latest trading day"]).replace(tzinfo=UTC)
        return QuoteReceived(
            symbol=symbol,
            bid=last,
            ask=last,
            last=last,
            volume=size(quote.get("06. volume")),
            ts_event=day,
            ts_init=now,
            source=SOURCE,
        )

    async def bars(
        self,
        symbol: Symbol,
        timeframe: Timeframe,
        start: datetime | None,
        end: datetime | None,
    ) -> list[BarClosed]:
        if timeframe not in _INTRADAY:
            raise SourceUnavailable("alphavantage: daily bars are not offered here")
        interval = _INTRADAY[timeframe]
        doc = await self._query(
            function="TIME_SERIES_INTRADAY", symbol=symbol, interval=interval, outputsize="full"
        )
        zone = ZoneInfo(doc.get("Meta Data", {}).get("6. Time Zone", "US/Eastern"))
        width = timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
        now = self._clock.now()
        bars = []
        for stamp, row in doc.get(f"Time Series ({interval})", {}).items():
            begin = datetime.fromisoformat(stamp).replace(tzinfo=zone).astimezone(UTC)
            if begin + width > now or (start and begin < start) or (end and begin >= end):
                continue
            bars.append(
                BarClosed(
                    symbol=symbol,
                    timeframe=timeframe,
                    open=price(symbol, row["1. open"]),
                    high=price(symbol, row["2. high"]),
                    low=price(symbol, row["3. low"]),
                    close=price(symbol, row["4. close"]),
                    volume=size(row.get("5. volume")),
                    start=begin,
                    end=begin + width,
                    source=SOURCE,
                )
            )
        return sorted(bars, key=lambda b: b.start)
