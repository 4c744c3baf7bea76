"""What is left to close: a position less what working orders close of it already.

An order placed against a position closes what is left of it and opens the rest. "What is left"
is the position less the closing parts of the working orders on the same side, so five sells of
a 90-share long close it once: the first closes 90, each other one opens 90 and is checked as an
entry (reserve, limits). Reduce-only orders are left out of the count: they never go beyond the
position (the venue clips them to what is held and the account refuses a fill that would), and a
bracket's two legs would otherwise turn every manual exit into an opening order. An order that
does go beyond the position when it fills, because something else closed it first, is checked
at fill time (``buying_power``).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from papertape.contract.events.account import OrderPlaced
from papertape.contract.events.orders import OrderSide
from papertape.contract.ids import Symbol
from papertape.contract.money import ZERO
from papertape.trading.account.state import AccountState, Order


def held(state: AccountState, symbol: Symbol) -> Decimal:
    """The signed position in a symbol (0 when flat)."""
    position = state.positions.get(symbol)
    return position.quantity if position is not None else ZERO


def closable(state: AccountState, symbol: Symbol, side: OrderSide) -> Decimal:
    """What of the position an order on ``side`` can close: all of it (the opposite side)."""
    position = held(state, symbol)
    return abs(position) if position * side.sign < 0 else ZERO


def _working(state: AccountState, symbol: Symbol, side: OrderSide) -> Iterator[Order]:
    """The working orders on ``side`` of a symbol that are not reduce-only."""
    return (
        o
        for o in state.orders.values()
        if o.symbol == symbol and o.side is side and not o.reduce_only
    )


def committed(state: AccountState, symbol: Symbol, side: OrderSide) -> Decimal:
    """The closing parts of the working orders on ``side`` that are not reduce-only."""
    return sum((o.closing_remaining for o in _working(state, symbol, side)), ZERO)


def left_to_close(state: AccountState, symbol: Symbol, side: OrderSide) -> Decimal:
    """What of the position a new order on ``side`` may still close."""
    can_close = closable(state, symbol, side)
    if can_close == 0:
        return ZERO  # flat, or adding: no need to go through the working orders
    return max(ZERO, can_close - committed(state, symbol, side))


def working_on_side(state: AccountState, symbol: Symbol, side: OrderSide) -> Decimal:
    """What the working orders on ``side`` (not reduce-only) would still trade."""
    return sum((o.remaining for o in _working(state, symbol, side)), ZERO)


def placed_opening(event: OrderPlaced) -> Decimal:
    """The opening part an OrderPlaced recorded (older events: all of it, or none)."""
    if event.opening_quantity is not None:
        return event.opening_quantity
    return event.quantity if event.opening else ZERO
