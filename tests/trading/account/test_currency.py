"""Money in the account's base currency: conversion at the market's rate, recorded on the fill."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from papertape.contract.codec import Codec, encode, upcast
from papertape.contract.events.account import (
    AccountEvent,
    AccountOpened,
    OrderFilled,
    OrderFilledV2,
    OrderPlaced,
    OrderRejected,
    PositionClosed,
    PositionMarked,
    ResetAccount,
)
from papertape.contract.events.orders import OrderSide, RejectReason
from papertape.contract.ids import FillId, OrderId, Symbol
from papertape.contract.limits import RiskLimits
from papertape.trading.account import replay
from papertape.trading.account.currency import conversion_rate, symbols_to_mark
from papertape.trading.account.reports import (
    account_summary,
    closed_trades,
    open_orders,
    positions,
)
from papertape.trading.account.scenarios import (
    ACCOUNT,
    Scenario,
    at,
    fill,
    mark,
    opened,
    order,
    wide_open,
)

D = Decimal
CENT = D("0.01")
events_codec: Codec[AccountEvent] = Codec(AccountEvent)


def in_eur(event: AccountOpened) -> AccountOpened:
    """The same account opened in euros."""
    return msgspec.structs.replace(event, base_currency="EUR")


def placed(events: Sequence[AccountEvent]) -> OrderPlaced:
    """The order an accepted PlaceOrder placed."""
    assert isinstance(events[0], OrderPlaced), events
    return events[0]


def filled(events: Sequence[AccountEvent]) -> OrderFilledV2:
    """The fill a booked ApplyFill recorded."""
    assert isinstance(events[0], OrderFilledV2), events
    return events[0]


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT)


# --- the rate --------------------------------------------------------------------------------


def test_a_rate_comes_from_the_pair_its_inverse_or_a_cross_through_usd() -> None:
    marks = {Symbol("USDJPY"): D(150), Symbol("GBPUSD"): D("1.25"), Symbol("EURUSD"): D("1.1")}
    assert conversion_rate(marks, "JPY", "USD") == D("0.006666666667")
    assert conversion_rate(marks, "GBP", "USD") == D("1.25")
    assert conversion_rate(marks, "USD", "EUR") == D("0.9090909091")
    assert conversion_rate(marks, "GBP", "EUR") == D("1.136363636")  # 1.25 / 1.1
    assert conversion_rate(marks, "USDT", "USD") == 1
    assert conversion_rate(marks, "CHF", "USD") is None


# --- USDJPY on a USD account (the case) ----------------------------------------------


def usdjpy_account(cash: str = "20000", allow_short: bool = False) -> Scenario:
    return Scenario(wide_open(cash, allow_short), marks={"USDJPY": "150"})


def test_a_usdjpy_buy_on_a_usd_account_reserves_its_worth_in_dollars_not_in_yen() -> None:
    s = usdjpy_account()
    order_placed = placed(s.when(order("o1", quantity="10000", symbol="USDJPY")))
    # 10,000 USD (plus half the assumed 1-pip spread), not 1,500,000.
    assert D(10000) <= order_placed.reserved <= D("10000.40")
    assert order_placed.rate == D("0.006666666667")
    [working] = open_orders(s.state)
    assert (working.reserved, working.rate) == (cents(order_placed.reserved), order_placed.rate)


def test_a_usdjpy_round_trip_books_its_yen_profit_in_dollars_at_the_closing_rate() -> None:
    s = usdjpy_account()
    s.given(order("o1", quantity="10000", symbol="USDJPY"))
    bought = filled(s.when(fill("o1", "150.000", "10000")))
    assert bought.rate == D("0.006666666667")
    assert cents(s.state.cash) == D("10000.00")  # 1,500,000 JPY is 10,000 USD
    s.marks[Symbol("USDJPY")] = D(151)
    s.given(order("o2", OrderSide.SELL, "10000", symbol="USDJPY"))
    sold = filled(s.when(fill("o2", "151.000", "10000")))
    # 10,000 JPY of profit at 1/151: 66.23 USD (not 10,000 "USD").
    assert sold.rate == D("0.006622516556")
    assert cents(sold.realized_pnl) == D("66.23")
    assert cents(s.state.cash) == D("20066.23")
    assert cents(s.state.equity) == D("20066.23")
    [trade] = closed_trades(s.state)
    assert (trade.gross_pnl, trade.rate) == (D("66.23"), D("0.006622516556"))


def test_an_open_usdjpy_position_is_worth_its_move_at_the_current_rate() -> None:
    s = usdjpy_account()
    s.given(order("o1", quantity="10000", symbol="USDJPY"), fill("o1", "150.000", "10000"))
    s.when(mark("151", symbol="USDJPY", ts=at(5)))
    [view] = positions(s.state)
    assert view.unrealized_pnl == D("66.23")
    assert view.rate == D("0.006622516556")
    summary = account_summary(s.state)
    assert (summary.equity, summary.unrealized_pnl) == (D("20066.23"), D("66.23"))
    assert summary.equity == summary.cash + view.market_value


def test_fees_in_yen_are_charged_in_dollars_at_the_fills_rate() -> None:
    s = usdjpy_account()
    s.given(order("o1", quantity="10000", symbol="USDJPY"))
    s.when(fill("o1", "150.000", "10000", fee="1500"))
    assert cents(s.state.fees_paid) == D("10.00")
    assert cents(s.state.cash) == D("9990.00")


def test_a_short_usdjpy_on_margin_takes_dollars_of_margin_not_yen() -> None:
    s = usdjpy_account("10000", allow_short=True)
    order_placed = placed(s.when(order("o1", OrderSide.SELL, "10000", symbol="USDJPY")))
    assert D(5000) <= order_placed.reserved <= D("5000.40")  # 50% of 10,000 USD
    s.when(fill("o1", "150.000", "10000"))
    assert cents(s.state.cash) == D("20000.00")
    assert cents(s.state.available_funds) == D("5000.00")


def test_position_limits_compare_the_position_in_dollars() -> None:
    limits = RiskLimits(max_position_pct=D(60))
    s = Scenario(opened("20000", limits=limits), marks={"USDJPY": "150"})
    # 10,000 USD is 50% of equity: within the 60% limit (in yen it was 7,500%).
    placed(s.when(order("o1", quantity="10000", symbol="USDJPY")))
    [refused] = s.when(order("o2", quantity="5000", symbol="USDJPY"))
    assert isinstance(refused, OrderRejected)
    assert refused.reason_code is RejectReason.MAX_POSITION_SIZE


def test_the_risk_to_the_stop_is_compared_in_dollars() -> None:
    limits = RiskLimits(max_position_pct=D(100), max_risk_per_trade_pct=D(1))
    s = Scenario(opened("20000", limits=limits), marks={"USDJPY": "150"})
    # 2.5 yen a unit to the stop on 10,000 units: 25,000 JPY = 166.67 USD, within 1% (200).
    placed(s.when(order("o1", quantity="10000", symbol="USDJPY", stop_loss=D("147.5"))))
    # 3.5 yen: 35,000 JPY = 233.33 USD, beyond it.
    s = Scenario(opened("20000", limits=limits), marks={"USDJPY": "150"})
    [refused] = s.when(order("o2", quantity="10000", symbol="USDJPY", stop_loss=D("146.5")))
    assert isinstance(refused, OrderRejected)
    assert refused.reason_code is RejectReason.MAX_RISK_PER_TRADE
    assert "233.33" in refused.message


# --- crosses and other base currencies -------------------------------------------------------


def test_eurgbp_on_a_usd_account_books_pounds_as_dollars_at_gbpusd() -> None:
    s = Scenario(wide_open("10000"), marks={"EURGBP": "0.85", "GBPUSD": "1.25"})
    s.given(order("o1", quantity="1000", symbol="EURGBP"))
    s.when(fill("o1", "0.85000", "1000"))
    assert cents(s.state.cash) == D("8937.50")  # 850 GBP = 1,062.50 USD
    s.when(mark("0.86", symbol="EURGBP", ts=at(5)))
    assert cents(s.state.unrealized_pnl) == D("12.50")  # 10 GBP
    # The pound moves: the position's move is worth more dollars; its principal stays booked.
    s.when(mark("1.30", symbol="GBPUSD", ts=at(6)))
    assert cents(s.state.unrealized_pnl) == D("13.00")
    assert cents(s.state.equity) == D("10013.00")


def test_a_eur_account_buying_eurusd_pays_in_euros_at_the_pairs_rate() -> None:
    s = Scenario(in_eur(wide_open("10000")), marks={"EURUSD": "1.10"})
    s.given(order("o1", quantity="1000", symbol="EURUSD"))
    bought = filled(s.when(fill("o1", "1.10000", "1000")))
    assert bought.rate == D("0.9090909091")
    assert cents(s.state.cash) == D("9000.00")  # 1,100 USD = 1,000 EUR
    summary = account_summary(s.state)
    assert (summary.base_currency, summary.equity) == ("EUR", D("10000.00"))


def test_a_eur_account_buying_a_dollar_share_pays_euros_at_eurusd() -> None:
    s = Scenario(in_eur(wide_open("10000")), marks={"AAPL": "100", "EURUSD": "1.25"})
    s.given(order("o1", quantity="10"))
    s.when(fill("o1", "100", "10", fee="1"))
    assert cents(s.state.cash) == D("9199.20")  # 1,001 USD = 800.80 EUR


def test_a_eur_account_converts_yen_through_the_dollar() -> None:
    s = Scenario(in_eur(wide_open("10000")), marks={"USDJPY": "150", "EURUSD": "1.25"})
    order_placed = placed(s.when(order("o1", quantity="1000", symbol="USDJPY")))
    # 150,000 JPY = 1,000 USD = 800 EUR.
    assert D(800) <= order_placed.reserved <= D("800.10")


def test_an_instrument_without_a_known_rate_is_refused_no_conversion_rate() -> None:
    s = Scenario(wide_open(), marks={"EURGBP": "0.85"})
    [refused] = s.when(order("o1", quantity="1000", symbol="EURGBP"))
    assert isinstance(refused, OrderRejected)
    assert refused.reason_code is RejectReason.NO_CONVERSION_RATE
    assert "GBP" in refused.message


# --- marks of the conversion pairs -----------------------------------------------------------


def test_the_account_asks_for_the_pairs_that_convert_what_it_holds() -> None:
    s = Scenario(wide_open(), marks={"EURGBP": "0.85", "GBPUSD": "1.25"})
    assert symbols_to_mark(s.state) == []
    s.given(order("o1", quantity="1000", symbol="EURGBP"), fill("o1", "0.85000", "1000"))
    assert {"EURGBP", "GBPUSD", "USDGBP"} <= set(symbols_to_mark(s.state))


def test_a_mark_of_a_conversion_pair_is_applied_to_an_account_holding_its_currency() -> None:
    s = Scenario(wide_open(), marks={"EURGBP": "0.85", "GBPUSD": "1.25"})
    assert s.when(mark("1.26", symbol="GBPUSD")) == []  # nothing in pounds yet
    s.given(order("o1", quantity="1000", symbol="EURGBP"), fill("o1", "0.85000", "1000"))
    [marked] = s.when(mark("1.30", symbol="GBPUSD", ts=at(5)))
    assert isinstance(marked, PositionMarked)
    assert s.state.positions[Symbol("EURGBP")].rate == D("1.30")


# --- replay and audit without the market ------------------------------------------------------


def test_replay_books_the_recorded_rates_without_the_market() -> None:
    s = usdjpy_account()
    s.given(order("o1", quantity="10000", symbol="USDJPY"), fill("o1", "150.000", "10000"))
    s.marks.clear()  # the market is gone: the log alone rebuilds the account
    assert replay(s.events) == s.state


def test_a_stored_v1_fill_reads_as_booked_at_a_rate_of_one() -> None:
    v1 = OrderFilled(
        account_id=ACCOUNT,
        ts=at(1),
        order_id=OrderId("o1"),
        fill_id=FillId("f1"),
        symbol=Symbol("AAPL"),
        side=OrderSide.BUY,
        price=D(100),
        quantity=D(10),
        position_quantity=D(10),
        position_avg_price=D(100),
        cash_after=D(9000),
        order_remaining=D(0),
    )
    read = upcast(events_codec.decode(encode(v1)))
    assert isinstance(read, OrderFilledV2)
    assert read.rate == 1
    assert msgspec.structs.asdict(read) == {**msgspec.structs.asdict(v1), "rate": 1}
    s = Scenario(wide_open()).given(order("o1"))
    assert replay([*s.events, v1]) == replay([*s.events, read])
    assert replay([*s.events, read]).cash == D(9000)


def test_a_reset_closes_a_yen_position_at_its_mark_and_rate_in_dollars() -> None:
    s = usdjpy_account()
    s.given(order("o1", quantity="10000", symbol="USDJPY"), fill("o1", "150.000", "10000"))
    s.when(mark("151", symbol="USDJPY", ts=at(5)))
    events = s.when(ResetAccount(account_id=ACCOUNT), at(6))
    [closed] = [e for e in events if isinstance(e, PositionClosed)]
    assert closed.rate == D("0.006622516556")
    assert cents(closed.realized_pnl) == D("66.23")
    assert cents(closed.cash_after) == D("20066.23")
    assert replay(s.events) == s.state


def test_a_position_held_can_be_closed_when_its_rate_is_no_longer_quoted() -> None:
    s = Scenario(wide_open(), marks={"EURGBP": "0.85", "GBPUSD": "1.25"})
    s.given(order("o1", quantity="1000", symbol="EURGBP"), fill("o1", "0.85000", "1000"))
    del s.marks[Symbol("GBPUSD")]  # the pound's rate is no longer known to the decision
    exit_ = placed(s.when(order("o2", OrderSide.SELL, "1000", symbol="EURGBP", reduce_only=True)))
    assert exit_.rate == D("1.25")
    assert cents(filled(s.when(fill("o2", "0.86000", "1000"))).realized_pnl) == D("12.50")
