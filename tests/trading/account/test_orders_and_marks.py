"""Cancels, expiries, triggers, and marks: equity, high-water mark, drawdown, the curve."""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.events.account import (
    CancelOrder,
    CommandRejected,
    Deposit,
    ExpireOrder,
    OrderTriggered,
    PositionMarked,
    ResetAccount,
    TriggerOrder,
)
from papertape.contract.events.orders import OrderSide, OrderType, RejectReason
from papertape.contract.ids import OrderId
from papertape.trading.account.scenarios import (
    AAPL,
    ACCOUNT,
    Scenario,
    at,
    fill,
    kinds,
    mark,
    order,
    wide_open,
)

D = Decimal


def cancel(order_id: str) -> CancelOrder:
    """A CancelOrder."""
    return CancelOrder(account_id=ACCOUNT, order_id=OrderId(order_id))


def test_cancel_releases_the_reserve() -> None:
    s = Scenario(wide_open()).given(order("o1"))
    assert kinds(s.when(cancel("o1"))) == ["OrderCancelled"]
    assert s.state.reserved == 0
    assert s.state.available_funds == 10000


def test_cancelling_an_unfilled_bracket_parent_cancels_its_children() -> None:
    s = Scenario(wide_open()).given(order("o1", stop_loss=D(95), take_profit=D(110)))
    assert kinds(s.when(cancel("o1"))) == ["OrderCancelled"] * 3
    assert s.state.orders == {}


def test_cancelling_a_partly_filled_parent_keeps_its_protective_children() -> None:
    s = Scenario(wide_open()).given(order("o1", stop_loss=D(95)), fill("o1", "100", "4"))
    assert kinds(s.when(cancel("o1"))) == ["OrderCancelled"]
    assert "o1-sl" in s.state.orders


def test_cancelling_an_unknown_order_is_refused() -> None:
    events = Scenario(wide_open()).when(cancel("nope"))
    assert isinstance(events[0], CommandRejected)
    assert events[0].reason_code is RejectReason.UNKNOWN_ORDER


def test_the_venue_expires_a_working_order_once() -> None:
    s = Scenario(wide_open()).given(order("o1"))
    command = ExpireOrder(account_id=ACCOUNT, order_id=OrderId("o1"), reason="day", ts=at(9))
    assert kinds(s.when(command)) == ["OrderExpired"]
    assert s.when(command) == []


def test_the_venue_triggers_a_stop_once() -> None:
    s = Scenario(wide_open()).given(order("o1", order_type=OrderType.STOP, stop_price=D(105)))
    command = TriggerOrder(
        account_id=ACCOUNT, order_id=OrderId("o1"), trigger_price=D(105), ts=at(5)
    )
    events = s.when(command)
    assert isinstance(events[0], OrderTriggered)
    assert s.state.orders[OrderId("o1")].triggered
    assert s.when(command) == []


def test_a_market_order_cannot_be_triggered() -> None:
    s = Scenario(wide_open()).given(order("o1"))
    command = TriggerOrder(account_id=ACCOUNT, order_id=OrderId("o1"), trigger_price=D(1), ts=at())
    assert s.when(command) == []


def test_a_mark_revalues_the_position_and_equity() -> None:
    s = Scenario(wide_open()).given(order("o1"), fill("o1", "100"))
    events = s.when(mark("110"))
    assert isinstance(events[0], PositionMarked)
    assert s.state.positions[AAPL].unrealized_pnl == 100
    assert s.state.equity == s.state.cash + 10 * 110 == 10100
    assert s.state.high_water_mark == 10100


def test_a_mark_at_the_same_price_records_nothing() -> None:
    s = Scenario(wide_open()).given(order("o1"), fill("o1", "100"))
    assert s.when(mark("100")) == []


def test_short_equity_falls_as_the_price_rises() -> None:
    s = Scenario(wide_open(allow_short=True)).given(
        order("o1", side=OrderSide.SELL), fill("o1", "100"), mark("120")
    )
    assert s.state.equity == 10000 - 200
    assert s.state.short_collateral == 10 * 120 * D("1.5")


def test_drawdown_is_measured_from_the_high_water_mark() -> None:
    s = Scenario(wide_open()).given(
        order("o1"), fill("o1", "100"), mark("120"), mark("90", ts=at(120))
    )
    assert s.state.high_water_mark == 10200
    assert s.state.max_drawdown == 300
    assert s.state.max_drawdown_pct == D(300) * 100 / 10200


def test_the_equity_curve_keeps_one_point_per_minute() -> None:
    s = Scenario(wide_open()).given(order("o1"), fill("o1", "100"))
    for second, price in ((10, "101"), (20, "102"), (70, "103"), (130, "104")):
        s.given(mark(price, ts=at(second)))
    curve = s.state.equity_curve
    # The opening, then the last point of 14:30, 14:31 and 14:32.
    assert [p.equity for p in curve] == [10000, 10020, 10030, 10040]


def test_the_equity_curve_starts_at_the_opening_even_when_trading_starts_that_minute() -> None:
    s = Scenario(wide_open("5000")).given(order("o1"), fill("o1", "100", ts=at(5)), mark("101"))
    first = s.state.equity_curve[0]
    assert (first.ts, first.equity, first.cash, first.exposure) == (at(0), D(5000), D(5000), D(0))
    assert s.state.equity_curve[-1].equity == 5010


def test_the_equity_curve_of_a_new_epoch_starts_at_the_reset() -> None:
    s = Scenario(wide_open()).given(
        ResetAccount(account_id=ACCOUNT, initial_cash=D(2500)), now=at(3)
    )
    s.given(Deposit(account_id=ACCOUNT, amount=D(500)), now=at(4))
    assert [(p.ts, p.equity) for p in s.state.equity_curve] == [(at(3), D(2500)), (at(4), D(3000))]
