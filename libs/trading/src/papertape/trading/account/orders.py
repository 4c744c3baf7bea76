"""Order validation and the events of a placed order, brackets included."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from papertape.contract.events.account import OrderPlaced, OrderRejected, PlaceOrder
from papertape.contract.events.orders import (
    OrderRole,
    OrderSide,
    OrderType,
    RejectReason,
    TimeInForce,
)
from papertape.contract.ids import OrderId
from papertape.contract.instruments import instrument_for
from papertape.contract.money import ZERO
from papertape.trading.account.risk import OrderPlan, Refusal

_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9./_-]{0,31}$")
_NEEDS_LIMIT = (OrderType.LIMIT, OrderType.STOP_LIMIT)
_NEEDS_STOP = (OrderType.STOP, OrderType.STOP_LIMIT)


def stop_loss_id(order_id: OrderId) -> OrderId:
    """The id of a bracket's stop-loss child."""
    return OrderId(f"{order_id}-sl")


def take_profit_id(order_id: OrderId) -> OrderId:
    """The id of a bracket's take-profit child."""
    return OrderId(f"{order_id}-tp")


def validate_order(cmd: PlaceOrder, now: datetime) -> Refusal | None:
    """The first thing wrong with an order's shape, or None."""
    if not _SYMBOL.match(cmd.symbol):
        return Refusal(RejectReason.UNKNOWN_SYMBOL, f"unknown symbol {cmd.symbol!r}")
    problem = _shape_problem(cmd, now)
    return None if problem is None else Refusal(RejectReason.INVALID_ORDER, problem)


def _shape_problem(cmd: PlaceOrder, now: datetime) -> str | None:
    instrument = instrument_for(cmd.symbol)
    if cmd.quantity <= 0:
        return "quantity must be positive"
    if instrument.quantity(cmd.quantity) != cmd.quantity or cmd.quantity < instrument.min_quantity:
        return f"quantity {cmd.quantity} is not a multiple of the lot {instrument.lot_size}"
    if (cmd.limit_price is not None) != (cmd.order_type in _NEEDS_LIMIT):
        return f"a {cmd.order_type} order {_needs(cmd.order_type in _NEEDS_LIMIT)} limit price"
    if (cmd.stop_price is not None) != (cmd.order_type in _NEEDS_STOP):
        return f"a {cmd.order_type} order {_needs(cmd.order_type in _NEEDS_STOP)} stop price"
    trailing = cmd.order_type is OrderType.TRAILING_STOP
    trails = (cmd.trail_amount is not None) + (cmd.trail_percent is not None)
    if trails != (1 if trailing else 0):
        return "a trailing stop needs exactly one of trail_amount and trail_percent"
    # Off the tick or the lot is refused, never rounded: the trader asked for that number.
    for name in ("limit_price", "stop_price", "stop_loss", "take_profit", "trail_amount"):
        price: Decimal | None = getattr(cmd, name)
        if price is not None and (price <= 0 or instrument.price(price) != price):
            return f"{name} {price} is not a positive multiple of the tick {instrument.tick_size}"
    if cmd.trail_percent is not None and cmd.trail_percent <= 0:
        return "trail_percent must be positive"
    if (cmd.time_in_force is TimeInForce.GTD) != (cmd.expire_at is not None):
        return "expire_at goes with time in force GTD, and only with it"
    if cmd.expire_at is not None and cmd.expire_at <= now:
        return "expire_at is in the past"
    if cmd.reduce_only and (cmd.stop_loss is not None or cmd.take_profit is not None):
        return "a reduce-only order cannot carry a bracket"
    return None


def _needs(needed: bool) -> str:
    return "needs a" if needed else "takes no"


def bracket_problem(cmd: PlaceOrder, price: Decimal, opening: Decimal) -> str | None:
    """What is wrong with an order's stop-loss and take-profit, given its reference price."""
    if cmd.stop_loss is None and cmd.take_profit is None:
        return None
    if opening == 0:
        return "a bracket needs an order that opens a position"
    sign = cmd.side.sign
    if cmd.stop_loss is not None and (price - cmd.stop_loss) * sign <= 0:
        return f"stop_loss {cmd.stop_loss} is on the wrong side of {price}"
    if cmd.take_profit is not None and (cmd.take_profit - price) * sign <= 0:
        return f"take_profit {cmd.take_profit} is on the wrong side of {price}"
    return None


def rejected(cmd: PlaceOrder, refusal: Refusal, now: datetime) -> OrderRejected:
    """The event of a refused order."""
    return OrderRejected(
        account_id=cmd.account_id,
        ts=now,
        order_id=cmd.order_id,
        client_order_id=cmd.client_order_id,
        symbol=cmd.symbol,
        side=cmd.side,
        quantity=cmd.quantity,
        reason_code=refusal.reason,
        message=refusal.message,
    )


def placed(cmd: PlaceOrder, plan: OrderPlan, now: datetime) -> list[OrderPlaced]:
    """The events of an accepted order: the order, then its bracket children (reduce-only)."""
    events = [
        OrderPlaced(
            account_id=cmd.account_id,
            ts=now,
            order_id=cmd.order_id,
            client_order_id=cmd.client_order_id,
            symbol=cmd.symbol,
            side=cmd.side,
            quantity=cmd.quantity,
            order_type=cmd.order_type,
            limit_price=cmd.limit_price,
            stop_price=cmd.stop_price,
            trail_amount=cmd.trail_amount,
            trail_percent=cmd.trail_percent,
            time_in_force=cmd.time_in_force,
            expire_at=cmd.expire_at,
            stop_loss=cmd.stop_loss,
            take_profit=cmd.take_profit,
            reduce_only=cmd.reduce_only,
            source=cmd.source,
            reference_price=plan.reference_price,
            reserved=plan.reserved,
            opening=plan.opening_quantity > 0,
            rate=plan.rate,
            opening_quantity=plan.opening_quantity,
        )
    ]
    exit_side: OrderSide = cmd.side.opposite
    children = (
        (OrderRole.STOP_LOSS, stop_loss_id(cmd.order_id), OrderType.STOP, cmd.stop_loss),
        (OrderRole.TAKE_PROFIT, take_profit_id(cmd.order_id), OrderType.LIMIT, cmd.take_profit),
    )
    for role, child_id, order_type, price in children:
        if price is None:
            continue
        events.append(
            OrderPlaced(
                account_id=cmd.account_id,
                ts=now,
                order_id=child_id,
                symbol=cmd.symbol,
                side=exit_side,
                quantity=plan.opening_quantity,
                order_type=order_type,
                limit_price=price if order_type is OrderType.LIMIT else None,
                stop_price=price if order_type is OrderType.STOP else None,
                time_in_force=TimeInForce.GTC,
                reduce_only=True,
                role=role,
                parent_order_id=cmd.order_id,
                source=cmd.source,
                reference_price=price,
                opening=False,
                rate=plan.rate,
                opening_quantity=ZERO,
            )
        )
    return events
