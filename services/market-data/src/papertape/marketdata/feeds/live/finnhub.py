"""Finnhub: ``/quote`` and ``/stock/candle`` over HTTPS, key in ``FINNHUB_API_KEY``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import msgspec

from papertape.common.clock import Clock
from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
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

SOURCE = "finnhub"
BASE_URL = "https://finnhub.io/api/v1"
KEY_VARIABLE = "FINNHUB_API_KEY"
_RESOLUTIONS = {
    Timeframe.M1: "1",
    Timeframe.M5: "5",
    Timeframe.M15: "15",
    Timeframe.H1: "60",
    Timeframe.D1: "D",
}


class FinnhubQuote(msgspec.Struct, frozen=True):
    """``/quote``: current price and its time (``t`` is 0 for a symbol it does not know)."""

    c: Decimal
    t: int


class FinnhubCandles(msgspec.Struct, frozen=True):
    """``/stock/candle``: columns of equal length; ``s`` is ``ok`` or ``no_data``."""

    s: str
    t: list[int] = []
    o: list[Decimal] = []
    h: list[Decimal] = []
    l: list[Decimal] = []  # noqa: E741 - Finnhub's name for the lows
    c: list[Decimal] = []
    v: list[Decimal] = []


class FinnhubSource(HttpSource):
    """US equity quotes (last price: the free quote has no book) and candles."""

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
            self._client, f"{self._base}/quote", {"symbol": symbol, "token": api_key(KEY_VARIABLE)}
        )
        doc = parse(document, FinnhubQuote, SOURCE)
        if not doc.t:
            raise SourceUnavailable(f"finnhub: no quote for {symbol}")
        last = price(symbol, doc.c)
        return QuoteReceived(
            symbol=symbol,
            bid=last,
            ask=last,
            last=last,
            ts_event=datetime.fromtimestamp(doc.t, tz=UTC),
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
        now = self._clock.now()
        width = timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
        params: dict[str, Any] = {
            "symbol": symbol,
            "resolution": _RESOLUTIONS[timeframe],
            "from": int((start or now - 500 * width).timestamp()),
            "to": int((end or now).timestamp()),
            "token": api_key(KEY_VARIABLE),
        }
        document = await get_json(self._client, f"{self._base}/stock/candle", params)
        doc = parse(document, FinnhubCandles, SOURCE)
        if doc.s != "ok":
            return []
        try:
            rows = list(zip(doc.t, doc.o, doc.h, doc.l, doc.c, doc.v, strict=True))
        except ValueError as error:  # columns of different lengths
            raise VendorShapeChanged(f"finnhub: {error}") from error
        bars = []
        for t, o, h, lo, c, v in rows:
            begin = datetime.fromtimestamp(t, tz=UTC)
            if begin + width <= now:
                bars.append(
                    BarClosed(
                        symbol=symbol,
                        timeframe=timeframe,
                        open=price(symbol, o),
                        high=price(symbol, h),
                        low=price(symbol, lo),
                        close=price(symbol, c),
                        volume=size(v),
                        start=begin,
                        end=begin + width,
                        source=SOURCE,
                    )
                )
        return bars
