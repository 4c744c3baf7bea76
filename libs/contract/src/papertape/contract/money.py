"""Decimal arithmetic for money, prices and quantities: 28 digits, banker's rounding."""

from __future__ import annotations

import decimal
import functools
from decimal import ROUND_HALF_EVEN, Decimal

DECIMAL_CONTEXT = decimal.Context(prec=28, rounding=ROUND_HALF_EVEN)

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Exact conversion of an int, a string or a Decimal; floats are refused on purpose."""
    if isinstance(value, float):
        raise TypeError("floats are not money: pass a str or a Decimal")
    return DECIMAL_CONTEXT.create_decimal(value)


@functools.lru_cache(maxsize=1024)  # an instrument's ticks and lots are few
def _power_of_ten(step: Decimal) -> bool:
    return step.as_tuple().digits == (1,)


def quantize_to(value: Decimal, step: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round to a multiple of `step` (a tick or a lot), half to even unless told otherwise."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    if _power_of_ten(step):  # a tick of 0.01 or a lot of 1: rounding to its exponent is all
        return value.quantize(step, rounding=rounding, context=DECIMAL_CONTEXT)
    # The module's context, not the thread's: another thread may not have ours.
    units = DECIMAL_CONTEXT.divide(value, step).to_integral_value(
        rounding=rounding, context=DECIMAL_CONTEXT
    )
    return DECIMAL_CONTEXT.multiply(units, step).quantize(step, context=DECIMAL_CONTEXT)


_EXPONENTS = {places: Decimal(1).scaleb(-places) for places in range(-18, 19)}


def quantize_places(value: Decimal, places: int) -> Decimal:
    """Round to a number of decimal places, half to even."""
    exponent = _EXPONENTS.get(places) or Decimal(1).scaleb(-places)
    return value.quantize(exponent, rounding=ROUND_HALF_EVEN, context=DECIMAL_CONTEXT)


def money(value: Decimal, places: int = 2) -> Decimal:
    """A cash amount rounded to its currency's minor unit."""
    return quantize_places(value, places)


def pct(part: Decimal, whole: Decimal) -> Decimal:
    """`part` as a percentage of `whole` (0 when whole is 0)."""
    if whole == 0:
        return ZERO
    return DECIMAL_CONTEXT.divide(DECIMAL_CONTEXT.multiply(part, HUNDRED), whole)
