"""Deciding MoveExits: a position's stop-loss and take-profit moved in one decision.

The working exits of each role moved are cancelled (``cancel_order``), and the new ones are
decided against the state those cancellations leave by the rules of any order
(``place_order``): a reduce-only stop for the stop-loss, a reduce-only limit for the
take-profit, for the position's quantity. When a new exit is refused the whole move is, with one
CommandRejected and no cancellation, so a position never loses its stop to a replacement the
account would not take (a halted account, a price off the tick or on the wrong side of the
market). A move retried with its ``order_id`` decides nothing again: its exits' ids are known to
the account (``order_ids``), as a repeated PlaceOrder's is; a move refused recorded no id, so
asked again it is decided again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from papertape.contract.events.account import (
    AccountEvent,
    CancelOrder,
    CommandRejected,
    MoveExits,
    OrderRejected,
    PlaceOrder,
)
from papertape.contract.events.base import message_name
from papertape.contract.events.orders import OrderRole, OrderSide, OrderType, RejectReason
from papertape.contract.ids import OrderId
from papertape.contract.instruments import instrument_for
from papertape.trading.account.context import DecisionContext
from papertape.trading.account.evolve import replay
from papertape.trading.account.orders import stop_loss_id, take_profit_id
from papertape.trading.account.placement import cancel_order, place_order
from papertape.trading.account.risk import market_price
from papertape.trading.account.state import AccountState, Order


class _Move(NamedTuple):
    """One exit being moved: its role, the command's field, the new order's type, id and price."""

    role: OrderRole
    field: str
    order_type: OrderType
    order_id: OrderId
    price: Decimal


def _moves(cmd: MoveExits) -> list[_Move]:
    """The exits ``cmd`` moves, the stop-loss first."""
    given = (
        (OrderRole.STOP_LOSS, "stop_loss", OrderType.STOP, stop_loss_id, cmd.stop_loss),
        (OrderRole.TAKE_PROFIT, "take_profit", OrderType.LIMIT, take_profit_id, cmd.take_profit),
    )
    return [
        _Move(role, field, order_type, new_id(cmd.order_id), price)
        for role, field, order_type, new_id, price in given
        if price is not None
    ]


def move_exits(cmd: MoveExits, state: AccountState, context: DecisionContext) -> list[AccountEvent]:
    """OrderCancelled for the exits moved and OrderPlaced for the new ones, or one refusal."""
    moves = _moves(cmd)
    if any(move.order_id in state.order_ids for move in moves):
        return []
    if not moves:
        message = "give stop_loss, take_profit or both"
        return [_refused(cmd, context, RejectReason.INVALID_ORDER, message)]
    position = state.positions.get(cmd.symbol)
    if position is None or position.quantity == 0:
        message = f"account {cmd.account_id} holds no position in {cmd.symbol}"
        return [_refused(cmd, context, RejectReason.NO_POSITION, message)]
    exit_side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
    quantity = abs(position.quantity)
    placements = [_exit_order(cmd, move, exit_side, quantity) for move in moves]
    for move, placement in zip(moves, placements, strict=True):
        problem = _price_problem(move, placement, state, context)
        if problem is not None:
            return [_refused(cmd, context, RejectReason.INVALID_ORDER, problem)]
    events, after = _cancelled(cmd, moves, exit_side, state, context)
    for move, placement in zip(moves, placements, strict=True):
        decided = place_order(placement, after, context)
        refusal = next((e for e in decided if isinstance(e, OrderRejected)), None)
        if refusal is not None:
            message = f"{refusal.message} (the {move.field} is not moved)"
            return [_refused(cmd, context, refusal.reason_code, message)]
        events += decided
        after = replay(decided, after)
    return events


def _cancelled(
    cmd: MoveExits,
    moves: list[_Move],
    exit_side: OrderSide,
    state: AccountState,
    context: DecisionContext,
) -> tuple[list[AccountEvent], AccountState]:
    """The cancellations of the exits moved, and the state they leave."""
    events: list[AccountEvent] = []
    after = state
    for move in moves:
        for order in exits_of(state, cmd, exit_side, move.role):
            if order.order_id not in after.orders:
                continue  # ended with one cancelled before it
            reason = cmd.reason or f"{move.field} moved to {move.price}"
            cancel = CancelOrder(account_id=cmd.account_id, order_id=order.order_id, reason=reason)
            cancelled = cancel_order(cancel, after, context)
            events += cancelled
            after = replay(cancelled, after)
    return events, after


def exits_of(
    state: AccountState, cmd: MoveExits, exit_side: OrderSide, role: OrderRole
) -> list[Order]:
    """The position's working exits of ``role`` on its closing side: bracket children of orders
    that filled, and reduce-only orders (a stop or trailing stop is a stop-loss, a limit a
    take-profit)."""
    return [
        order
        for order in state.orders.values()
        if order.symbol == cmd.symbol and order.side is exit_side and _role(state, order) is role
    ]


def _role(state: AccountState, order: Order) -> OrderRole | None:
    if order.role is not OrderRole.ENTRY:
        parent = state.orders.get(order.parent_order_id) if order.parent_order_id else None
        # The children of an entry still waiting to fill protect that entry, not the position.
        return None if parent is not None and parent.filled_quantity == 0 else order.role
    if not order.reduce_only:
        return None
    if order.order_type in (OrderType.STOP, OrderType.TRAILING_STOP):
        return OrderRole.STOP_LOSS
    if order.order_type is OrderType.LIMIT:
        return OrderRole.TAKE_PROFIT
    return None


def _price_problem(
    move: _Move, placement: PlaceOrder, state: AccountState, context: DecisionContext
) -> str | None:
    """An exit's price off the tick, or on the wrong side of the market (a long's stop-loss above
    it would close the position at the next quote), in the words of the command's field."""
    price = move.price
    instrument = instrument_for(placement.symbol)
    if price <= 0 or instrument.price(price) != price:
        return f"{move.field} {price} is not a positive multiple of the tick {instrument.tick_size}"
    market = market_price(state, context, placement)
    if market is None:
        return None  # place_order sizes an exit at its own price: no market, no side to judge
    below = move.role is OrderRole.STOP_LOSS
    # A sell exit protects a long: its stop below the market, its target above; a buy's mirrored.
    sign = 1 if placement.side is OrderSide.SELL else -1
    if (market - price) * sign * (1 if below else -1) <= 0:
        return f"{move.field} {price} is on the wrong side of the mark {market}"
    return None


def _exit_order(cmd: MoveExits, move: _Move, side: OrderSide, quantity: Decimal) -> PlaceOrder:
    return PlaceOrder(
        account_id=cmd.account_id,
        order_id=move.order_id,
        symbol=cmd.symbol,
        side=side,
        quantity=quantity,
        order_type=move.order_type,
        stop_price=move.price if move.order_type is OrderType.STOP else None,
        limit_price=move.price if move.order_type is OrderType.LIMIT else None,
        reduce_only=True,
        source=cmd.source,
    )


def _refused(
    cmd: MoveExits, context: DecisionContext, reason: RejectReason, message: str
) -> AccountEvent:
    return CommandRejected(
        account_id=cmd.account_id,
        ts=context.now,
        command=message_name(MoveExits),
        reason_code=reason,
        message=message,
    )
