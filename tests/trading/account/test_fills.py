"""Fills: average cost, realized P&L, commissions, flips, closed trades and refused fills."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from papertape.contract.events.account import (
    FillRejected,
    OrderCancelled,
    OrderExpired,
    OrderFilledV2,
)
from papertape.contract.events.orders import (
    ExitReason,
    OrderSide,
    OrderSource,
    OrderType,
    RejectReason,
)
from papertape.contract.ids import OrderId
from papertape.trading.account import replay
from papertape.trading.account.scenarios import (
    AAPL,
    Scenario,
    at,
    fill,
    kinds,
    mark,
    order,
    wide_open,
)

D = Decimal


def fill_rejection(events: Sequence[object]) -> RejectReason:
    """The reason of a FillRejected (the order it was for ends with it, if it was working)."""
    rejected, *ended = events
    assert isinstance(rejected, FillRejected)
    assert all(isinstance(e, OrderExpired | OrderCancelled) for e in ended)
    return rejected.reason_code


def test_a_refused_fill_ends_its_order_and_its_reserve_as_the_venue_ends_it() -> None:
    s = Scenario(wide_open()).given(order("o1", stop_loss=D(95)))
    assert s.state.reserved > 0
    events = s.when(fill("o1", "1001"))  # a gap the cash account cannot pay for
    assert kinds(events) == ["FillRejected", "OrderExpired", "OrderCancelled"]
    expired = events[1]
    assert isinstance(expired, OrderExpired)
    assert (expired.order_id, expired.reason) == ("o1", "fill rejected: insufficient_cash")
    assert s.state.orders == {}
    assert s.state.reserved == 0


def test_buy_fill_moves_cash_and_opens_a_position_at_the_fill_price() -> None:
    s = Scenario(wide_open()).given(order("o1"))
    events = s.when(fill("o1", "101", fee="1"))
    filled = events[0]
    assert isinstance(filled, OrderFilledV2)
    assert (filled.position_quantity, filled.position_avg_price, filled.cash_after) == (
        D(10),
        D(101),
        D(10000 - 1010 - 1),
    )
    assert s.state.cash == 8989
    assert s.state.positions[AAPL].quantity == 10
    assert s.state.fees_paid == 1
    assert s.state.orders == {}


def test_adding_to_a_position_averages_its_price() -> None:
    s = Scenario(wide_open()).given(
        order("o1"), fill("o1", "100"), order("o2", quantity="30"), fill("o2", "104", "30")
    )
    assert s.state.positions[AAPL].avg_price == 103
    assert s.state.positions[AAPL].quantity == 40


def test_partial_fill_keeps_the_order_working_and_releases_its_reserve_pro_rata() -> None:
    s = Scenario(wide_open()).given(order("o1"))
    reserved = s.state.reserved
    events = s.when(fill("o1", "100", "4"))
    assert isinstance(events[0], OrderFilledV2)
    assert events[0].order_remaining == 6
    assert s.state.orders[OrderId("o1")].remaining == 6
    assert s.state.reserved == reserved * 6 / 10


def test_selling_realizes_pnl_at_average_cost_and_records_a_closed_trade() -> None:
    s = Scenario(wide_open()).given(
        order("o1"),
        fill("o1", "100", fee="2"),
        order("o2", side=OrderSide.SELL, source=OrderSource.SIGNAL),
    )
    events = s.when(fill("o2", "110", fee="2", ts=at(3600)))
    filled = events[0]
    assert isinstance(filled, OrderFilledV2)
    assert filled.realized_pnl == 100
    assert "AAPL" not in s.state.positions
    trade = s.state.closed_trades[-1]
    assert (trade.gross_pnl, trade.fees, trade.net_pnl) == (D(100), D(4), D(96))
    assert trade.exit_reason is ExitReason.SIGNAL
    assert trade.holding_seconds == 3599
    assert trade.r_multiple is None
    assert s.state.cash == 10096


def test_partial_close_shares_entry_fees_pro_rata() -> None:
    s = Scenario(wide_open()).given(
        order("o1"),
        fill("o1", "100", fee="10"),
        order("o2", side=OrderSide.SELL, quantity="4"),
        fill("o2", "105", "4"),
    )
    trade = s.state.closed_trades[-1]
    assert (trade.quantity, trade.fees, trade.exit_reason) == (D(4), D(4), ExitReason.MANUAL)
    assert s.state.positions[AAPL].entry_fees == 6
    assert s.state.positions[AAPL].avg_price == 100


def test_a_fill_through_zero_closes_the_long_and_opens_a_short() -> None:
    s = Scenario(wide_open(allow_short=True)).given(
        order("o1"), fill("o1", "100"), order("o2", side=OrderSide.SELL, quantity="15")
    )
    events = s.when(fill("o2", "90", "15"))
    filled = events[0]
    assert isinstance(filled, OrderFilledV2)
    assert (filled.realized_pnl, filled.position_quantity, filled.position_avg_price) == (
        D(-100),
        D(-5),
        D(90),
    )
    assert s.state.closed_trades[-1].exit_reason is ExitReason.FLIP
    assert s.state.equity == 10000 - 100


def test_covering_a_short_realizes_the_fall_as_profit() -> None:
    s = Scenario(wide_open(allow_short=True)).given(
        order("o1", side=OrderSide.SELL), fill("o1", "100"), order("o2"), fill("o2", "80")
    )
    assert s.state.realized_pnl == 200
    assert s.state.cash == 10200
    assert s.state.closed_trades[-1].direction is OrderSide.SELL


def test_stop_loss_exit_records_an_r_multiple_and_cancels_the_take_profit() -> None:
    s = Scenario(wide_open()).given(
        order("o1", stop_loss=D(95), take_profit=D(110)), fill("o1", "100")
    )
    events = s.when(fill("o1-sl", "95"))
    assert kinds(events) == ["OrderFilledV2", "OrderCancelled"]
    trade = s.state.closed_trades[-1]
    assert trade.exit_reason is ExitReason.STOP_LOSS
    assert trade.r_multiple == -1
    assert s.state.orders == {}


def test_take_profit_exit_is_recorded_as_such() -> None:
    s = Scenario(wide_open()).given(
        order("o1", stop_loss=D(95), take_profit=D(110)), fill("o1", "100"), fill("o1-tp", "110")
    )
    trade = s.state.closed_trades[-1]
    assert (trade.exit_reason, trade.r_multiple) == (ExitReason.TAKE_PROFIT, D(2))


def test_fx_trades_are_measured_in_pips() -> None:
    s = Scenario(wide_open(), marks={"EURUSD": "1.1"}).given(
        order("o1", symbol="EURUSD", quantity="1000"),
        fill("o1", "1.1000", "1000"),
        order("o2", symbol="EURUSD", side=OrderSide.SELL, quantity="1000"),
        fill("o2", "1.1025", "1000"),
    )
    assert s.state.closed_trades[-1].pips == 25


def test_a_repeated_fill_id_records_nothing() -> None:
    s = Scenario(wide_open()).given(order("o1"), fill("o1", "100", "5", fill_id="f1"))
    assert s.when(fill("o1", "100", "5", fill_id="f1")) == []


def test_a_fill_for_an_unknown_order_is_refused() -> None:
    events = Scenario(wide_open()).when(fill("nope", "100"))
    assert fill_rejection(events) is RejectReason.UNKNOWN_ORDER


def test_a_fill_beyond_the_remaining_quantity_is_refused() -> None:
    s = Scenario(wide_open()).given(order("o1"))
    assert fill_rejection(s.when(fill("o1", "100", "11"))) is RejectReason.OVERFILL


def test_a_fill_with_a_non_positive_price_is_refused() -> None:
    s = Scenario(wide_open()).given(order("o1"))
    assert fill_rejection(s.when(fill("o1", "0"))) is RejectReason.INVALID_FILL


def test_a_buy_fill_above_the_limit_is_refused() -> None:
    s = Scenario(wide_open()).given(order("o1", order_type=OrderType.LIMIT, limit_price=D(99)))
    assert fill_rejection(s.when(fill("o1", "99.5"))) is RejectReason.PRICE_OUTSIDE_LIMIT
    # A report outside the order is not the venue's word on it: the order works on.
    assert kinds(s.when(fill("o1", "98.5"))) == ["OrderFilledV2"]


def test_a_reduce_only_fill_that_would_open_is_refused() -> None:
    s = Scenario(wide_open()).given(order("o1", stop_loss=D(95)))
    assert fill_rejection(s.when(fill("o1-sl", "95"))) is RejectReason.REDUCE_ONLY_VIOLATION


def test_a_fill_that_would_overdraw_a_cash_account_is_refused() -> None:
    s = Scenario(wide_open("1001"))
    s.given(order("o1", order_type=OrderType.LIMIT, limit_price=D(100)))  # reserves all cash
    assert fill_rejection(s.when(fill("o1", "100", fee="2"))) is RejectReason.INSUFFICIENT_CASH


def test_a_fill_that_would_sell_short_on_a_cash_account_is_refused() -> None:
    s = Scenario(wide_open()).given(order("o1", quantity="5"), fill("o1", "100", "5"))
    # A reduce-only exit is not counted against what is left to close: o3 passes as closing,
    # and when o2 has closed the position first, o3's fill would open a short.
    s.given(order("o2", side=OrderSide.SELL, quantity="5", reduce_only=True))
    s.given(order("o3", side=OrderSide.SELL, quantity="5"), fill("o2", "100", "5"))
    assert fill_rejection(s.when(fill("o3", "100", "5"))) is (
        RejectReason.SHORT_SELLING_NOT_ALLOWED
    )


def test_fills_into_an_unopened_account_are_refused() -> None:
    assert fill_rejection(Scenario().when(fill("o1", "100"))) is RejectReason.ACCOUNT_NOT_OPEN


def test_right_after_a_buy_equity_shows_the_spread_and_slippage_just_paid() -> None:
    # Ask 100.04 plus 0.01 of slippage: 0.09 a share over the bid the long would exit at.
    s = Scenario(wide_open()).given(order("o1"))
    s.when(fill("o1", "100.05", bid="99.96", ask="100.04"))
    assert s.state.positions[AAPL].mark == D("99.96")
    assert s.state.equity == D("9999.10")
    assert s.state.equity_curve[-1].equity == D("9999.10")
    assert s.state.marks[AAPL] == D("99.96")


def test_the_next_mark_at_the_same_market_keeps_the_long_at_the_bid() -> None:
    # The mid (100.00) is what risk prices at; the long still stands where it would exit.
    s = Scenario(wide_open()).given(order("o1"))
    s.given(fill("o1", "100.05", bid="99.96", ask="100.04"))
    s.when(mark("100.00", bid="99.96", ask="100.04"))
    assert s.state.positions[AAPL].mark == D("99.96")
    assert s.state.equity == D("9999.10")
    assert s.state.marks[AAPL] == D("100.00")
    assert replay(s.events) == s.state


def test_a_mark_marks_a_short_at_the_ask() -> None:
    s = Scenario(wide_open(allow_short=True)).given(order("o1", side=OrderSide.SELL))
    s.given(fill("o1", "100", bid="99.96", ask="100.04"))
    s.when(mark("101", bid="100.98", ask="101.02"))
    assert s.state.positions[AAPL].mark == D("101.02")


def test_right_after_a_short_sale_the_short_is_marked_at_the_ask() -> None:
    s = Scenario(wide_open(allow_short=True)).given(order("o1", side=OrderSide.SELL))
    s.when(fill("o1", "99.95", bid="99.96", ask="100.04"))
    assert s.state.positions[AAPL].mark == D("100.04")
    assert s.state.equity == D("9999.10")


def test_a_flip_marks_the_new_side_at_its_exit_price() -> None:
    s = Scenario(wide_open(allow_short=True)).given(order("o1"), fill("o1", "100"))
    s.given(order("o2", side=OrderSide.SELL, quantity="15"))
    s.when(fill("o2", "101", "15", bid="101", ask="101.10"))
    assert s.state.positions[AAPL].quantity == -5
    assert s.state.positions[AAPL].mark == D("101.10")


def test_a_fill_without_a_quote_marks_at_its_price() -> None:
    s = Scenario(wide_open()).given(order("o1"), fill("o1", "100.05"))
    assert s.state.positions[AAPL].mark == D("100.05")


def test_replaying_a_fill_with_a_quote_gives_the_live_state() -> None:
    s = Scenario(wide_open()).given(order("o1"), fill("o1", "100.05", bid="99.9", ask="100"))
    assert replay(s.events) == s.state
