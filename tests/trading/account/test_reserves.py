"""Reserves, buying power and limits that add up (issue 8): given events, when a command, then."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TypeVar

from papertape.contract.events.account import (
    CircuitBreakerTripped,
    FillRejected,
    OrderFilledV2,
    OrderPlaced,
    OrderRejected,
    ResetAccount,
    Withdraw,
)
from papertape.contract.events.orders import OrderSide, OrderType, RejectReason
from papertape.contract.ids import OrderId
from papertape.contract.limits import RiskLimits
from papertape.trading.account.scenarios import (
    AAPL,
    ACCOUNT,
    WIDE_LIMITS,
    Scenario,
    at,
    fill,
    kinds,
    mark,
    opened,
    order,
)

D = Decimal
E = TypeVar("E")
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def only(events: Sequence[object], kind: type[E]) -> E:
    [found] = [e for e in events if isinstance(e, kind)]
    return found


def margin(cash: str = "10000", limits: RiskLimits = WIDE_LIMITS) -> Scenario:
    return Scenario(opened(cash, allow_short=True, limits=limits))


# --- exits count against what is left to close ------------------------------------------------


def test_a_second_sell_of_a_long_already_being_closed_is_an_entry_with_a_reserve() -> None:
    s = margin().given(order("o1", quantity="90"), fill("o1", "100", "90"))
    [first] = s.when(order("x1", SELL, "90"))
    assert isinstance(first, OrderPlaced)
    assert (first.opening, first.opening_quantity, first.reserved) == (False, D(0), D(0))
    [second] = s.when(order("x2", SELL, "90"))
    assert isinstance(second, OrderRejected)  # 90 short needs 4,500 of margin: 1,000 is left
    assert second.reason_code is RejectReason.INSUFFICIENT_MARGIN


def test_a_second_sell_on_a_cash_account_would_sell_short_and_is_refused() -> None:
    s = Scenario(opened("10000", limits=WIDE_LIMITS))
    s.given(order("o1", quantity="50"), fill("o1", "100", "50"), order("x1", SELL, "50"))
    [refused] = s.when(order("x2", SELL, "50"))
    assert isinstance(refused, OrderRejected)
    assert refused.reason_code is RejectReason.SHORT_SELLING_NOT_ALLOWED


def test_the_position_limit_counts_every_working_order_on_the_side() -> None:
    s = margin("50000", RiskLimits(max_position_pct=D(20))).given(
        order("o1", quantity="90"), fill("o1", "100", "90")
    )
    s.given(order("x1", SELL, "90"), order("x2", SELL, "90"))  # flat, then 90 short: 18%
    [refused] = s.when(order("x3", SELL, "90"))  # 180 short: 36% of equity
    assert isinstance(refused, OrderRejected)
    assert refused.reason_code is RejectReason.MAX_POSITION_SIZE


def test_an_exit_that_opens_when_it_fills_is_checked_against_margin_then() -> None:
    s = margin().given(order("o1", quantity="60"), fill("o1", "100", "60"))
    s.given(order("tp", SELL, "60", order_type=OrderType.LIMIT, limit_price=D(150)))
    s.given(order("out", SELL, "60", reduce_only=True), fill("out", "100", "60"))
    s.given(Withdraw(account_id=ACCOUNT, amount=D(9000)))  # nothing is reserved: cash is free
    events = s.when(fill("tp", "150", "60"))  # the exit now opens a 9,000 short on 1,000 cash
    assert kinds(events) == ["FillRejected", "OrderExpired"]
    rejected = events[0]
    assert isinstance(rejected, FillRejected)
    assert rejected.reason_code is RejectReason.INSUFFICIENT_MARGIN
    assert s.state.positions == {}
    assert s.state.cash == D(1000)


def test_an_exit_that_opens_when_it_fills_is_held_to_the_position_limit_then() -> None:
    s = margin("50000", RiskLimits(max_position_pct=D(20)))
    s.given(order("o1", quantity="90"), fill("o1", "100", "90"))
    s.given(order("tp", SELL, "90", order_type=OrderType.LIMIT, limit_price=D(150)))
    s.given(order("out", SELL, "90", reduce_only=True), fill("out", "100", "90"))
    events = s.when(fill("tp", "150", "90"))  # 13,500 short: 27% of equity
    assert kinds(events) == ["FillRejected", "OrderExpired"]
    assert only(events, FillRejected).reason_code is RejectReason.MAX_POSITION_SIZE
    assert s.state.positions == {}


def test_a_flips_planned_opening_part_is_not_held_to_the_limit_again_at_fill() -> None:
    s = margin("50000", RiskLimits(max_position_pct=D(20))).given(
        order("o1", quantity="90"), fill("o1", "100", "90")
    )
    [flip] = s.when(order("flip", SELL, "180"))
    assert isinstance(flip, OrderPlaced)
    # 90 short at 120 is 20.8% of equity: the opening part was checked when it was placed.
    events = s.when(fill("flip", "120", "180"))
    assert kinds(events)[0] == "OrderFilledV2"


# --- reserves follow the opening part, and buys on margin are checked against cash ------------


def test_a_flip_keeps_its_reserve_until_its_opening_part_fills() -> None:
    s = margin("100000").given(order("o1", quantity="50"), fill("o1", "100", "50"))
    [flip] = s.when(order("flip", SELL, "100"))
    assert isinstance(flip, OrderPlaced)
    assert flip.opening_quantity == 50
    reserve = flip.reserved
    assert reserve >= D(2500)  # 50 short at 100 with 50% margin, plus fees
    s.given(fill("flip", "100", "50"))  # the closing half
    assert s.state.reserved == reserve
    s.given(fill("flip", "100", "25"))
    assert s.state.reserved == reserve / 2
    s.given(fill("flip", "100", "25", fill_id="last"))
    assert s.state.reserved == 0


def test_a_buy_on_a_margin_account_that_gaps_past_its_cash_is_refused() -> None:
    s = margin().given(order("o1", quantity="90"))  # reserved at the mark of 100
    events = s.when(fill("o1", "121", "90"))  # 10,890 of shares on 10,000 of cash
    assert kinds(events) == ["FillRejected", "OrderExpired"]
    rejected = events[0]
    assert isinstance(rejected, FillRejected)
    assert rejected.reason_code is RejectReason.INSUFFICIENT_BUYING_POWER
    assert (s.state.cash, s.state.reserved) == (D(10000), D(0))
    assert s.state.orders == {}


def test_a_closing_fill_on_margin_is_never_refused() -> None:
    s = margin().given(order("o1", SELL, "50"), fill("o1", "100", "50"))
    s.given(order("cover", BUY, "50"))
    events = s.when(fill("cover", "250", "50"))  # a loss the cash cannot cover: still closed
    assert kinds(events)[0] == "OrderFilledV2"
    assert s.state.positions == {}


# --- the daily loss, a flip's heat and a reset ------------------------------------------------


def test_the_daily_loss_check_uses_the_decisions_prices_not_the_marks() -> None:
    limits = RiskLimits(max_position_pct=D(100), max_daily_loss_pct=D(2))
    s = Scenario(opened(limits=limits)).given(order("o1", quantity="50"), fill("o1", "100", "50"))
    s.marks[AAPL] = D(94)  # the market is 3% down; the account's mark is still 100
    events = s.when(order("o2", quantity="1"))
    assert kinds(events) == ["CircuitBreakerTripped", "OrderRejected"]
    tripped = events[0]
    assert isinstance(tripped, CircuitBreakerTripped)
    assert tripped.equity == D(9700)
    assert only(events, OrderRejected).reason_code is RejectReason.DAILY_LOSS_LIMIT


def test_a_flips_heat_counts_only_its_opening_part_as_new_risk() -> None:
    limits = RiskLimits(max_position_pct=D(100), max_portfolio_heat_pct=D("0.9"))
    s = Scenario(opened(allow_short=True, limits=limits))
    s.given(order("o1", quantity="20", stop_loss=D(97)), fill("o1", "100", "20"))
    assert s.state.open_risk == D(60)
    # The flip closes the long (and its 60 of risk) and opens 20 short with 40 to its stop.
    events = s.when(order("flip", SELL, "40", stop_loss=D(102)))
    assert kinds(events) == ["OrderPlaced", "OrderPlaced"]


def test_a_reset_within_the_day_keeps_the_days_breaker_and_trade_count() -> None:
    limits = RiskLimits(max_position_pct=D(100), max_trades_per_day=3)
    s = Scenario(opened(limits=limits)).given(order("o1", quantity="50"), fill("o1", "100", "50"))
    s.given(mark("89"))
    s.marks[AAPL] = D(89)
    s.given(order("o2", quantity="1"))
    assert s.state.breaker_tripped
    s.given(ResetAccount(account_id=ACCOUNT, reason="start over"), now=at(60))
    assert s.state.trades_today == 2  # the fill of o1 and the reset's closing trade
    [refused] = s.when(order("o3", quantity="1"), at(120))
    assert isinstance(refused, OrderRejected)
    assert refused.reason_code is RejectReason.DAILY_LOSS_LIMIT
    s.given(order("o4", quantity="1"), fill("o4", "89", "1"), now=at(180, days=1))
    assert s.state.trades_today == 1  # a new day: counted afresh
    assert only(s.events[-2:], OrderFilledV2).order_id == OrderId("o4")
