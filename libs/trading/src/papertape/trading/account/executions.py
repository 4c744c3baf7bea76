"""Deciding what the venue reports: fills, marks, expiries and triggers."""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.events.account import (
    AccountEvent,
    ApplyFill,
    ApplyMark,
    ExpireOrder,
    FillRejected,
    OrderCancelled,
    OrderExpired,
    OrderFilledV2,
    OrderTriggered,
    PositionMarked,
    TriggerOrder,
)
from papertape.contract.events.orders import OrderSide, OrderType, RejectReason
from papertape.contract.money import ZERO
from papertape.trading.account.buying_power import margin_refusal
from papertape.trading.account.context import DecisionContext
from papertape.trading.account.currency import (
    ONE,
    conversion_symbols,
    currency_of,
    foreign_currencies,
    is_pair,
    quote_currency,
    rate_for,
)
from papertape.trading.account.evolve import evolve
from papertape.trading.account.fills import fill_position
from papertape.trading.account.forgeries import MISMATCHES, mismatch
from papertape.trading.account.placement import breaker_tripped, orphaned_children
from papertape.trading.account.risk import Refusal
from papertape.trading.account.state import AccountState, Order


def apply_fill(cmd: ApplyFill, state: AccountState, context: DecisionContext) -> list[AccountEvent]:
    """OrderFilled (then OCO cancels and the breaker), FillRejected, or nothing for a repeat."""
    if cmd.fill_id in state.fill_ids:
        return []
    order = state.orders.get(cmd.order_id)
    rate = ONE if order is None else fill_rate(state, order, cmd, context)
    refusal = _fill_refusal(cmd, state, order, rate)
    if refusal is not None or order is None:
        return _refused_fill(cmd, state, order, refusal)
    outcome = fill_position(
        state.positions.get(order.symbol),
        order,
        quantity=cmd.quantity,
        price=cmd.price,
        fee=cmd.fee,
        slippage=cmd.slippage,
        spread=cmd.spread_cost,
        ts=cmd.ts,
        rate=rate,
    )
    filled = OrderFilledV2(
        account_id=cmd.account_id,
        ts=cmd.ts,
        order_id=order.order_id,
        fill_id=cmd.fill_id,
        symbol=order.symbol,
        side=order.side,
        price=cmd.price,
        quantity=cmd.quantity,
        fee=cmd.fee,
        liquidity=cmd.liquidity,
        slippage=cmd.slippage,
        spread_cost=cmd.spread_cost,
        fee_model=cmd.fee_model,
        slippage_model=cmd.slippage_model,
        spread_model=cmd.spread_model,
        rate=rate,
        realized_pnl=outcome.realized_pnl,
        position_quantity=outcome.position.quantity,
        position_avg_price=outcome.position.avg_price,
        cash_after=state.cash + outcome.cash_change,
        order_remaining=order.remaining - cmd.quantity,
        bid=cmd.bid,
        ask=cmd.ask,
    )
    after = evolve(state, filled)
    refusal = margin_refusal(state, after, order, cmd.quantity)
    if refusal is not None:
        return _refused_fill(cmd, state, order, refusal)
    events: list[AccountEvent] = [filled]
    if outcome.position.quantity == 0:
        # Flat: the remaining exits of this symbol (a bracket's other leg) have nothing to close;
        # the legs of an entry still working wait for it, they will guard what it opens.
        events += [
            OrderCancelled(
                account_id=cmd.account_id,
                ts=cmd.ts,
                order_id=o.order_id,
                reason="position closed (one cancels other)",
            )
            for o in after.orders.values()
            if o.symbol == order.symbol and o.reduce_only and o.parent_order_id not in after.orders
        ]
    events += breaker_tripped(after, cmd.ts)
    return events


def _refused_fill(
    cmd: ApplyFill, state: AccountState, order: Order | None, refusal: Refusal | None
) -> list[AccountEvent]:
    refusal = refusal or Refusal(RejectReason.UNKNOWN_ORDER, "no such order")
    rejected = FillRejected(
        account_id=cmd.account_id,
        ts=cmd.ts,
        fill_id=cmd.fill_id,
        order_id=cmd.order_id,
        reason_code=refusal.reason,
        message=refusal.message,
    )
    return [rejected, *_ended_by_refusal(state, order, rejected)]


