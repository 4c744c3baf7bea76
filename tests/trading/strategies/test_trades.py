"""A session's round trips from its fills: prices, P&L, the reason each ended, marks."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from papertape.contract.events.orders import OrderSide
from papertape.contract.events.sessions import (
    SessionFillRecorded,
    SessionOrderRequested,
    StartSession,
)
from papertape.contract.events.signals import Decision
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.trading.strategies.sessions import SessionState, decide, evolve
from tests.trading.strategies.bars import T0

D = Decimal


def session() -> SessionState:
    state = SessionState()
    start = StartSession(
        session_id="bot",
        account_id=AccountId("acc"),
        strategy="donchian_breakout",
        symbols=(Symbol("AAPL"),),
    )
    for event in decide(start, state, T0):
        evolve(state, event)
    return state


def requested(order: str, side: OrderSide, *, reduce_only: bool = False) -> SessionOrderRequested:
    return SessionOrderRequested(
        session_id="bot",
        ts=T0,
        signal_id=f"signal-{order}",
        order_id=OrderId(order),
        account_id=AccountId("acc"),
        symbol=Symbol("AAPL"),
        side=side,
        quantity=D(10),
        decision=Decision.CLOSE if reduce_only else Decision.BUY,
        reduce_only=reduce_only,
    )


def fill(
    order: str, side: OrderSide, qty: str, price: str, minute: int, *, pnl: str = "0"
) -> SessionFillRecorded:
    return SessionFillRecorded(
        session_id="bot",
        ts=T0 + timedelta(minutes=minute),
        order_id=OrderId(order),
        fill_id=f"fill-{order}-{minute}",
        symbol=Symbol("AAPL"),
        side=side,
        price=D(price),
        quantity=D(qty),
        fee=D("0.50"),
        realized_pnl=D(pnl),
    )


def test_an_entry_closed_by_its_take_profit_is_one_trade_with_its_reason_and_net_pnl() -> None:
    state = session()
    evolve(state, requested("e1", OrderSide.BUY))
    evolve(state, fill("e1", OrderSide.BUY, "4", "100", 1))
    evolve(state, fill("e1", OrderSide.BUY, "6", "101", 2))  # a second part, dearer
    evolve(state, fill("e1-tp", OrderSide.SELL, "10", "103", 9, pnl="24"))

    [trade] = state.round_trips.closed
    assert trade.side is OrderSide.BUY
    assert trade.quantity == 10
    assert trade.entry_at == T0 + timedelta(minutes=1)
    assert trade.entry_price == D("100.60")
    assert trade.exit_price == D("103.00")
    assert trade.exit_at == T0 + timedelta(minutes=9)
    assert trade.pnl == D("22.50")  # 24 realized less three fees of 0.50
    assert trade.exit_reason == "TAKE_PROFIT"
    assert state.round_trips.open == {}


def test_a_stop_and_a_close_and_an_exit_no_one_asked_for_are_told_apart() -> None:
    state = session()
    evolve(state, requested("e1", OrderSide.BUY))
    evolve(state, fill("e1", OrderSide.BUY, "10", "100", 1))
    evolve(state, fill("e1-sl", OrderSide.SELL, "10", "98", 2, pnl="-20"))
    evolve(state, requested("e2", OrderSide.BUY))
    evolve(state, fill("e2", OrderSide.BUY, "10", "99", 3))
    evolve(state, requested("c2", OrderSide.SELL, reduce_only=True))
    evolve(state, fill("c2", OrderSide.SELL, "10", "100", 4, pnl="10"))
    evolve(state, fill("manual", OrderSide.SELL, "5", "100", 5))
    evolve(state, fill("manual-2", OrderSide.BUY, "5", "99", 6, pnl="5"))

    reasons = [t.exit_reason for t in state.round_trips.closed]
    assert reasons == ["STOP_LOSS", "CLOSE", "account"]
    assert state.round_trips.closed[2].side is OrderSide.SELL  # a short the account made


def test_a_fill_through_flat_closes_the_trade_and_opens_the_other_way() -> None:
    state = session()
    evolve(state, fill("e1", OrderSide.BUY, "10", "100", 1))
    evolve(state, fill("flip", OrderSide.SELL, "15", "102", 2, pnl="20"))

    [closed] = state.round_trips.closed
    assert closed.quantity == 10
    assert closed.pnl == D("19.00")
    short = state.round_trips.open["AAPL"]
    assert short.side == -1
    assert short.quantity == 5


def test_an_open_trade_is_valued_at_the_mark_in_the_account_currency() -> None:
    state = session()
    evolve(state, fill("e1", OrderSide.BUY, "10", "100", 1))

    trades, unrealized = state.round_trips.marked({"AAPL": (D("101.255"), D("0.5"))})

    assert unrealized == D("6.28")  # 10 x 1.255 x 0.5, to the cent (half to even)
    [open_trade] = trades
    assert open_trade.exit_at is None
    assert open_trade.pnl == D("6.28")
    [unmarked], none = state.round_trips.marked({})
    assert none == D("0.00")  # no mark yet: valued at its entry
    assert unmarked.pnl == D("0.00")
