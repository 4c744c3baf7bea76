"""Bars from quotes, trades and smaller bars: 1m, 5m, 15m, 1h and 1d, closed as time moves on.

Intervals are aligned on the UTC epoch (a 1d bar runs from 00:00 to 24:00 UTC). A bar closes when
a tick of a later interval arrives or when ``close_due(now)`` is called past its end; a tick
older than the bar being built is ignored (counted in ``late_ticks``). Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from papertape.contract.events.market import BarClosed, QuoteReceived, Timeframe
from papertape.contract.ids import Symbol
from papertape.contract.instruments import instrument_for
from papertape.marketdata.feeds.base import Trade

TIMEFRAME_SECONDS: dict[Timeframe, int] = {
    Timeframe.M1: 60,
    Timeframe.M5: 300,
    Timeframe.M15: 900,
    Timeframe.H1: 3600,
    Timeframe.D1: 86400,
}
ALL_TIMEFRAMES: tuple[Timeframe, ...] = tuple(TIMEFRAME_SECONDS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bar_start(ts: datetime, timeframe: Timeframe) -> datetime:
    """The start of the interval of ``timeframe`` that contains ``ts``."""
    width = TIMEFRAME_SECONDS[timeframe]
    seconds = int((ts - _EPOCH).total_seconds() // width) * width
    return _EPOCH + timedelta(seconds=seconds)


class _Building:
    """A bar still open."""

    __slots__ = ("close", "end", "high", "in_session", "low", "open", "source", "start", "volume")

    def __init__(self, start: datetime, end: datetime, price: Decimal, source: str) -> None:
        self.start, self.end, self.source = start, end, source
        self.open = self.high = self.low = self.close = price
        self.volume = Decimal(0)
        self.in_session = False

    def add(
        self, high: Decimal, low: Decimal, close: Decimal, volume: Decimal, in_session: bool
    ) -> None:
        if high > self.high:
            self.high = high
        if low < self.low:
            self.low = low
        self.close = close
        self.volume += volume
        self.in_session = self.in_session or in_session

    def closed(self, symbol: Symbol, timeframe: Timeframe) -> BarClosed:
        return BarClosed(
            symbol=symbol,
            timeframe=timeframe,
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=self.volume,
            start=self.start,
            end=self.end,
            source=self.source,
            in_session=self.in_session,
        )


class BarAggregator:
    """Builds bars of several widths for every symbol it sees.

    Ticks build only the narrowest width; each of its closed bars is rolled up into the wider
    ones (every width is a multiple of the narrowest), so a tick costs one update, not five.
    """

    def __init__(self, timeframes: Iterable[Timeframe] = ALL_TIMEFRAMES) -> None:
        self.timeframes = tuple(sorted(set(timeframes), key=TIMEFRAME_SECONDS.__getitem__))
        if not self.timeframes:
            raise ValueError("a bar aggregator needs at least one timeframe")
        self.base = self.timeframes[0]
        self._base_width = timedelta(seconds=TIMEFRAME_SECONDS[self.base])
        self._open: dict[tuple[Symbol, Timeframe], _Building] = {}
        self.late_ticks = 0

    def on_quote(self, quote: QuoteReceived) -> list[BarClosed]:
        """Add a quote: its last trade when it has one, else its mid rounded to the tick."""
        price = quote.last
        if price is None:
            price = instrument_for(quote.symbol).price((quote.bid + quote.ask) / 2)
        return self._tick(
            quote.symbol, quote.ts_event, price, quote.volume, quote.source, quote.in_session
        )

    def on_trade(self, trade: Trade, in_session: bool = True) -> list[BarClosed]:
        """Add a trade print."""
        return self._tick(
            trade.symbol, trade.ts_event, trade.price, trade.size, trade.source, in_session
        )

    def on_bar(self, bar: BarClosed) -> list[BarClosed]:
        """Roll a closed bar up into the wider timeframes it divides."""
        width = TIMEFRAME_SECONDS[bar.timeframe]
        wider = tuple(
            tf
            for tf in self.timeframes
            if TIMEFRAME_SECONDS[tf] > width and TIMEFRAME_SECONDS[tf] % width == 0
        )
        return self._add(
            bar.symbol,
            bar.start,
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
            bar.source,
            bar.in_session,
            wider,
            last_ts=bar.end,
        )

    def resume(self, bars: Iterable[BarClosed]) -> None:
        """Take up the wider bars that stored narrowest bars had begun (a restart), so each
        closes whole instead of from the restart on. Nothing is returned: a wider bar these
        bars complete was closed, and stored, when its last narrow bar closed."""
        for bar in bars:
            self.on_bar(bar)

    def close_due(self, now: datetime) -> list[BarClosed]:
        """Close every bar whose interval ended at or before ``now`` (narrowest first)."""
        closed: list[BarClosed] = []
        base_due = [k for k, b in self._open.items() if k[1] == self.base and b.end <= now]
        for key in base_due:
            closed += self._close_base(key)
        due = [key for key, building in self._open.items() if building.end <= now]
        closed += [self._open.pop(key).closed(*key) for key in due]
        return closed

    def _close_base(self, key: tuple[Symbol, Timeframe]) -> list[BarClosed]:
        bar = self._open.pop(key).closed(*key)
        return [bar, *self.on_bar(bar)]

    def _tick(
        self,
        symbol: Symbol,
        ts: datetime,
        price: Decimal,
        volume: Decimal,
        source: str,
        in_session: bool,
    ) -> list[BarClosed]:
        key = (symbol, self.base)
        building = self._open.get(key)
        closed: list[BarClosed] = []
        if building is not None:
            if ts < building.start:
                self.late_ticks += 1
                return closed
            if ts >= building.end:
                closed = self._close_base(key)
                building = None
        if building is None:
            start = bar_start(ts, self.base)
            building = self._open[key] = _Building(start, start + self._base_width, price, source)
        building.add(price, price, price, volume, in_session)
        return closed

    def _add(
        self,
        symbol: Symbol,
        ts: datetime,
        open_: Decimal,
        high: Decimal,
        low: Decimal,
        close: Decimal,
        volume: Decimal,
        source: str,
        in_session: bool,
        timeframes: tuple[Timeframe, ...],
        last_ts: datetime,
    ) -> list[BarClosed]:
        closed: list[BarClosed] = []
        for timeframe in timeframes:
            key = (symbol, timeframe)
            building = self._open.get(key)
            if building is not None and ts < building.start:
                self.late_ticks += 1
                continue
            if building is not None and ts >= building.end:
                closed.append(self._open.pop(key).closed(symbol, timeframe))
                building = None
            if building is None:
                start = bar_start(ts, timeframe)
                end = start + timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
                building = self._open[key] = _Building(start, end, open_, source)
            building.add(high, low, close, volume, in_session)
            if last_ts >= building.end:
                closed.append(self._open.pop(key).closed(symbol, timeframe))
        return closed