def _ended_by_refusal(
    state: AccountState, order: Order | None, rejected: FillRejected
) -> list[AccountEvent]:
    """A working order whose fill is refused ends here, as it does at the venue (no zombie).

    The venue counts a fill as done when it reports it, so it has forgotten an order whose
    final fill the account refuses, and it expires the rest of one partly filled. A report that
    does not match the order (``forgeries.mismatch``) is not the venue's word on it: the order
    works on (the venue ends it itself, and says so, if the report was its own).
    """
    if order is None or rejected.reason_code in MISMATCHES:
        return []
    events: list[AccountEvent] = [
        OrderExpired(
            account_id=rejected.account_id,
            ts=rejected.ts,
            order_id=order.order_id,
            reason=f"fill rejected: {rejected.reason_code}",
        )
    ]
    if order.filled_quantity == ZERO:
        events += orphaned_children(state, order.order_id, rejected.ts)
    return events


def fill_rate(
    state: AccountState, order: Order, cmd: ApplyFill, context: DecisionContext
) -> Decimal:
    """The rate a fill books at: its market's (a pair fills at its own price), else the order's.

    The order's rate (from when it was placed) stands in only where no market rate is known.
    """
    if quote_currency(order.symbol) == currency_of(state.base_currency):
        return ONE
    marks = {**state.marks, **context.marks, order.symbol: cmd.price}
    rate = rate_for(marks, order.symbol, state.base_currency)
    return order.rate if rate is None else rate


def _fill_refusal(
    cmd: ApplyFill, state: AccountState, order: Order | None, rate: Decimal
) -> Refusal | None:
    if not state.is_open:
        return Refusal(RejectReason.ACCOUNT_NOT_OPEN, "no such account")
    if order is None:
        return Refusal(RejectReason.UNKNOWN_ORDER, f"no working order {cmd.order_id}")
    mismatched = mismatch(cmd, order)
    if mismatched is not None:
        return mismatched
    position = state.positions.get(order.symbol)
    held = position.quantity if position is not None else ZERO
    if order.reduce_only and (held * order.side.sign >= 0 or cmd.quantity > abs(held)):
        return Refusal(RejectReason.REDUCE_ONLY_VIOLATION, "the fill would open or add exposure")
    cash_after = state.cash - (cmd.quantity * cmd.price * order.side.sign + cmd.fee) * rate
    if not state.allow_short and cash_after < 0:
        return Refusal(RejectReason.INSUFFICIENT_CASH, f"the fill would leave cash at {cash_after}")
    if not state.allow_short and order.side is OrderSide.SELL and cmd.quantity > held:
        return Refusal(RejectReason.SHORT_SELLING_NOT_ALLOWED, "the fill would open a short")
    return None


def apply_mark(cmd: ApplyMark, state: AccountState, context: DecisionContext) -> list[AccountEvent]:
    """PositionMarked for a symbol held or worked whose price changed (then the breaker)."""
    if not state.is_open or cmd.price <= 0 or state.marks.get(cmd.symbol) == cmd.price:
        return []
    relevant = (
        cmd.symbol in state.positions
        or any(o.symbol == cmd.symbol for o in state.orders.values())
        or (
            is_pair(cmd.symbol)
            and cmd.symbol in conversion_symbols(state.base_currency, foreign_currencies(state))
        )
    )
    if not relevant:
        return []
    marked = PositionMarked(
        account_id=cmd.account_id,
        ts=cmd.ts,
        symbol=cmd.symbol,
        price=cmd.price,
        bid=cmd.bid,
        ask=cmd.ask,
    )
    return [marked, *breaker_tripped(evolve(state, marked), cmd.ts)]


def expire_order(
    cmd: ExpireOrder, state: AccountState, context: DecisionContext
) -> list[AccountEvent]:
    """OrderExpired for a working order (and its unborn bracket children); nothing otherwise."""
    order = state.orders.get(cmd.order_id)
    if order is None:
        return []
    events: list[AccountEvent] = [
        OrderExpired(account_id=cmd.account_id, ts=cmd.ts, order_id=cmd.order_id, reason=cmd.reason)
    ]
    if order.filled_quantity == ZERO:
        events += orphaned_children(state, cmd.order_id, cmd.ts)
    return events


def trigger_order(
    cmd: TriggerOrder, state: AccountState, context: DecisionContext
) -> list[AccountEvent]:
    """OrderTriggered for a working stop that has not triggered yet; nothing otherwise."""
    order = state.orders.get(cmd.order_id)
    stops = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)
    if order is None or order.triggered or order.order_type not in stops:
        return []
    return [
        OrderTriggered(
            account_id=cmd.account_id,
            ts=cmd.ts,
            order_id=cmd.order_id,
            trigger_price=cmd.trigger_price,
        )
    ]
