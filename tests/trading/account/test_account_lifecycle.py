"""Opening, funding, limits, costs, resets and the kill switch."""

from __future__ import annotations

from decimal import Decimal

import pytest

from papertape.contract.costs import CostModel, schedule_from
from papertape.contract.events.account import (
    AccountOpened,
    AccountReset,
    CommandRejected,
    CostModelSetV2,
    Deposit,
    HaltTrading,
    OpenAccount,
    OrderRejected,
    PositionClosed,
    ResetAccount,
    ResumeTrading,
    SetCostModel,
    SetRiskLimits,
    TradingHalted,
    Withdraw,
    WithdrawalRejected,
)
from papertape.contract.events.orders import ExitReason, OrderSide, RejectReason
from papertape.contract.limits import RiskLimits
from papertape.trading.account import replay
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


def test_open_account_defaults_to_ten_thousand_usd_cash_only() -> None:
    events = Scenario().when(OpenAccount(account_id=ACCOUNT, name="demo"))
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, AccountOpened)
    assert (event.initial_cash, event.base_currency, event.allow_short) == (
        Decimal(10000),
        "USD",
        False,
    )
    assert event.limits == RiskLimits()


def test_opened_account_has_its_cash_as_equity() -> None:
    s = Scenario(opened("2500"))
    assert (s.state.cash, s.state.equity, s.state.high_water_mark) == (
        Decimal(2500),
        Decimal(2500),
        Decimal(2500),
    )


def test_opening_an_open_account_is_refused() -> None:
    events = Scenario(opened()).when(OpenAccount(account_id=ACCOUNT, name="again"))
    assert isinstance(events[0], CommandRejected)
    assert events[0].reason_code is RejectReason.ACCOUNT_ALREADY_OPEN


def test_commands_to_an_unopened_account_are_refused() -> None:
    s = Scenario()
    events = s.when(Deposit(account_id=ACCOUNT, amount=Decimal(5)))
    assert isinstance(events[0], CommandRejected)
    assert events[0].reason_code is RejectReason.ACCOUNT_NOT_OPEN
    placed = s.when(order("o1"))
    assert isinstance(placed[0], OrderRejected)
    assert placed[0].reason_code is RejectReason.ACCOUNT_NOT_OPEN


def test_deposit_adds_cash_without_counting_as_profit() -> None:
    s = Scenario(opened())
    s.when(Deposit(account_id=ACCOUNT, amount=Decimal(500)))
    assert s.state.cash == 10500
    assert s.state.day_start_equity == 10500
    assert s.state.net_deposits == 500


def test_non_positive_deposit_is_refused() -> None:
    events = Scenario(opened()).when(Deposit(account_id=ACCOUNT, amount=Decimal(0)))
    assert isinstance(events[0], CommandRejected)
    assert events[0].reason_code is RejectReason.INVALID_AMOUNT


def test_withdraw_takes_cash_out() -> None:
    s = Scenario(opened())
    s.when(Withdraw(account_id=ACCOUNT, amount=Decimal(1000)))
    assert s.state.cash == 9000


def test_withdrawal_beyond_cash_is_refused() -> None:
    events = Scenario(opened()).when(Withdraw(account_id=ACCOUNT, amount=Decimal(10001)))
    assert isinstance(events[0], WithdrawalRejected)
    assert events[0].reason_code is RejectReason.INSUFFICIENT_FUNDS


def test_withdrawal_cannot_take_cash_reserved_for_open_orders() -> None:
    s = Scenario(wide_open()).given(order("o1", quantity="50"))
    events = s.when(Withdraw(account_id=ACCOUNT, amount=Decimal(5001)))
    assert isinstance(events[0], WithdrawalRejected)
    assert events[0].reason_code is RejectReason.INSUFFICIENT_FUNDS


def test_non_positive_withdrawal_is_refused() -> None:
    events = Scenario(opened()).when(Withdraw(account_id=ACCOUNT, amount=Decimal(0)))
    assert isinstance(events[0], WithdrawalRejected)
    assert events[0].reason_code is RejectReason.INVALID_AMOUNT


def test_set_risk_limits_replaces_them() -> None:
    limits = RiskLimits(max_position_pct=Decimal(25), max_trades_per_day=3)
    s = Scenario(opened())
    s.when(SetRiskLimits(account_id=ACCOUNT, limits=limits))
    assert s.state.limits == limits


def test_non_positive_risk_limit_is_refused() -> None:
    limits = RiskLimits(max_daily_loss_pct=Decimal(0))
    events = Scenario(opened()).when(SetRiskLimits(account_id=ACCOUNT, limits=limits))
    assert isinstance(events[0], CommandRejected)
    assert events[0].reason_code is RejectReason.INVALID_LIMITS


