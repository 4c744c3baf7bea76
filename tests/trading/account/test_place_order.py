"""Placing orders: reserves, brackets, idempotency and every pre-trade rejection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

import pytest

from papertape.contract.costs import CostModel
from papertape.contract.events.account import (
    CancelOrder,
    CostModelSet,
    ExpireOrder,
    OrderPlaced,
    OrderRejected,
    SetRiskLimits,
)
from papertape.contract.events.orders import (
    OrderRole,
    OrderSide,
    OrderType,
    RejectReason,
    TimeInForce,
)
from papertape.contract.ids import ClientOrderId, OrderId
from papertape.contract.limits import RiskLimits
from papertape.trading.account.scenarios import (
    AAPL,
    ACCOUNT,
    Scenario,
    at,
    fill,
    kinds,
    mark,
    opened,
    order,
    wide_open,
)

D = Decimal


def rejection(events: Sequence[object]) -> RejectReason:
    """The reason code of the last event, which must be an OrderRejected."""
    last = events[-1]
    assert isinstance(last, OrderRejected), last
    return last.reason_code


def test_market_buy_reserves_its_cost_at_the_last_price_plus_fees() -> None:
    costs = CostModel(commission_per_share=D("0.01"), commission_min=D(1), slippage_bps=D(10))
    s = Scenario(opened(), CostModelSet(account_id=ACCOUNT, ts=at(), cost_model=costs))
    events = s.when(order("o1", quantity="5"))
    placed = events[0]
    assert isinstance(placed, OrderPlaced)
    assert placed.reference_price == 100
    assert placed.reserved == D("5") * D("100.1") + 1
    assert s.state.available_funds == 10000 - placed.reserved


def test_limit_buy_reserves_at_its_limit_price() -> None:
    s = Scenario(opened())
    placed = s.when(order("o1", order_type=OrderType.LIMIT, limit_price=D("95")))[0]
    assert isinstance(placed, OrderPlaced)
    assert placed.reserved == 950 + 1  # and the equity default's $1.00 minimum commission


def test_bracket_creates_reduce_only_stop_loss_and_take_profit_children() -> None:
    s = Scenario(opened())
    events = s.when(order("o1", stop_loss=D("98"), take_profit=D("105")))
    assert kinds(events) == ["OrderPlaced"] * 3
    sl, tp = events[1], events[2]
    assert isinstance(sl, OrderPlaced)
    assert isinstance(tp, OrderPlaced)
    assert (sl.order_id, sl.role, sl.order_type, sl.stop_price) == (
        "o1-sl",
        OrderRole.STOP_LOSS,
        OrderType.STOP,
        D(98),
    )
    assert (tp.order_id, tp.role, tp.order_type, tp.limit_price) == (
        "o1-tp",
        OrderRole.TAKE_PROFIT,
        OrderType.LIMIT,
        D(105),
    )
    assert sl.side is tp.side is OrderSide.SELL
    assert sl.reduce_only
    assert tp.reduce_only
    assert sl.parent_order_id == tp.parent_order_id == "o1"


def test_repeating_an_order_id_records_nothing() -> None:
    s = Scenario(opened()).given(order("o1"))
    assert s.when(order("o1")) == []


def test_reusing_a_client_order_id_for_another_order_is_refused() -> None:
    s = Scenario(opened()).given(order("o1", client_order_id=ClientOrderId("c1")))
    events = s.when(order("o2", client_order_id=ClientOrderId("c1")))
    assert rejection(events) is RejectReason.DUPLICATE_CLIENT_ORDER_ID


def test_a_rejected_order_retried_with_its_id_records_nothing_more() -> None:
    s = Scenario(opened()).given(order("o1", quantity="1000"))
    assert s.when(order("o1", quantity="1000")) == []


@pytest.mark.parametrize(
    "kw",
    [
        {"quantity": "0"},
        {"quantity": "1.5"},
        {"order_type": OrderType.LIMIT},
        {"order_type": OrderType.STOP},
        {"order_type": OrderType.STOP_LIMIT, "limit_price": D(101)},
        {"limit_price": D(101)},
        {"order_type": OrderType.TRAILING_STOP},
        {"order_type": OrderType.TRAILING_STOP, "trail_amount": D(1), "trail_percent": D(1)},
        {"order_type": OrderType.TRAILING_STOP, "trail_amount": D(0)},
        {"order_type": OrderType.LIMIT, "limit_price": D("100.001")},
        {"order_type": OrderType.LIMIT, "limit_price": D("0")},
        {"time_in_force": TimeInForce.GTD},
        {"time_in_force": TimeInForce.GTD, "expire_at": at(-5)},
        {"expire_at": at(3600)},
        {"reduce_only": True, "stop_loss": D(95)},
        {"stop_loss": D(101)},
        {"take_profit": D(99)},
    ],
    ids=[
        "zero-qty",
        "fractional-share",
        "limit-without-price",
        "stop-without-price",
        "stop-limit-without-stop",
        "market-with-limit",
        "trailing-without-trail",
        "trailing-with-two-trails",
        "zero-trail",
        "off-tick",
        "zero-price",
        "gtd-without-expiry",
        "gtd-in-the-past",
        "expiry-without-gtd",
        "reduce-only-bracket",
        "stop-loss-above-buy",
        "take-profit-below-buy",
    ],
)
def test_malformed_orders_are_refused_as_invalid(kw: dict[str, object]) -> None:
    events = Scenario(opened()).when(order("o1", **kw))  # type: ignore[arg-type]
    assert rejection(events) is RejectReason.INVALID_ORDER


def test_a_symbol_that_cannot_be_an_instrument_is_refused() -> None:
    assert rejection(Scenario(opened()).when(order("o1", symbol="no way"))) is (
        RejectReason.UNKNOWN_SYMBOL
    )


def test_a_market_order_without_any_known_price_is_refused() -> None:
    s = Scenario(opened(), marks={})
    assert rejection(s.when(order("o1"))) is RejectReason.NO_MARKET_PRICE


def test_crypto_accepts_fractional_quantities() -> None:
    s = Scenario(wide_open(), marks={"BTCUSD": "40000"})
    assert kinds(s.when(order("o1", symbol="BTCUSD", quantity="0.01"))) == ["OrderPlaced"]


def test_an_order_bigger_than_ten_percent_of_equity_is_refused() -> None:
    s = Scenario(opened())
    assert rejection(s.when(order("o1", quantity="11"))) is RejectReason.MAX_POSITION_SIZE
    assert kinds(s.when(order("o2", quantity="10"))) == ["OrderPlaced"]


def test_position_size_counts_the_position_and_working_entries() -> None:
    s = Scenario(opened()).given(order("o1", quantity="6"), fill("o1", "100", "6"))
    assert rejection(s.when(order("o2", quantity="5"))) is RejectReason.MAX_POSITION_SIZE


def test_risk_to_the_stop_above_two_percent_of_equity_is_refused() -> None:
    limits = RiskLimits(max_position_pct=D(100))
    s = Scenario(opened(limits=limits))
    events = s.when(order("o1", quantity="50", stop_loss=D(95)))  # risk 250 > 200
    assert rejection(events) is RejectReason.MAX_RISK_PER_TRADE
    assert kinds(s.when(order("o2", quantity="40", stop_loss=D(95)))) == ["OrderPlaced"] * 2


def test_portfolio_heat_sums_open_risk_of_positions_and_working_entries() -> None:
    limits = RiskLimits(max_position_pct=D(100), max_portfolio_heat_pct=D(3))
    s = Scenario(opened(limits=limits)).given(
        order("o1", quantity="20", stop_loss=D(95)),
        fill("o1", "100", "20"),  # risk 100
        order("o2", quantity="20", stop_loss=D(95)),  # working, risk 100
    )
    events = s.when(order("o3", quantity="30", stop_loss=D(96)))  # risk 120: 320 > 300
    assert rejection(events) is RejectReason.PORTFOLIO_HEAT


def test_buying_more_than_the_free_cash_is_refused() -> None:
    s = Scenario(wide_open()).given(order("o1", quantity="60"))
    assert rejection(s.when(order("o2", quantity="41"))) is (RejectReason.INSUFFICIENT_BUYING_POWER)


def test_selling_short_is_refused_on_a_cash_account() -> None:
    s = Scenario(wide_open())
    assert rejection(s.when(order("o1", side=OrderSide.SELL))) is (
        RejectReason.SHORT_SELLING_NOT_ALLOWED
    )


def test_short_sale_needs_margin_on_a_margin_account() -> None:
    s = Scenario(wide_open(allow_short=True))
    assert kinds(s.when(order("o1", side=OrderSide.SELL, quantity="199"))) == ["OrderPlaced"]
    # 199 x 100 x 0.5 + the $1.00 minimum fee = 9,951 reserved: 49 is not enough for another.
    events = s.when(order("o2", side=OrderSide.SELL, quantity="1"))
    assert rejection(events) is RejectReason.INSUFFICIENT_MARGIN


def test_reduce_only_order_that_would_open_is_refused() -> None:
    s = Scenario(wide_open()).given(order("o1", quantity="5"), fill("o1", "100", "5"))
    events = s.when(order("o2", side=OrderSide.SELL, quantity="6", reduce_only=True))
    assert rejection(events) is RejectReason.REDUCE_ONLY_VIOLATION
    events = s.when(order("o3", side=OrderSide.SELL, quantity="5", reduce_only=True))
    assert kinds(events) == ["OrderPlaced"]


def test_max_trades_per_day_counts_fills_and_resets_the_next_day() -> None:
    limits = RiskLimits(max_trades_per_day=2)
    s = Scenario(opened(limits=limits)).given(
        order("o1", quantity="1"), fill("o1", "100", "1"), order("o2", quantity="1")
    )
    assert s.state.trades_today == 1
    s.given(fill("o2", "100", "1"))
    assert rejection(s.when(order("o3", quantity="1"))) is RejectReason.MAX_TRADES_PER_DAY
    assert kinds(s.when(order("o4", quantity="1"), at(days=1))) == ["OrderPlaced"]


def test_accepted_cancelled_and_expired_orders_are_not_trades() -> None:
    limits = RiskLimits(max_trades_per_day=1)
    s = Scenario(opened(limits=limits)).given(
        order("o1", quantity="1"),
        CancelOrder(account_id=ACCOUNT, order_id=OrderId("o1")),
        order("o2", quantity="1"),
        ExpireOrder(account_id=ACCOUNT, order_id=OrderId("o2"), ts=at(2)),
    )
    assert s.state.trades_today == 0
    assert kinds(s.when(order("o3", quantity="2"))) == ["OrderPlaced"]


def test_partial_fills_of_one_order_are_one_trade_and_a_closing_fill_is_another() -> None:
    s = Scenario(wide_open()).given(
        order("o1", quantity="4"), fill("o1", "100", "1"), fill("o1", "100", "3")
    )
    assert s.state.trades_today == 1
    s.given(order("o2", side=OrderSide.SELL, quantity="4"), fill("o2", "101", "4"))
    assert s.state.trades_today == 2


def test_entries_closer_than_the_minimum_interval_are_refused() -> None:
    limits = RiskLimits(min_trade_interval_s=60)
    s = Scenario(opened(limits=limits)).given(order("o1", quantity="1"), now=at(0))
    assert rejection(s.when(order("o2", quantity="1"), at(30))) is RejectReason.MIN_TRADE_INTERVAL
    assert kinds(s.when(order("o3", quantity="1"), at(60))) == ["OrderPlaced"]


def test_daily_loss_beyond_the_limit_trips_the_breaker_and_blocks_entries() -> None:
    s = Scenario(opened(limits=RiskLimits(max_position_pct=D(100))))
    s.given(order("o1", quantity="50"), fill("o1", "100", "50"))
    events = s.when(mark("89"))  # 50 x 11 = 550 lost: 5.5% of 10,000
    assert kinds(events) == ["PositionMarked", "CircuitBreakerTripped"]
    assert rejection(s.when(order("o2", quantity="1"))) is RejectReason.DAILY_LOSS_LIMIT


def test_exits_pass_while_the_breaker_is_tripped() -> None:
    s = Scenario(opened(limits=RiskLimits(max_position_pct=D(100))))
    s.given(order("o1", quantity="50"), fill("o1", "100", "50"), mark("89"))
    events = s.when(order("o2", side=OrderSide.SELL, quantity="50"))
    assert kinds(events) == ["OrderPlaced"]


def test_the_breaker_resets_on_the_next_utc_day() -> None:
    s = Scenario(opened(limits=RiskLimits(max_position_pct=D(100))))
    s.given(order("o1", quantity="50"), fill("o1", "100", "50"), mark("89"))
    events = s.when(order("o2", quantity="1"), at(days=1))
    assert kinds(events) == ["OrderPlaced"]


def test_an_entry_finds_a_loss_past_a_lowered_limit_and_trips_the_breaker() -> None:
    s = Scenario(opened(limits=RiskLimits(max_position_pct=D(100))))
    s.given(order("o1", quantity="50"), fill("o1", "100", "50"), mark("94.5"))  # 2.75% down
    s.marks[AAPL] = D("94.5")  # the decision's price is the mark's
    assert not s.state.breaker_tripped
    s.given(SetRiskLimits(account_id=ACCOUNT, limits=RiskLimits(max_daily_loss_pct=D(2))))
    events = s.when(order("o2", quantity="1"))
    assert kinds(events) == ["CircuitBreakerTripped", "OrderRejected"]
    assert rejection(events) is RejectReason.DAILY_LOSS_LIMIT
    assert s.state.breaker_tripped


def test_flip_order_is_an_entry_for_its_opening_part_only() -> None:
    s = Scenario(wide_open(allow_short=True)).given(order("o1", quantity="10"), fill("o1", "100"))
    placed = s.when(order("o2", side=OrderSide.SELL, quantity="15"))[0]
    assert isinstance(placed, OrderPlaced)
    assert placed.opening
    assert placed.reserved == D(5) * 100 * D("0.5") + 1  # margin and the minimum commission


def test_an_expired_gtd_order_is_accepted_while_expiry_is_in_the_future() -> None:
    events = Scenario(opened()).when(
        order("o1", time_in_force=TimeInForce.GTD, expire_at=at(3600) + timedelta(days=1))
    )
    assert kinds(events) == ["OrderPlaced"]
