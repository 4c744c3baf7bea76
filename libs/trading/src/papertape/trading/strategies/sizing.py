"""Order sizing: how much a signal buys or sells, never more than the account's limits allow.

============================  ===========================================================
method                        quantity before the caps
============================  ===========================================================
``risk``                      equity x risk% / |entry - stop|
``confidence``                as ``risk``, times confidence / 100
``fixed_fraction``            equity x fraction% / entry
``fixed_quantity``            the quantity set
============================  ===========================================================

Caps, the smallest wins: the account's ``max_position_pct`` of equity in notional, its
``max_risk_per_trade_pct`` of equity at risk to the stop, and its buying power. The result is
rounded **down** to the instrument's lot (rounding up could break a cap); below one lot, or below
the instrument's minimum, it is 0 (the signal is not traded).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from papertape.contract.events.sessions import RiskSettings, Sizing
from papertape.contract.instruments import Instrument
from papertape.contract.money import DECIMAL_CONTEXT, quantize_to

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class AccountRoom:
    """What the account allows an order (from its summary): equity, limits, buying power."""

    equity: Decimal
    buying_power: Decimal
    max_position_pct: Decimal = Decimal(100)
    max_risk_per_trade_pct: Decimal = Decimal(100)


def _div(a: Decimal, b: Decimal) -> Decimal:
    return DECIMAL_CONTEXT.divide(a, b)


def order_quantity(
    risk: RiskSettings,
    instrument: Instrument,
    room: AccountRoom,
    *,
    entry: Decimal,
    stop: Decimal | None,
    confidence: int,
) -> Decimal:
    """The quantity to trade (0: none), by the session's sizing method, capped and lot-rounded."""
    if entry <= 0 or room.equity <= 0:
        return ZERO
    distance = abs(entry - stop) if stop is not None else ZERO
    if risk.sizing in (Sizing.RISK, Sizing.CONFIDENCE):
        if distance <= 0:
            return ZERO
        wanted = _div(room.equity * risk.risk_per_trade_pct / HUNDRED, distance)
        if risk.sizing is Sizing.CONFIDENCE:
            wanted = wanted * Decimal(confidence) / HUNDRED
    elif risk.sizing is Sizing.FIXED_FRACTION:
        wanted = _div(room.equity * risk.fraction_pct / HUNDRED, entry)
    else:
        wanted = risk.quantity
    caps = [
        _div(room.equity * room.max_position_pct / HUNDRED, entry),
        _div(max(room.buying_power, ZERO), entry),
    ]
    if distance > 0:
        caps.append(_div(room.equity * room.max_risk_per_trade_pct / HUNDRED, distance))
    quantity = quantize_to(min(wanted, *caps), instrument.lot_size, ROUND_FLOOR)
    if quantity < max(instrument.lot_size, instrument.min_quantity):
        return ZERO
    return quantity