def test_a_v1_set_cost_model_stores_the_schedule_it_stands_for() -> None:
    model = CostModel(commission_per_share=Decimal("0.005"), commission_min=Decimal(1))
    s = Scenario(opened())
    [event] = s.when(SetCostModel(account_id=ACCOUNT, cost_model=model))
    assert isinstance(event, CostModelSetV2)
    assert s.state.costs == event.schedule == schedule_from(model)


def test_negative_costs_cannot_even_be_built() -> None:
    with pytest.raises(ValueError, match="slippage_bps must be 0 <= x"):
        CostModel(slippage_bps=Decimal(-1))


def test_reset_cancels_orders_and_starts_a_new_epoch_with_fresh_cash() -> None:
    s = Scenario(wide_open()).given(order("o1"))
    events = s.when(ResetAccount(account_id=ACCOUNT, initial_cash=Decimal(5000)), at(60))
    assert kinds(events) == ["OrderCancelled", "AccountReset"]
    reset = events[-1]
    assert isinstance(reset, AccountReset)
    assert reset.epoch == 1
    assert (s.state.cash, s.state.epoch, len(s.state.orders)) == (Decimal(5000), 1, 0)


def test_reset_closes_open_positions_at_the_mark_as_trades_before_starting_over() -> None:
    s = Scenario(wide_open()).given(
        order("o1", stop_loss=Decimal(95)), fill("o1", "100"), mark("105", ts=at(30))
    )
    events = s.when(ResetAccount(account_id=ACCOUNT), at(60))
    assert kinds(events) == ["OrderCancelled", "PositionClosed", "AccountReset"]
    closed = events[1]
    assert isinstance(closed, PositionClosed)
    assert (closed.symbol, closed.side, closed.quantity, closed.price) == (
        AAPL,
        OrderSide.SELL,
        Decimal(10),
        Decimal(105),
    )
    assert (closed.exit_reason, closed.realized_pnl, closed.cash_after) == (
        ExitReason.RESET,
        Decimal(50),
        Decimal(10050),
    )
    before_reset = replay(s.events[:-1])
    trade = before_reset.closed_trades[-1]
    assert (trade.exit_reason, trade.net_pnl, trade.exit_price) == (
        ExitReason.RESET,
        Decimal(50),
        Decimal(105),
    )
    assert before_reset.positions == {}
    assert before_reset.cash == 10050
    assert s.state.positions == {}
    assert s.state.cash == 10000


def test_the_closing_trades_of_a_reset_count_towards_the_days_limit() -> None:
    s = Scenario(wide_open()).given(order("o1"), fill("o1", "100"))
    s.given(ResetAccount(account_id=ACCOUNT), now=at(60))
    assert s.state.trades_today == 2  # the entry and its closing at the mark


def test_reset_buys_back_a_short_at_the_mark_and_replays_to_the_live_state() -> None:
    s = Scenario(wide_open(allow_short=True)).given(
        order("o1", side=OrderSide.SELL), fill("o1", "100"), mark("98", ts=at(30))
    )
    events = s.when(ResetAccount(account_id=ACCOUNT, initial_cash=Decimal(7000)), at(60))
    closed = events[0]
    assert isinstance(closed, PositionClosed)
    assert (closed.side, closed.realized_pnl) == (OrderSide.BUY, Decimal(20))
    assert replay(s.events) == s.state


def test_reset_keeps_order_ids_so_retries_stay_idempotent() -> None:
    s = Scenario(wide_open()).given(order("o1"))
    s.when(ResetAccount(account_id=ACCOUNT))
    assert s.when(order("o1")) == []


def test_halt_refuses_new_orders_until_resumed() -> None:
    s = Scenario(wide_open())
    halted = s.when(HaltTrading(account_id=ACCOUNT, reason="runaway bot"))
    assert isinstance(halted[0], TradingHalted)
    rejected = s.when(order("o1"))
    assert isinstance(rejected[0], OrderRejected)
    assert rejected[0].reason_code is RejectReason.TRADING_HALTED
    s.when(ResumeTrading(account_id=ACCOUNT))
    assert kinds(s.when(order("o2"))) == ["OrderPlaced"]


def test_halting_twice_and_resuming_a_running_account_change_nothing() -> None:
    s = Scenario(opened()).given(HaltTrading(account_id=ACCOUNT, reason="x"))
    assert s.when(HaltTrading(account_id=ACCOUNT, reason="y")) == []
    s.when(ResumeTrading(account_id=ACCOUNT))
    assert s.when(ResumeTrading(account_id=ACCOUNT)) == []


def test_marks_for_symbols_not_held_or_worked_record_nothing() -> None:
    assert Scenario(opened()).when(mark("123", symbol="MSFT")) == []
