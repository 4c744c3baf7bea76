"""How precisely each kind of number leaves the domain: the one table, and the rounding.

Inside the domain numbers keep full precision (28 digits); a reply, a CSV line or the command
line shows them at these precisions: money at its currency's minor unit, prices at the
instrument's tick, quantities at its lot, percentages, ratios and R-multiples at the decimals
stated here. Zero is never negative and nothing is written with an exponent: every stated
precision is at most six decimals, the last place Python's ``str(Decimal)`` (which msgspec
uses) still writes without one.
"""

from __future__ import annotations

import math
from decimal import Decimal

from papertape.contract.instruments import crypto, instrument_for
from papertape.contract.money import quantize_places

MAX_DECIMALS = 6
"""``str(Decimal)`` switches to exponent notation below 1e-6 (``Decimal('1E-7')``)."""

CURRENCY_DECIMALS: dict[str, int] = {
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}
"""ISO 4217 minor units that are not two decimals (every other currency has two)."""
FIAT_DECIMALS = 2
COINS = frozenset({"BTC", "XBT", "ETH", "SOL", "XRP", "LTC", "ADA", "DOT", "BNB", "DOGE"})
"""Coins as a base currency (stablecoins such as USDT stand for dollars: in cents)."""
COIN_DECIMALS = crypto("COINUSD").quantity_precision
"""A coin as a currency: as precise as the crypto instruments' lot."""

PERCENT_DECIMALS = 2
"""Percentages (returns, drawdowns, win rate, exposure, trail percent): 12.34%."""
RATIO_DECIMALS = 4
"""Ratios without a unit (Sharpe, Sortino, Calmar, profit factor)."""
R_MULTIPLE_DECIMALS = 2
"""R-multiples: net P&L over the initial risk to the stop."""
PIPS_DECIMALS = 1
"""FX price moves in pips (a tenth of a pip is the fractional pip)."""
SECONDS_DECIMALS = 3
"""Durations in seconds (holding time, drawdown duration): milliseconds."""

_FLOAT_DIGITS = 15
"""A float converted to a Decimal keeps the digits a double holds for sure."""
_FLOAT_LIMIT = 1e15
"""A statistic this large (a CAGR over a few days) says nothing and would not fit 28 digits."""


def currency_decimals(currency: str) -> int:
    """The minor unit of a currency: ISO 4217 for fiat and stablecoins, else a coin's."""
    code = currency.upper()
    if code in CURRENCY_DECIMALS:
        return CURRENCY_DECIMALS[code]
    return COIN_DECIMALS if code in COINS else FIAT_DECIMALS


def plain(value: Decimal) -> Decimal:
    """The value without a negative zero (``-0.00`` becomes ``0.00``)."""
    return value.copy_abs() if value.is_zero() else value


def money(value: Decimal, currency: str) -> Decimal:
    """An amount at its currency's minor unit."""
    return plain(quantize_places(value, currency_decimals(currency)))


def price(value: Decimal, symbol: str) -> Decimal:
    """A price at the instrument's tick."""
    return plain(instrument_for(symbol).price(value))


def quantity(value: Decimal, symbol: str) -> Decimal:
    """A quantity at the instrument's lot."""
    return plain(instrument_for(symbol).quantity(value))


def percent(value: Decimal) -> Decimal:
    """A percentage at ``PERCENT_DECIMALS``."""
    return plain(quantize_places(value, PERCENT_DECIMALS))


def ratio(value: Decimal) -> Decimal:
    """A unitless ratio at ``RATIO_DECIMALS``."""
    return plain(quantize_places(value, RATIO_DECIMALS))


def r_multiple(value: Decimal) -> Decimal:
    """An R-multiple at ``R_MULTIPLE_DECIMALS``."""
    return plain(quantize_places(value, R_MULTIPLE_DECIMALS))


def pips(value: Decimal) -> Decimal:
    """A move in pips at ``PIPS_DECIMALS``."""
    return plain(quantize_places(value, PIPS_DECIMALS))


def seconds(value: float) -> float:
    """A duration in seconds at ``SECONDS_DECIMALS`` (a float, as durations are)."""
    return round(value, SECONDS_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def from_float(value: float | None) -> Decimal | None:
    """A statistic computed in floats as a Decimal; None when missing, not finite or absurd."""
    if value is None or not math.isfinite(value) or abs(value) >= _FLOAT_LIMIT:
        return None
    return Decimal(format(value, f".{_FLOAT_DIGITS}g"))
