"""Alpha Vantage: GLOBAL_QUOTE, CURRENCY_EXCHANGE_RATE and TIME_SERIES_INTRADAY; key in
``ALPHAVANTAGE_API_KEY``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec

from papertape.common.clock import Clock
from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.contract.instruments import AssetClass, instrument_for
from papertape.marketdata.aggregator import TransientSourceError
from papertape.marketdata.bars import TIMEFRAME_SECONDS
from papertape.marketdata.feeds.base import SourceUnavailable, VendorShapeChanged
from papertape.marketdata.feeds.live.transport import (
    HttpSource,
    api_key,
    get_json,
    parse,
    price,
    size,
)

SOURCE = "alphavantage"
BASE_URL = "https://www.alphavantage.co/query"
KEY_VARIABLE = "ALPHAVANTAGE_API_KEY"
_INTRADAY = {
    Timeframe.M1: "1min",
    Timeframe.M5: "5min",
    Timeframe.M15: "15min",
    Timeframe.H1: "60min",
}


class AlphaVantageRate(msgspec.Struct, frozen=True):
    """CURRENCY_EXCHANGE_RATE's ``Realtime Currency Exchange Rate``."""

    rate: Decimal = msgspec.field(name="5. Exchange Rate")
    refreshed: datetime = msgspec.field(name="6. Last Refreshed")
    bid: Decimal = msgspec.field(name="8. Bid Price")
    ask: Decimal = msgspec.field(name="9. Ask Price")
    zone: str = msgspec.field(name="7. Time Zone", default="UTC")


class AlphaVantageFx(msgspec.Struct, frozen=True):
    """A CURRENCY_EXCHANGE_RATE document."""

    rate: AlphaVantageRate = msgspec.field(name="Realtime Currency Exchange Rate")


class AlphaVantageQuote(msgspec.Struct, frozen=True):
    """GLOBAL_QUOTE's ``Global Quote`` (the fields used)."""

    price: Decimal = msgspec.field(name="05. price")
    day: date = msgspec.field(name="07. latest trading day")
    volume: Decimal | None = msgspec.field(name="06. volume", default=None)


class AlphaVantageMeta(msgspec.Struct, frozen=True):
    """TIME_SERIES_INTRADAY's ``Meta Data``: the zone its times are in."""

    zone: str = msgspec.field(name="6. Time Zone", default="US/Eastern")


class AlphaVantageBar(msgspec.Struct, frozen=True):
    """One row of a TIME_SERIES_INTRADAY series."""

    open: Decimal = msgspec.field(name="1. open")
    high: Decimal = msgspec.field(name="2. high")
    low: Decimal = msgspec.field(name="3. low")
    close: Decimal = msgspec.field(name="4. close")
    volume: Decimal | None = msgspec.field(name="5. volume", default=None)


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


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as error:
        raise VendorShapeChanged(f"alphavantage: unknown time zone {name!r}") from error


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
            document = await self._query(
                function="CURRENCY_EXCHANGE_RATE", from_currency=symbol[:3], to_currency=symbol[3:]
            )
            rate = parse(document, AlphaVantageFx, SOURCE).rate
            ts = rate.refreshed.replace(tzinfo=_zone(rate.zone))
            return QuoteReceived(
                symbol=symbol,
                bid=price(symbol, rate.bid),
                ask=price(symbol, rate.ask),
                last=price(symbol, rate.rate),
                ts_event=ts.astimezone(UTC),
                ts_init=now,
                source=SOURCE,
            )
        document = await self._query(function="GLOBAL_QUOTE", symbol=symbol)
        if not document.get("Global Quote"):  # its answer for a symbol it does not know
            raise SourceUnavailable(f"alphavantage: no quote for {symbol}")
        quote = parse(document["Global Quote"], AlphaVantageQuote, SOURCE)
        last = price(symbol, quote.price)
        return QuoteReceived(
            symbol=symbol,
            bid=last,
            ask=last,
            last=last,
            volume=size(quote.volume),
            ts_event=datetime(quote.day.year, quote.day.month, quote.day.day, tzinfo=UTC),
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
        document = await self._query(
            function="TIME_SERIES_INTRADAY", symbol=symbol, interval=interval, outputsize="full"
        )
        zone = _zone(parse(document.get("Meta Data", {}), AlphaVantageMeta, SOURCE).zone)
        series = parse(
            document.get(f"Time Series ({interval})", {}), dict[datetime, AlphaVantageBar], SOURCE
        )
        width = timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
        now = self._clock.now()
        bars = []
        for stamp, row in series.items():
            begin = stamp.replace(tzinfo=zone).astimezone(UTC)
            if begin + width > now or (start and begin < start) or (end and begin >= end):
                continue
            bars.append(
                BarClosed(
                    symbol=symbol,
                    timeframe=timeframe,
                    open=price(symbol, row.open),
                    high=price(symbol, row.high),
                    low=price(symbol, row.low),
                    close=price(symbol, row.close),
                    volume=size(row.volume),
                    start=begin,
                    end=begin + width,
                    source=SOURCE,
                )
            )
        return sorted(bars, key=lambda b: b.start)
