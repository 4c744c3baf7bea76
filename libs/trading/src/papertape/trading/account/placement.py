"""Deciding PlaceOrder and CancelOrder: idempotency, validation, pre-trade risk, brackets."""

from __future__ import annotations

from datetime import datetime

from papertape.contract.events.account import (
    AccountEvent,
    CancelOrder,
    CircuitBreakerTripped,
    CommandRejected,
    OrderCancelled,
    PlaceOrder,
)
from papertape.contract.events.base import message_name
from papertape.contract.events.orders import RejectReason
from papertape.contract.ids import OrderId
from papertape.contract.instruments import instrument_for
from papertape.contract.money import ZERO
from papertape.trading.account.context import DecisionContext
from papertape.trading.account.marks import daily_loss_pct, trading_day_rolled
from papertape.trading.account.orders import bracket_problem, placed, rejected, validate_order
from papertape.trading.account.risk import (
    Refusal,
    check_entry,
    opening_quantity,
    placement_rate,
    plan_order,
    reference_price,
)
from papertape.trading.account.state import AccountState
from papertape.trading.account.valuation import decision_equity, decision_loss_pct


def place_order(
    cmd: PlaceOrder, state: AccountState, context: DecisionContext
) -> list[AccountEvent]:
    """OrderPlaced (with bracket children) or OrderRejected; nothing for a repeated order id."""
    now = context.now
    if cmd.order_id in state.order_ids:
        return []
    if not state.is_open:
        return [rejected(cmd, Refusal(RejectReason.ACCOUNT_NOT_OPEN, "no such account"), now)]
    if cmd.client_order_id is not None:
        earlier = state.client_order_ids.get(cmd.client_order_id)
        if earlier is not None:
            message = f"client order id {cmd.client_order_id} was used by order {earlier}"
            duplicate = Refusal(RejectReason.DUPLICATE_CLIENT_ORDER_ID, message)
            return [rejected(cmd, duplicate, now)]
    today = trading_day_rolled(state, now)
    events: list[AccountEvent] = []
    refusal = _refusal(cmd, today, context, events)
    if refusal is not None:
        return [*events, rejected(cmd, refusal, now)]
    price = reference_price(today, context, cmd)
    rate = placement_rate(today, context, cmd)
    assert price is not None  # _refusal checked it
    assert rate is not None  # and this
    return [*events, *placed(cmd, plan_order(today, cmd, price, rate), now)]


def _refusal(
    cmd: PlaceOrder, state: AccountState, context: DecisionContext, events: list[AccountEvent]
) -> Refusal | None:
    if state.halted:
        return Refusal(RejectReason.TRADING_HALTED, f"trading is halted: {state.halt_reason}")
    invalid = validate_order(cmd, context.now)
    if invalid is not None:
        return invalid
    price = reference_price(state, context, cmd)
    if price is None:
        return Refusal(RejectReason.NO_MARKET_PRICE, f"no market price known for {cmd.symbol}")
    rate = placement_rate(state, context, cmd)
    if rate is None:
        quote = instrument_for(cmd.symbol).quote_currency
        return Refusal(
            RejectReason.NO_CONVERSION_RATE,
            f"no rate of {quote} against {state.base_currency} is known to book {cmd.symbol}",
        )
    opening = opening_quantity(state, cmd)
    problem = bracket_problem(cmd, price, opening)
    if problem is not None:
        return Refusal(RejectReason.INVALID_ORDER, problem)
    if cmd.reduce_only and opening > 0:
        return Refusal(
            RejectReason.REDUCE_ONLY_VIOLATION, "a reduce-only order would open or add exposure"
        )
    if opening == 0:
        return None
    events.extend(breaker_tripped(state, context.now, context))
    return check_entry(state, cmd, plan_order(state, cmd, price, rate), context)


def breaker_tripped(
    state: AccountState, now: datetime, context: DecisionContext | None = None
) -> list[AccountEvent]:
    """CircuitBreakerTripped when today's loss has reached the limit and it has not tripped yet.

    With a decision context the loss is at its prices (``valuation``), else at the marks.
    """
    if state.breaker_tripped or not state.is_open or state.day_start_equity <= 0:
        return []
    if context is None:
        loss, equity = daily_loss_pct(state), state.equity
    else:
        loss, equity = decision_loss_pct(state, context), decision_equity(state, context)
    if loss < state.limits.max_daily_loss_pct:
        return []
    return [
        CircuitBreakerTripped(
            account_id=state.account_id,
            ts=now,
            day_start_equity=state.day_start_equity,
            equity=equity,
            loss_pct=loss,
        )
    ]


def cancel_order(
    cmd: CancelOrder, state: AccountState, context: DecisionContext
) -> list[AccountEvent]:
    """OrderCancelled for the order and for bracket children whose parent never filled."""
    order = state.orders.get(cmd.order_id)
    if order is None:
        return [
            CommandRejected(
                account_id=cmd.account_id,
                ts=context.now,
                command=message_name(CancelOrder),
                reason_code=RejectReason.UNKNOWN_ORDER,
                message=f"no working order {cmd.order_id}",
            )
        ]
    reason = cmd.reason or "cancelled"
    events: list[AccountEvent] = [
        OrderCancelled(
            account_id=cmd.account_id, ts=context.now, order_id=cmd.order_id, reason=reason
        )
    ]
    if order.filled_quantity == ZERO:
        events += orphaned_children(state, cmd.order_id, context.now)
    return events


def orphaned_children(state: AccountState, parent: OrderId, now: datetime) -> list[AccountEvent]:
    """Cancellations of the bracket children of a parent that ended without a fill."""
    return [
        OrderCancelled(
            account_id=state.account_id, ts=now, order_id=o.order_id, reason="parent order ended"
        )
        for o in state.orders.values()
        if o.parent_order_id == parent
    ]
