"""ccxt: public tickers and OHLCV of a crypto exchange, no keys (ccxt is imported lazily)."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from papertape.common.clock import Clock, SystemClock
from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.marketdata.aggregator import TransientSourceError
from papertape.marketdata.bars import TIMEFRAME_SECONDS
from papertape.marketdata.feeds.base import SourceUnavailable
from papertape.marketdata.feeds.live.transport import parse, price, size


def market_of(symbol: str, quote_alias: dict[str, str] | None = None) -> str:
    """``BTCUSD`` -> ``BTC/USD`` (``BTC/USDT`` with alias {"USD": "USDT"})."""
    if "/" in symbol:
        return symbol
    base, quote = symbol[:-3], symbol[-3:]
    return f"{base}/{(quote_alias or {}).get(quote, quote)}"


class CcxtTicker(msgspec.Struct, frozen=True, rename="camel"):
    """ccxt's unified ticker (the fields used; each is null when the exchange has none)."""

    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    timestamp: int | None
    bid_volume: Decimal | None = None
    ask_volume: Decimal | None = None


OhlcvRow = tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal | None]
"""ccxt's unified candle: [time in ms, open, high, low, close, volume]."""


def _ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


class CcxtSource:
    """One exchange through ccxt's async API; ``exchange`` may be injected (tests)."""

    def __init__(
        self,
        exchange_id: str = "kraken",
        *,
        exchange: Any | None = None,
        quote_alias: dict[str, str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = f"ccxt-{exchange_id}"
        self._exchange_id = exchange_id
        self._exchange = exchange
        self._alias = quote_alias
        self._clock = clock or SystemClock()

    def client(self) -> Any:
        """The ccxt exchange (built on first use)."""
        if self._exchange is None:
            try:
                module = importlib.import_module("ccxt.async_support")
            except ImportError as error:
                raise SourceUnavailable("ccxt is not installed (extra 'live')") from error
            self._exchange = getattr(module, self._exchange_id)({"enableRateLimit": True})
        return self._exchange

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self.client(), method)(*args, **kwargs)
        except SourceUnavailable:
            raise
        except Exception as error:  # ccxt's NetworkError, RateLimitExceeded, ExchangeError …
            transient = type(error).__name__ in {
                "NetworkError",
                "RequestTimeout",
                "RateLimitExceeded",
                "ExchangeNotAvailable",
                "DDoSProtection",
            }
            kind = TransientSourceError if transient else SourceUnavailable
            raise kind(f"{self.name} {method}: {error!r}") from error

    async def latest_quote(self, symbol: Symbol) -> QuoteReceived:
        answer = await self._call("fetch_ticker", market_of(symbol, self._alias))
        ticker = parse(answer, CcxtTicker, self.name)
        if ticker.bid is None or ticker.ask is None:
            raise SourceUnavailable(f"{self.name}: no bid/ask for {symbol}")
        ts = _ms(ticker.timestamp) if ticker.timestamp else self._clock.now()
        return QuoteReceived(
            symbol=symbol,
            bid=price(symbol, ticker.bid),
            ask=price(symbol, ticker.ask),
            bid_size=size(ticker.bid_volume),
            ask_size=size(ticker.ask_volume),
            last=price(symbol, ticker.last) if ticker.last is not None else None,
            ts_event=ts,
            ts_init=self._clock.now(),
            source=self.name,
        )

    async def bars(
        self,
        symbol: Symbol,
        timeframe: Timeframe,
        start: datetime | None,
        end: datetime | None,
    ) -> list[BarClosed]:
        since = int(start.timestamp() * 1000) if start else None
        answer = await self._call(
            "fetch_ohlcv", market_of(symbol, self._alias), timeframe.value, since=since
        )
        rows = parse(answer, list[OhlcvRow], self.name)
        width = timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
        bars = [
            BarClosed(
                symbol=symbol,
                timeframe=timeframe,
                open=price(symbol, o),
                high=price(symbol, h),
                low=price(symbol, lo),
                close=price(symbol, c),
                volume=size(v),
                start=_ms(t),
                end=_ms(t) + width,
                source=self.name,
            )
            for t, o, h, lo, c, v in rows
        ]
        now = self._clock.now()
        return [b for b in bars if b.end <= now and (end is None or b.start < end)]
