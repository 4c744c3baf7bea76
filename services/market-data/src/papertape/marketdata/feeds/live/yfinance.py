"""Yahoo Finance through yfinance (imported lazily, in a thread: it blocks)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from papertape.common.clock import Clock, SystemClock
from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.contract.instruments import AssetClass, instrument_for
from papertape.marketdata.aggregator import TransientSourceError
from papertape.marketdata.bars import TIMEFRAME_SECONDS
from papertape.marketdata.feeds.base import SourceUnavailable, VendorShapeChanged
from papertape.marketdata.feeds.live.transport import parse, price, size

SOURCE = "yfinance"
_INTERVALS = {
    Timeframe.M1: "1m",
    Timeframe.M5: "5m",
    Timeframe.M15: "15m",
    Timeframe.H1: "60m",
    Timeframe.D1: "1d",
}

QuoteFetch = Callable[[str], dict[str, Any]]
"""Yahoo's quote fields of a ticker (``Ticker(t).info``): bid, ask, bidSize, regularMarketTime …"""
HistoryFetch = Callable[[str, str, datetime | None, datetime | None], list[dict[str, Any]]]
"""Rows of ``Ticker(t).history(...)`` with the index reset: Datetime/Date, Open, High, Low …"""


class YahooQuote(msgspec.Struct, frozen=True, rename="camel"):
    """The fields of ``Ticker(t).info`` used (Yahoo leaves out what a ticker does not have)."""

    regular_market_price: Decimal | None = None
    current_price: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    regular_market_time: int | None = None


class YahooBar(msgspec.Struct, frozen=True, rename="pascal"):
    """A row of ``Ticker(t).history(...)``: intraday rows have a ``Datetime``, daily a ``Date``."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    at: datetime | None = msgspec.field(name="Datetime", default=None)
    day: datetime | None = msgspec.field(name="Date", default=None)
    volume: Decimal | None = None


def ticker_of(symbol: str) -> str:
    """Yahoo's ticker: EURUSD -> EURUSD=X, BTCUSD -> BTC-USD, AAPL -> AAPL."""
    asset_class = instrument_for(symbol).asset_class
    if asset_class is AssetClass.FX:
        return f"{symbol}=X"
    if asset_class is AssetClass.CRYPTO:
        return f"{symbol[:-3]}-{symbol[-3:]}"
    return symbol


def _yf() -> Any:
    try:
        return importlib.import_module("yfinance")
    except ImportError as error:
        raise SourceUnavailable("yfinance is not installed (extra 'live')") from error


def _fetch_quote(ticker: str) -> dict[str, Any]:
    return dict(_yf().Ticker(ticker).info)


def _fetch_history(
    ticker: str, interval: str, start: datetime | None, end: datetime | None
) -> list[dict[str, Any]]:
    frame = _yf().Ticker(ticker).history(interval=interval, start=start, end=end)
    rows = frame.reset_index().to_dict("records")
    # pandas' Timestamps are datetimes that msgspec does not take as such: plain ones then.
    return [
        {k: v.to_pydatetime() if hasattr(v, "to_pydatetime") else v for k, v in row.items()}
        for row in rows
    ]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class YFinanceSource:
    """Quotes and bars from Yahoo; the fetch functions may be injected (tests)."""

    name = SOURCE

    def __init__(
        self,
        *,
        fetch_quote: QuoteFetch | None = None,
        fetch_history: HistoryFetch | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._fetch_quote = fetch_quote or _fetch_quote
        self._fetch_history = fetch_history or _fetch_history
        self._clock = clock or SystemClock()

    async def _run(self, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.to_thread(call, *args)
        except SourceUnavailable:
            raise
        except Exception as error:  # requests' and curl's errors: worth another try
            raise TransientSourceError(f"yfinance: {error!r}") from error

    async def latest_quote(self, symbol: Symbol) -> QuoteReceived:
        info = parse(await self._run(self._fetch_quote, ticker_of(symbol)), YahooQuote, SOURCE)
        last = info.regular_market_price or info.current_price
        bid, ask = info.bid or last, info.ask or last
        if bid is None or ask is None:
            raise SourceUnavailable(f"yfinance: no price for {symbol}")
        ts = (
            datetime.fromtimestamp(info.regular_market_time, tz=UTC)
            if info.regular_market_time
            else self._clock.now()
        )
        return QuoteReceived(
            symbol=symbol,
            bid=price(symbol, bid),
            ask=price(symbol, ask),
            bid_size=size(info.bid_size),
            ask_size=size(info.ask_size),
            last=price(symbol, last) if last is not None else None,
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
        answer = await self._run(
            self._fetch_history, ticker_of(symbol), _INTERVALS[timeframe], start, end
        )
        rows = parse(answer, list[YahooBar], SOURCE)
        width = timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
        now = self._clock.now()
        bars = []
        for row in rows:
            stamp = row.at or row.day
            if stamp is None:
                raise VendorShapeChanged(f"yfinance: a history row without a time: {row}")
            begin = _utc(stamp)
            if begin + width > now:
                continue  # the bar still forming
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
        return bars
