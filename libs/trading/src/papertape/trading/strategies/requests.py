"""A session's order request in the account's language, its answer and fills, and the room.

The signal service and a backtest send the same ``PlaceOrder`` for the same request, and size
orders from the same summary, so a paper session and its backtest can be compared fill by fill.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from papertape.contract.events.account import (
    AccountEvent,
    OrderExpired,
    OrderFilledV2,
    OrderRejected,
    PlaceOrder,
)
from papertape.contract.events.orders import OrderSource, OrderType
from papertape.contract.events.reports import AccountSummary
from papertape.contract.events.sessions import (
    SessionFillRecorded,
    SessionOrderExpired,
    SessionOrderPlaced,
    SessionOrderRefused,
    SessionOrderRequested,
)
from papertape.trading.strategies.sessions import SessionState
from papertape.trading.strategies.sizing import AccountRoom


def room_of(summary: AccountSummary) -> AccountRoom:
    """What the account allows an order, from its summary."""
    return AccountRoom(
        equity=summary.equity,
        buying_power=summary.buying_power,
        max_position_pct=summary.limits.max_position_pct,
        max_risk_per_trade_pct=summary.limits.max_risk_per_trade_pct,
    )


def place_order_of(order: SessionOrderRequested) -> PlaceOrder:
    """The PlaceOrder a session's order request stands for (source ``signal``)."""
    return PlaceOrder(
        account_id=order.account_id,
        order_id=order.order_id,
        symbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        order_type=OrderType.MARKET,
        stop_loss=order.stop_loss,
        take_profit=order.take_profit,
        reduce_only=order.reduce_only,
        source=OrderSource.SIGNAL,
    )


def order_refused(
    order: SessionOrderRequested, code: str, message: str, now: datetime
) -> SessionOrderRefused:
    """The session's record of a refused order."""
    return SessionOrderRefused(
        session_id=order.session_id,
        ts=now,
        account_id=order.account_id,
        signal_id=order.signal_id,
        order_id=order.order_id,
        reason_code=code[:64],
        message=message[:1000],
    )


def answer_from(
    order: SessionOrderRequested, events: Iterable[AccountEvent], now: datetime
) -> SessionOrderPlaced | SessionOrderRefused:
    """The account's answer to an order (the events it decided), as the session records it."""
    for event in events:
        if isinstance(event, OrderRejected) and event.order_id == order.order_id:
            return order_refused(order, str(event.reason_code), event.message, now)
    return SessionOrderPlaced(
        session_id=order.session_id,
        ts=now,
        account_id=order.account_id,
        signal_id=order.signal_id,
        order_id=order.order_id,
    )


def fill_recorded(session_id: str, fill: OrderFilledV2) -> SessionFillRecorded:
    """The session's record of a fill of one of its orders."""
    return SessionFillRecorded(
        session_id=session_id,
        ts=fill.ts,
        account_id=fill.account_id,
        order_id=fill.order_id,
        fill_id=fill.fill_id,
        symbol=fill.symbol,
        side=fill.side,
        price=fill.price,
        quantity=fill.quantity,
        fee=fill.fee,
        realized_pnl=fill.realized_pnl,
    )


def entry_expired(state: SessionState, expired: OrderExpired) -> SessionOrderExpired | None:
    """The session's record of its entry that the venue expired unfilled (None when the order
    is not such an entry of the session, or its end is recorded already)."""
    signal_id = state.entry_signals.get(expired.order_id)
    if signal_id is None:
        return None
    return SessionOrderExpired(
        session_id=state.session_id,
        ts=expired.ts,
        account_id=state.account_id,
        signal_id=signal_id,
        order_id=expired.order_id,
        reason=expired.reason[:1000],
    )
