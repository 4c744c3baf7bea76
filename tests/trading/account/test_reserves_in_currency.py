"""Reserves, fill-time buying power and limits that add up, in the account's base currency.

What is left to close, a flip's opening part, the checks at fill time, a flip's heat and the
daily loss at the decision's prices weigh quote-currency amounts converted at the rate, as the
reserves and limits of a plain entry are.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from papertape.contract.events.account import (
    AccountOpened,
    CircuitBreakerTripped,
    FillRejected,
    OrderFilledV2,
    OrderPlaced,
    OrderRejected,
)
from papertape.contract.events.orders import OrderSide, OrderType, RejectReason
from papertape.contract.ids import Symbol
from papertape.contract.limits import RiskLimits
from papertape.trading.account.scenarios import (
    WIDE_LIMITS,
    Scenario,
    fill,
    kinds,
    opened,
    order,
)

D = Decimal
CENT = D("0.01")
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def in_eur(event: AccountOpened) -> AccountOpened:
    """The same account opened in euros."""
    return msgspec.structs.replace(event, base_currency="EUR")


def yen_margin(cash: str, limits: RiskLimits = WIDE_LIMITS) -> Scenario:
    """A USD margin account trading USDJPY at 150."""
    return Scenario(opened(cash, allow_short=True, limits=limits), marks={"USDJPY": "150"})


def euro_margin(cash: str, limits: RiskLimits = WIDE_LIMITS) -> Scenario:
    """A EUR margin account trading a dollar share, with the euro at 1.10 dollars."""
    return Scenario(
        in_eur(opened(cash, allow_short=True, limits=limits)),
        marks={"AAPL": "100", "EURUSD": "1.10"},
    )


def test_a_yen_flip_reserves_its_opening_part_in_dollars_until_that_part_fills() -> None:
    s = yen_margin("20000").given(
        order("o1", quantity="10000", symbol="USDJPY"), fill("o1", "150.000", "10000")
    )
    [flip] = s.when(order("flip", SELL, "20000", symbol="USDJPY"))
    assert isinstance(flip, OrderPlaced)
    assert (flip.opening_quantity, flip.rate) == (D(10000), D("0.006666666667"))
    # 10,000 short on 50% margin: 5,000 USD (750,000 JPY unconverted).
    assert D(5000) <= flip.reserved <= D("5000.40")
    s.given(fill("flip", "150.000", "10000"))  # the closing half releases nothing
    assert s.state.reserved == flip.reserved
    s.given(fill("flip", "150.000", "5000"))
    assert s.state.reserved == flip.reserved / 2


def test_the_position_limit_counts_working_yen_orders_in_dollars() -> None:
    s = yen_margin("50000", RiskLimits(max_position_pct=D(20)))  # 10,000 USD
    s.given(order("o1", quantity="9000", symbol="USDJPY"), fill("o1", "150.000", "9000"))
    s.given(order("x1", SELL, "9000", symbol="USDJPY"))  # closes the long
    [second] = s.when(order("x2", SELL, "9000", symbol="USDJPY"))  # then 9,000 USD short: 18%
    assert isinstance(second, OrderPlaced)
    [third] = s.when(order("x3", SELL, "9000", symbol="USDJPY"))  # 18,000 USD short: 36%
    assert isinstance(third, OrderRejected)
    assert third.reason_code is RejectReason.MAX_POSITION_SIZE


def test_a_margin_buy_of_a_dollar_share_is_checked_at_fill_against_euros() -> None:
    s = euro_margin("10000").given(order("o1", quantity="100"))
    # A gap to 105: 10,500 USD is 9,545.45 EUR, within the 10,000 EUR of cash.
    assert kinds(s.when(fill("o1", "105", "100"))) == ["OrderFilledV2"]
    assert s.state.cash.quantize(CENT) == D("454.55")

    s = euro_margin("10000").given(order("o1", quantity="100"))
    # A gap to 115: 11,500 USD is 10,454.55 EUR, beyond it.
    events = s.when(fill("o1", "115", "100"))
    assert kinds(events) == ["FillRejected", "OrderExpired"]
    rejected = events[0]
    assert isinstance(rejected, FillRejected)
    assert rejected.reason_code is RejectReason.INSUFFICIENT_BUYING_POWER
    assert "-454.55" in rejected.message
    assert s.state.cash == D(10000)


def exit_to_open_short(limit_price: str) -> Scenario:
    """A euro account whose resting dollar-share exit opens a short (its long closed first)."""
    s = euro_margin("50000", RiskLimits(max_position_pct=D(20)))  # 10,000 EUR
    s.given(order("o1", quantity="90"), fill("o1", "100", "90"))
    s.given(order("tp", SELL, "90", order_type=OrderType.LIMIT, limit_price=D(limit_price)))
    s.given(order("out", SELL, "90", reduce_only=True), fill("out", "100", "90"))
    return s


def test_an_exit_that_opens_at_fill_is_held_to_the_position_limit_in_euros() -> None:
    # 90 short at 120: 10,800 USD is 9,818.18 EUR, within 20% of 50,000 EUR.
    s = exit_to_open_short("120")
    [filled] = s.when(fill("tp", "120", "90"))
    assert isinstance(filled, OrderFilledV2)
    assert s.state.positions[filled.symbol].quantity == -90
    # 90 short at 130: 11,700 USD is 10,636.36 EUR, beyond it.
    s = exit_to_open_short("130")
    events = s.when(fill("tp", "130", "90"))
    assert kinds(events) == ["FillRejected", "OrderExpired"]
    rejected = events[0]
    assert isinstance(rejected, FillRejected)
    assert rejected.reason_code is RejectReason.MAX_POSITION_SIZE
    assert "10636.36" in rejected.message


def test_a_yen_flips_heat_takes_off_the_closed_parts_risk_in_dollars() -> None:
    limits = RiskLimits(max_position_pct=D(100), max_portfolio_heat_pct=D("0.45"))  # 90 USD
    s = yen_margin("20000", limits)
    s.given(order("o1", quantity="10000", symbol="USDJPY", stop_loss=D("149.1")))
    s.given(fill("o1", "150.000", "10000"))
    assert s.state.open_risk.quantize(CENT) == D("60.00")  # 9,000 JPY
    # The flip closes the long (its 60 USD of risk) and opens 10,000 short with 6,000 JPY
    # (40 USD) to its stop: 40 USD of heat, not 100.
    events = s.when(order("flip", SELL, "20000", symbol="USDJPY", stop_loss=D("150.6")))
    assert kinds(events) == ["OrderPlaced", "OrderPlaced"]


def test_the_daily_loss_at_the_decisions_prices_is_in_euros_at_the_decisions_rate() -> None:
    limits = RiskLimits(max_position_pct=D(100), max_daily_loss_pct=D(3))
    s = Scenario(in_eur(opened(limits=limits)), marks={"AAPL": "100", "EURUSD": "1.10"})
    s.given(order("o1", quantity="50"), fill("o1", "100", "50"))
    # The share is 6 dollars down: 300 USD is 272.73 EUR, 2.73% of the day's 10,000 EUR.
    s.marks[Symbol("AAPL")] = D(94)
    assert kinds(s.when(order("o2", quantity="1"))) == ["OrderPlaced"]
    # The dollar rises to par at the decision too: the same 300 USD is 300 EUR, 3%.
    s.marks[Symbol("EURUSD")] = D("1.00")
    events = s.when(order("o3", quantity="1"))
    assert kinds(events) == ["CircuitBreakerTripped", "OrderRejected"]
    tripped = events[0]
    assert isinstance(tripped, CircuitBreakerTripped)
    assert tripped.equity.quantize(CENT) == D("9700.00")
    assert isinstance(events[1], OrderRejected)
    assert events[1].reason_code is RejectReason.DAILY_LOSS_LIMIT


def test_the_heat_of_a_working_yen_entry_is_counted_in_dollars() -> None:
    limits = RiskLimits(max_position_pct=D(100), max_portfolio_heat_pct=D("0.45"))  # 90 USD
    s = Scenario(opened("20000", limits=limits), marks={"USDJPY": "150", "AAPL": "100"})
    entry = order(
        "o1",
        quantity="10000",
        symbol="USDJPY",
        order_type=OrderType.LIMIT,
        limit_price=D("150"),
        stop_loss=D("149.1"),
    )
    s.given(entry)  # working: 9,000 JPY (60 USD) to its stop
    # 27 USD more to the stop: 87 USD of heat in all (9,027 "USD" unconverted).
    placed = s.when(order("o2", quantity="9", stop_loss=D(97)))
    assert kinds(placed) == ["OrderPlaced", "OrderPlaced"]
    [refused] = s.when(order("o3", quantity="2", stop_loss=D(97)))  # 6 more: 93 USD
    assert isinstance(refused, OrderRejected)
    assert refused.reason_code is RejectReason.PORTFOLIO_HEAT
