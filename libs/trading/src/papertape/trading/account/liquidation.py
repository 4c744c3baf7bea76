"""Closing positions at their marks without the venue: what a reset does before it starts over."""

from __future__ import annotations

from datetime import datetime

import msgspec

from papertape.contract.events.account import PositionClosed
from papertape.contract.events.orders import ExitReason, OrderSide, OrderType, TimeInForce
from papertape.contract.ids import AccountId, OrderId
from papertape.contract.money import ZERO
from papertape.trading.account.fills import FillOutcome, fill_position
from papertape.trading.account.state import AccountState, Order, Position


def closing_order(event: PositionClosed) -> Order:
    """The order a closing at the mark stands for (never placed: it fills as it is born)."""
    return Order(
        order_id=event.closing_id,
        symbol=event.symbol,
        side=event.side,
        quantity=event.quantity,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        reduce_only=True,
        reference_price=event.price,
        opening=False,
        placed_at=event.ts,
    )


def closing_outcome(position: Position, event: PositionClosed) -> FillOutcome:
    """What closing ``position`` as ``event`` says does to it (no fee: no venue was paid)."""
    return fill_position(
        position,
        closing_order(event),
        quantity=event.quantity,
        price=event.price,
        fee=ZERO,
        ts=event.ts,
        exit_reason=event.exit_reason,
        rate=event.rate,
    )


def positions_closed(
    state: AccountState, account_id: AccountId, ts: datetime, reason: ExitReason
) -> list[PositionClosed]:
    """One PositionClosed per open position (by symbol), each at the position's mark."""
    events: list[PositionClosed] = []
    cash = state.cash
    for symbol, position in sorted(state.positions.items()):
        draft = PositionClosed(
            account_id=account_id,
            ts=ts,
            symbol=symbol,
            side=OrderSide.SELL if position.quantity > 0 else OrderSide.BUY,
            quantity=abs(position.quantity),
            price=position.mark,
            exit_reason=reason,
            closing_id=OrderId(f"{reason}-{state.epoch + 1}-{symbol}"),
            realized_pnl=ZERO,
            cash_after=cash,
            rate=position.rate,
        )
        outcome = closing_outcome(position, draft)
        cash += outcome.cash_change
        events.append(
            msgspec.structs.replace(draft, realized_pnl=outcome.realized_pnl, cash_after=cash)
        )
    return events
