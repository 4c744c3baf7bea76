"""The market as the matcher sees it: points from quotes, and a bar walked as a path of points."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from papertape.contract.events.execution import TriggerSource
from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.contract.money import ZERO

_TWO = Decimal(2)


class Point(msgspec.Struct, frozen=True, kw_only=True):
    """One instant: the touch on each side, the reference (mid) and the trigger price.

    A struct, not a frozen dataclass: one is built on every bar walked and at every level
    reached on its path, and a frozen dataclass sets each of its ten fields through
    ``object.__setattr__``."""

    ts: datetime
    bid: Decimal
    ask: Decimal
    mid: Decimal
    trigger: Decimal
    bid_size: Decimal = ZERO
    ask_size: Decimal = ZERO
    volume: Decimal = ZERO
    """Volume behind the point (a bar's), for impact models; zero when unknown."""
    range_fraction: Decimal = ZERO
    """A bar's (high - low) / open: the square-root model's volatility."""
    from_bar: bool = False

    def touch(self, sign: int) -> Decimal:
        """Where a taker trades: the ask for a buy, the bid for a sell."""
        return self.ask if sign > 0 else self.bid

    def size(self, sign: int) -> Decimal:
        """The displayed size on the side a taker would take."""
        return self.ask_size if sign > 0 else self.bid_size

    def at(self, price: Decimal) -> Point:
        """The same instant on a bar's path at another price."""
        return Point(
            ts=self.ts,
            bid=price,
            ask=price,
            mid=price,
            trigger=price,
            volume=self.volume,
            range_fraction=self.range_fraction,
            from_bar=True,
        )


def quote_point(quote: QuoteReceived, source: TriggerSource) -> Point:
    """A quote as a point; stops trigger on the chosen price (LAST falls back to the mid)."""
    mid = (quote.bid + quote.ask) / _TWO
    if source is TriggerSource.BID:
        trigger = quote.bid
    elif source is TriggerSource.ASK:
        trigger = quote.ask
    elif source is TriggerSource.LAST and quote.last is not None:
        trigger = quote.last
    else:
        trigger = mid
    return Point(
        ts=quote.ts_event,
        bid=quote.bid,
        ask=quote.ask,
        mid=mid,
        trigger=trigger,
        bid_size=quote.bid_size,
        ask_size=quote.ask_size,
    )


def bar_path(bar: BarClosed) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Open, then the nearer of high and low (low on a tie), then the other, then close."""
    if bar.high - bar.open < bar.open - bar.low:
        return bar.open, bar.high, bar.low, bar.close
    return bar.open, bar.low, bar.high, bar.close


def bar_point(bar: BarClosed) -> Point:
    """The bar's open as a point (its path's start); fills on the bar are stamped at its end."""
    spread = bar.high - bar.low
    fraction = spread / bar.open if bar.open > 0 else ZERO
    return Point(
        ts=bar.end,
        bid=bar.open,
        ask=bar.open,
        mid=bar.open,
        trigger=bar.open,
        volume=bar.volume,
        range_fraction=fraction,
        from_bar=True,
    )
