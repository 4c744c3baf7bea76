"""evolve: the state after one event; replay: the state after many. Pure, never mutating."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from functools import reduce
from typing import Any

import msgspec

from papertape.contract.costs import schedule_from
from papertape.contract.events.account import (
    AccountEvent,
    AccountOpened,
    AccountReset,
    CircuitBreakerTripped,
    CommandRejected,
    CostModelSet,
    CostModelSetV2,
    FillRejected,
    FundsDeposited,
    FundsWithdrawn,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderFilledV2,
    OrderPlaced,
    OrderRejected,
    OrderTriggered,
    PositionClosed,
    PositionMarked,
    RiskLimitsSet,
    TradingHalted,
    TradingResumed,
    WithdrawalRejected,
    order_filled_v2,
)
from papertape.trading.account.closing import placed_opening
from papertape.trading.account.currency import is_pair, rerated
from papertape.trading.account.fills import fill_position
from papertape.trading.account.journal import History
from papertape.trading.account.liquidation import closing_outcome
from papertape.trading.account.marks import (
    after_fill_mark,
    exit_mark,
    trading_day_rolled,
    with_equity_point,
)
from papertape.trading.account.state import INITIAL_STATE, AccountState, Order

_replace = msgspec.structs.replace


def _opened(state: AccountState, e: AccountOpened) -> AccountState:
    opened = _replace(
        state,
        account_id=e.account_id,
        is_open=True,
        name=e.name,
        base_currency=e.base_currency,
        opened_at=e.ts,
        epoch_started_at=e.ts,
        initial_cash=e.initial_cash,
        cash=e.initial_cash,
        allow_short=e.allow_short,
        margin_requirement=e.margin_requirement,
        limits=e.limits,
        costs=schedule_from(e.cost_model),
        day_start_equity=e.initial_cash,
        high_water_mark=e.initial_cash,
    )
    return _starting_curve(with_equity_point(opened, e.ts))


def _starting_curve(state: AccountState) -> AccountState:
    # The opening point is kept as it is, not merged into its minute: the curve starts there.
    assert state.last_point is not None
    return _replace(state, curve=History([state.last_point]), last_point=None)


def _deposited(state: AccountState, e: FundsDeposited) -> AccountState:
    return _flowed(state, e.amount, e.ts)


def _withdrawn(state: AccountState, e: FundsWithdrawn) -> AccountState:
    return _flowed(state, -e.amount, e.ts)


def _flowed(state: AccountState, amount: Decimal, ts: datetime) -> AccountState:
    # A flow is not a gain or a loss: the day's start moves by it, and the high-water mark is
    # scaled by it (as the time-weighted index is), so a drawdown keeps its depth in %.
    equity, hwm = state.equity, state.high_water_mark
    if hwm > equity > 0:
        hwm = hwm * (equity + amount) / equity
    moved = _replace(
        state,
        cash=state.cash + amount,
        net_deposits=state.net_deposits + amount,
        day_start_equity=state.day_start_equity + amount,
        high_water_mark=max(hwm, equity + amount) if hwm > equity else equity + amount,
    )
    return with_equity_point(moved, ts, flow=amount)


def _reset(state: AccountState, e: AccountReset) -> AccountState:
    fresh = _replace(
        INITIAL_STATE,
        account_id=state.account_id,
        is_open=True,
        name=state.name,
        base_currency=state.base_currency,
        epoch=e.epoch,
        opened_at=state.opened_at,
        epoch_started_at=e.ts,
        initial_cash=e.initial_cash,
        cash=e.initial_cash,
        allow_short=state.allow_short,
        margin_requirement=state.margin_requirement,
        limits=state.limits,
        costs=state.costs,
        halted=state.halted,
        halt_reason=state.halt_reason,
        marks=state.marks,
        day=state.day,
        # The day's trades and its breaker stay: a reset is no way around the daily limits.
        trades_today=state.trades_today,
        breaker_tripped=state.breaker_tripped,
        day_start_equity=e.initial_cash,
        high_water_mark=e.initial_cash,
        order_ids=state.order_ids,
        client_order_ids=state.client_order_ids,
        fill_ids=state.fill_ids,
        closed_trades=History(),
        curve=History(),
    )
    return _starting_curve(with_equity_point(fresh, e.ts))


def _placed(state: AccountState, e: OrderPlaced) -> AccountState:
    order = Order(
        order_id=e.order_id,
        client_order_id=e.client_order_id,
        symbol=e.symbol,
        side=e.side,
        quantity=e.quantity,
        order_type=e.order_type,
        limit_price=e.limit_price,
        stop_price=e.stop_price,
        trail_amount=e.trail_amount,
        trail_percent=e.trail_percent,
        time_in_force=e.time_in_force,
        expire_at=e.expire_at,
        stop_loss=e.stop_loss,
        take_profit=e.take_profit,
        reduce_only=e.reduce_only,
        role=e.role,
        parent_order_id=e.parent_order_id,
        source=e.source,
        reference_price=e.reference_price,
        reserved=e.reserved,
        opening=e.opening,
        rate=e.rate,
        opening_quantity=placed_opening(e),
        placed_at=e.ts,
    )
    client_ids = state.client_order_ids
    if e.client_order_id is not None:
        client_ids = client_ids.add(e.client_order_id, e.order_id)
    entry = e.opening and e.parent_order_id is None
    return _replace(
        state,
        orders={**state.orders, e.order_id: order},
        order_ids=state.order_ids.add(e.order_id, True),
        client_order_ids=client_ids,
        last_entry_at=e.ts if entry else state.last_entry_at,
    )


def _rejected(state: AccountState, e: OrderRejected) -> AccountState:
    client_ids = state.client_order_ids
    if e.client_order_id is not None:
        client_ids = client_ids.add(e.client_order_id, e.order_id)
    return _replace(
        state, order_ids=state.order_ids.add(e.order_id, False), client_order_ids=client_ids
    )


def _closed_order(state: AccountState, e: OrderCancelled | OrderExpired) -> AccountState:
    if e.order_id not in state.orders:
        return state
    orders = dict(state.orders)
    del orders[e.order_id]
    return _replace(state, orders=orders)


def _triggered(state: AccountState, e: OrderTriggered) -> AccountState:
    order = state.orders.get(e.order_id)
    if order is None:
        return state
    return _replace(state, orders={**state.orders, e.order_id: _replace(order, triggered=True)})


def _filled(state: AccountState, e: OrderFilledV2) -> AccountState:
    order = state.orders[e.order_id]
    outcome = fill_position(
        state.positions.get(e.symbol),
        order,
        quantity=e.quantity,
        price=e.price,
        fee=e.fee,
        slippage=e.slippage,
        spread=e.spread_cost,
        ts=e.ts,
        rate=e.rate,
    )
    positions = dict(state.positions)
    mark = after_fill_mark(e, outcome.position.quantity)
    if outcome.position.quantity == 0:
        positions.pop(e.symbol, None)
    else:
        positions[e.symbol] = _replace(outcome.position, mark=mark)
    marks = {**state.marks, e.symbol: mark}
    if is_pair(e.symbol):
        # The pair's price is a rate: it moves what is held in its currencies (itself too, from
        # the rate it filled at to the market's side it now stands at).
        positions = rerated(positions, marks, state.base_currency)
    orders = dict(state.orders)
    progressed = _replace(order, filled_quantity=order.filled_quantity + e.quantity)
    if progressed.remaining <= 0:
        del orders[e.order_id]
    else:
        orders[e.order_id] = progressed
    trades = state.closed_trades
    if outcome.closed is not None:
        trades = trades.append(outcome.closed)
    # A trade is an order meeting the market: its first fill counts, its partial fills do not.
    traded = state.trades_today + 1 if order.filled_quantity == 0 else state.trades_today
    return with_equity_point(
        state,
        e.ts,
        trades_today=traded,
        cash=state.cash + outcome.cash_change,
        positions=positions,
        orders=orders,
        marks=marks,
        realized_pnl=state.realized_pnl + outcome.realized_pnl,
        fees_paid=state.fees_paid + e.fee * e.rate,
        fill_ids=state.fill_ids.add(e.fill_id, e.order_id),
        closed_trades=trades,
    )


def _position_closed(state: AccountState, e: PositionClosed) -> AccountState:
    position = state.positions.get(e.symbol)
    if position is None:
        return state
    outcome = closing_outcome(position, e)
    positions = dict(state.positions)
    if outcome.position.quantity == 0:
        del positions[e.symbol]
    else:
        positions[e.symbol] = outcome.position
    trades = state.closed_trades
    if outcome.closed is not None:
        trades = trades.append(outcome.closed)
    return with_equity_point(
        state,
        e.ts,
        cash=state.cash + outcome.cash_change,
        positions=positions,
        realized_pnl=state.realized_pnl + outcome.realized_pnl,
        closed_trades=trades,
        trades_today=state.trades_today + 1,
    )


def _marked(state: AccountState, e: PositionMarked) -> AccountState:
    marks = {**state.marks, e.symbol: e.price}
    # A currency pair's mark moves the rate of every position quoted in its currencies.
    base = state.base_currency
    positions = rerated(state.positions, marks, base) if is_pair(e.symbol) else state.positions
    position = positions.get(e.symbol)
    if position is None and positions is state.positions:
        return _replace(state, marks=marks)
    if position is not None:
        mark = exit_mark(e.price, e.bid, e.ask, position.quantity)
        positions = {**positions, e.symbol: _replace(position, mark=mark)}
    return with_equity_point(state, e.ts, marks=marks, positions=positions)


def _unchanged(state: AccountState, e: Any) -> AccountState:
    return state


_HANDLERS: dict[type[Any], Callable[[AccountState, Any], AccountState]] = {
    AccountOpened: _opened,
    FundsDeposited: _deposited,
    FundsWithdrawn: _withdrawn,
    AccountReset: _reset,
    OrderPlaced: _placed,
    OrderRejected: _rejected,
    OrderCancelled: _closed_order,
    OrderExpired: _closed_order,
    OrderTriggered: _triggered,
    OrderFilled: lambda s, e: _filled(s, order_filled_v2(e)),
    OrderFilledV2: _filled,
    PositionMarked: _marked,
    PositionClosed: _position_closed,
    FillRejected: _unchanged,
    WithdrawalRejected: _unchanged,
    CommandRejected: _unchanged,
    RiskLimitsSet: lambda s, e: _replace(s, limits=e.limits),
    CostModelSet: lambda s, e: _replace(s, costs=schedule_from(e.cost_model)),
    CostModelSetV2: lambda s, e: _replace(s, costs=e.schedule),
    CircuitBreakerTripped: lambda s, e: _replace(s, breaker_tripped=True),
    TradingHalted: lambda s, e: _replace(s, halted=True, halt_reason=e.reason),
    TradingResumed: lambda s, e: _replace(s, halted=False, halt_reason=""),
}


_last_evolved: tuple[AccountState, AccountEvent, AccountState] | None = None
"""The last fold: (state, event, the state after it). A decision that must see its own event
folded in (a fill's margin check, a mark's circuit breaker) evolves the state with it, and
whoever records the decision then evolves the same state with the same event again; states and
events are frozen, so the second fold is the first one's answer."""


def evolve(state: AccountState, event: AccountEvent) -> AccountState:
    """The account after ``event``; ``state`` itself is left as it was."""
    global _last_evolved
    last = _last_evolved
    if last is not None and last[0] is state and last[1] is event:
        return last[2]
    day = state.day
    ts = event.ts
    # Inline check of the common case (same UTC day) before the general roll-over.
    same_day = day is not None and ts.tzinfo is UTC and ts.date() == day
    rolled = state if same_day or not state.is_open else trading_day_rolled(state, ts)
    after = _replace(_HANDLERS[type(event)](rolled, event), version=state.version + 1)
    _last_evolved = (state, event, after)
    return after


def replay(events: Iterable[AccountEvent], state: AccountState = INITIAL_STATE) -> AccountState:
    """The account after every event in order, from ``state`` (the empty account by default)."""
    return reduce(evolve, events, state)
