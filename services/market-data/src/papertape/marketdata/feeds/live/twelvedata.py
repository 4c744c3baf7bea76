"""Twelve Data: ``/quote`` and ``/time_series`` over HTTPS, key in ``TWELVEDATA_API_KEY``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import msgspec

from papertape.common.clock import Clock
from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.contract.instruments import AssetClass, instrument_for
from papertape.marketdata.aggregator import TransientSourceError
from papertape.marketdata.bars import TIMEFRAME_SECONDS
from papertape.marketdata.feeds.base import SourceUnavailable
from papertape.marketdata.feeds.live.transport import (
    HttpSource,
    api_key,
    get_json,
    parse,
    price,
    size,
)

SOURCE = "twelvedata"
BASE_URL = "https://api.twelvedata.com"
KEY_VARIABLE = "TWELVEDATA_API_KEY"
_INTERVALS = {
    Timeframe.M1: "1min",
    Timeframe.M5: "5min",
    Timeframe.M15: "15min",
    Timeframe.H1: "1h",
    Timeframe.D1: "1day",
}


def vendor_symbol(symbol: str) -> str:
    """EURUSD -> EUR/USD, BTCUSD -> BTC/USD, AAPL -> AAPL."""
    if instrument_for(symbol).asset_class in (AssetClass.FX, AssetClass.CRYPTO):
        return f"{symbol[:-3]}/{symbol[-3:]}"
    return symbol


class TwelveDataQuote(msgspec.Struct, frozen=True):
    """``/quote``: the fields used (its quote has no book)."""

    close: Decimal
    timestamp: int | None = None
    volume: Decimal | None = None


class TwelveDataValue(msgspec.Struct, frozen=True):
    """One row of ``/time_series``, in the time zone asked for (UTC)."""

    at: datetime = msgspec.field(name="datetime")
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal | None = None


class TwelveDataSeries(msgspec.Struct, frozen=True):
    """``/time_series``: rows newest first."""

    values: list[TwelveDataValue] = []


def _checked(document: Any) -> Any:
    if isinstance(document, dict) and document.get("status") == "error":
        code = int(document.get("code", 0))
        kind = TransientSourceError if code == 429 or code >= 500 else SourceUnavailable
        raise kind(f"twelvedata {code}: {document.get('message')}")
    return document


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class TwelveDataSource(HttpSource):
    """Quotes (last price: Twelve Data's quote has no book) and bars; times asked in UTC."""

    name = SOURCE

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        base_url: str = BASE_URL,
    ) -> None:
        super().__init__(client=client, clock=clock, base_url=base_url)

    async def latest_quote(self, symbol: Symbol) -> QuoteReceived:
        document = await get_json(
            self._client,
            f"{self._base}/quote",
            {"symbol": vendor_symbol(symbol), "apikey": api_key(KEY_VARIABLE)},
        )
        doc = parse(_checked(document), TwelveDataQuote, SOURCE)
        last = price(symbol, doc.close)
        ts = datetime.fromtimestamp(doc.timestamp, tz=UTC) if doc.timestamp else self._clock.now()
        return QuoteReceived(
            symbol=symbol,
            bid=last,
            ask=last,
            last=last,
            volume=size(doc.volume),
            ts_event=ts,
            ts_init=self._clock.now(),
            source=SOURCE,
        )

    async def bars(
        self,
        symbol: Symbol,
        timeframe: Timeframe,
        start: datetime | None,
        end: datetime | None,
    ) -> list[BarClosed]:
        params: dict[str, Any] = {
            "symbol": vendor_symbol(symbol),
            "interval": _INTERVALS[timeframe],
            "timezone": "UTC",
            "apikey": api_key(KEY_VARIABLE),
        }
        if start:
            params["start_date"] = start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if end:
            params["end_date"] = end.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        document = await get_json(self._client, f"{self._base}/time_series", params)
        series = parse(_checked(document), TwelveDataSeries, SOURCE)
        width = timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
        now = self._clock.now()
        bars = [
            BarClosed(
                symbol=symbol,
                timeframe=timeframe,
                open=price(symbol, v.open),
                high=price(symbol, v.high),
                low=price(symbol, v.low),
                close=price(symbol, v.close),
                volume=size(v.volume),
                start=_utc(v.at),
                end=_utc(v.at) + width,
                source=SOURCE,
            )
            for v in series.values
        ]
        return sorted((b for b in bars if b.end <= now), key=lambda b: b.start)
