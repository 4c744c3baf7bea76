"""Market data checked where it enters: a price that cannot be the market is refused, with why.

The contract already refuses non-finite and negative numbers when a message is decoded; what is
left is what only makes sense against the market itself: zero prices, crossed quotes (bid above
ask), bars whose high and low do not hold their open and close, and absurd jumps beyond a band
around the last good price. A refused price never becomes the market (the venue's books and
the portfolio's marks keep the last good one); the shell counts and logs the refusal.

A real move beyond the band (a crash, a split, a feed that resumes after a long gap) is told
from a bad print by persistence: once ``REANCHOR_AFTER`` refused prices in a row agree with
each other (each within the band of the first), the market has moved, and the band re-anchors
on it (``JumpWatch``). One stray print, or prints that disagree, never move it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.contract.money import ZERO

DEFAULT_PRICE_BAND = Decimal("0.5")
"""A price more than 50% away from the last good one is refused (0 turns the check off)."""
REANCHOR_AFTER = 5
"""Refused prices in a row, agreeing with each other, that make the band re-anchor on them."""

_TWO = Decimal(2)


class Check(enum.StrEnum):
    """Which check refused the price (a metric label: a short, closed set)."""

    NON_POSITIVE = "non_positive"
    CROSSED = "crossed"
    INCONSISTENT_BAR = "inconsistent_bar"
    JUMP = "jump"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a quote or bar was not taken as the market."""

    check: Check
    reason: str


@dataclass(slots=True)
class JumpWatch:
    """A symbol's refused jumps in a row: the level they agree on and how many there were."""

    level: Decimal | None = None
    count: int = 0

    def confirms(self, price: Decimal, band: Decimal, needed: int = REANCHOR_AFTER) -> bool:
        """Count ``price`` (refused as a jump); True once ``needed`` in a row agree, which
        resets the watch (the caller re-anchors on the price)."""
        if self.level is not None and abs(price - self.level) / self.level <= band:
            self.count += 1
        else:
            self.level, self.count = price, 1
        if self.count < needed:
            return False
        self.clear()
        return True

    def clear(self) -> None:
        """A good price came: the refused ones before it were strays."""
        self.level, self.count = None, 0


def jump_price(event: QuoteReceived | BarClosed) -> Decimal:
    """The price the band is checked on: a quote's mid, a bar's open."""
    if isinstance(event, QuoteReceived):
        return (event.bid + event.ask) / _TWO
    return event.open


def quote_refusal(
    quote: QuoteReceived, last_good: Decimal | None, band: Decimal = DEFAULT_PRICE_BAND
) -> Refusal | None:
    """Why ``quote`` cannot be the market (None when it can); ``last_good`` is a mid or mark."""
    prices = (quote.bid, quote.ask) if quote.last is None else (quote.bid, quote.ask, quote.last)
    if any(price <= ZERO for price in prices):
        return Refusal(Check.NON_POSITIVE, f"{quote.symbol}: a price is not positive")
    if quote.bid > quote.ask:
        return Refusal(Check.CROSSED, f"{quote.symbol}: crossed, bid {quote.bid} > ask {quote.ask}")
    return _jump(str(quote.symbol), (quote.bid + quote.ask) / _TWO, last_good, band)


def bar_refusal(
    bar: BarClosed, last_good: Decimal | None, band: Decimal = DEFAULT_PRICE_BAND
) -> Refusal | None:
    """Why ``bar`` cannot be the market (None when it can); ``last_good`` is a close or mark."""
    open_, high, low, close = bar.open, bar.high, bar.low, bar.close
    if open_ <= ZERO or high <= ZERO or low <= ZERO or close <= ZERO:
        return Refusal(Check.NON_POSITIVE, f"{bar.symbol}: a price is not positive")
    if not (low <= open_ <= high and low <= close <= high):
        return Refusal(
            Check.INCONSISTENT_BAR,
            f"{bar.symbol}: low {bar.low} and high {bar.high} do not hold "
            f"open {bar.open} and close {bar.close}",
        )
    return _jump(str(bar.symbol), bar.open, last_good, band)


def _jump(symbol: str, price: Decimal, last_good: Decimal | None, band: Decimal) -> Refusal | None:
    if band <= ZERO or last_good is None or last_good <= ZERO:
        return None
    move = abs(price - last_good) / last_good
    if move <= band:
        return None
    return Refusal(
        Check.JUMP,
        f"{symbol}: {price} is {move * 100:.2f}% from the last good price {last_good} "
        f"(band {band * 100:.2f}%)",
    )
