"""Metrics net of deposits and withdrawals, the honest daily series, and round trips."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from papertape.contract.events.account import Deposit, Withdraw
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.reports import EquityPoint
from papertape.trading.account.performance import daily_returns, drawdown, performance
from papertape.trading.account.reports import (
    account_performance,
    account_summary,
    closed_trades,
    equity_curve,
)
from papertape.trading.account.scenarios import (
    ACCOUNT,
    T0,
    Scenario,
    at,
    fill,
    mark,
    order,
    wide_open,
)

D = Decimal
DAY = 86400.0


def point(days: float, equity: str, flow: str = "0") -> EquityPoint:
    """An all-cash equity point ``days`` after T0 with the flow it records."""
    return EquityPoint(ts=T0 + timedelta(days=days), equity=D(equity), cash=D(equity), flow=D(flow))


def test_a_withdrawal_after_a_gain_leaves_the_total_return_at_that_gain() -> None:
    s = Scenario(wide_open("10000")).given(
        order("o1"),
        fill("o1", "100"),
        order("o2", side=OrderSide.SELL),
        fill("o2", "200", ts=at(120)),
    )
    # In the same minute as the sale: the curve's point for the minute carries the flow.
    s.when(Withdraw(account_id=ACCOUNT, amount=D(9000)), now=at(130))

    metrics = account_performance(s.state)

    assert metrics.ending_equity == D(2000)
    assert metrics.net_profit == D(1000)
    assert metrics.total_return_pct == D(10)  # 11000 / 10000, not 1000 / 1000
    assert equity_curve(s.state)[-1].flow == D(-9000)


def test_a_deposit_does_not_hide_a_drawdown() -> None:
    # 1000 falls to 800 (-20%), then 1000 is deposited: the account has not recovered.
    curve = [point(0, "1000"), point(1, "800"), point(2, "1800", "1000"), point(3, "1800")]

    m = performance([], curve, starting_equity=D(1000), net_deposits=D(1000), periods_per_year=365)

    assert m.total_return_pct == D(-20)
    assert m.net_profit == D(-200)
    assert m.max_drawdown_pct == D(20)
    # The high-water mark scales with the deposit: 1000 x 1800 / 800 = 2250, less 1800.
    assert m.max_drawdown == D(450)
    assert m.max_drawdown_duration_s == 3 * DAY
    # Daily returns 0, -20%, 0, 0: mean -0.05, sample deviation 0.1.
    assert m.sharpe is not None
    assert abs(m.sharpe - D(str(-0.5 * math.sqrt(365)))) < D("1e-9")


def test_a_deposit_during_a_drawdown_keeps_the_accounts_drawdown_percentage() -> None:
    s = Scenario(wide_open("10000")).given(
        order("o1", quantity="50"), fill("o1", "100", "50"), mark("80", ts=at(60))
    )
    s.when(Deposit(account_id=ACCOUNT, amount=D(9000)), now=at(120))

    summary = account_summary(s.state)

    # Equity 9000 is 10% under 10000; after the deposit 18000 is 10% under 20000.
    assert (summary.equity, summary.high_water_mark) == (D(18000), D(20000))
    assert (summary.drawdown, summary.drawdown_pct) == (D(2000), D(10))
    assert account_performance(s.state).max_drawdown_pct == D(10)


def test_a_curve_that_only_rises_has_no_drawdown_duration() -> None:
    dd = drawdown([point(0, "100"), point(30, "130"), point(31, "131")])

    assert (dd.value, dd.pct, dd.duration_s) == (D(0), D(0), 0.0)


def test_cagr_is_the_flow_adjusted_growth() -> None:
    # +10%, a withdrawal of 50 (no return), +10% again: 1.21 over one year, 21% a year.
    curve = [point(0, "100"), point(1, "110"), point(2, "60", "-50"), point(365.25, "66")]

    m = performance([], curve, starting_equity=D(100), net_deposits=D(-50))

    assert m.cagr_pct is not None
    assert abs(m.cagr_pct - 21) < D("1e-9")
    assert abs(m.total_return_pct - 21) < D("1e-20")


def test_the_daily_series_keeps_the_first_day_and_idle_days() -> None:
    # T0 is Tuesday 14:30; Thursday has no point, then the weekend passes until Monday.
    curve = [
        point(0, "100"),
        point(0.25, "110"),
        point(1, "99"),
        point(3, "108.9"),
        point(6, "119.79"),
    ]

    assert daily_returns(curve, 252) == [0.1, -0.1, 0.0, 0.1, 0.1]
    assert daily_returns(curve, 365) == [0.1, -0.1, 0.0, 0.1, 0.0, 0.0, 0.1]
    m = performance([], curve, starting_equity=D(100), periods_per_year=252)
    # Mean 0.04; squared deviations 0.0036 x 3 + 0.0196 + 0.0016 = 0.032 over 4 = 0.008.
    assert m.sharpe is not None
    assert abs(m.sharpe - D(str(0.04 / math.sqrt(0.008) * math.sqrt(252)))) < D("1e-9")


def test_a_scaled_out_position_is_one_round_trip_with_its_legs_kept() -> None:
    s = Scenario(wide_open("10000")).given(
        order("o1", stop_loss=D(95)),
        fill("o1", "100"),
        order("o2", side=OrderSide.SELL, quantity="6"),
        fill("o2", "110", "6", ts=at(60)),
        order("o3", side=OrderSide.SELL, quantity="4"),
        fill("o3", "95", "4", ts=at(120)),
    )

    legs = closed_trades(s.state)
    m = account_performance(s.state)

    assert [(t.net_pnl, t.r_multiple) for t in legs] == [(D(60), D(2)), (D(-20), D(-1))]
    assert legs[0].round_trip_id == legs[1].round_trip_id is not None
    assert (m.trades, m.legs, m.wins, m.losses, m.win_rate_pct) == (1, 2, 1, 0, D(100))
    # R weighted by quantity: (2 x 6 - 1 x 4) / 10 = 40 / (5 x 10).
    assert (m.expectancy, m.average_r, m.best_trade) == (D(40), D("0.8"), D(40))
    assert legs[0].round_trip_id == f"AAPL:buy:{at(1).isoformat()}"


def test_a_position_opened_again_is_another_round_trip() -> None:
    s = Scenario(wide_open("10000")).given(
        order("o1"),
        fill("o1", "100"),
        order("o2", side=OrderSide.SELL),
        fill("o2", "90", ts=at(60)),
        order("o3"),
        fill("o3", "100", ts=at(120)),
        order("o4", side=OrderSide.SELL, quantity="5"),
        fill("o4", "120", "5", ts=at(180)),
    )

    m = account_performance(s.state)

    assert (m.trades, m.wins, m.losses, m.expectancy) == (2, 1, 1, D(0))


equities = st.decimals(min_value=D(10), max_value=D(10_000), places=2)


@given(
    values=st.lists(equities, min_size=3, max_size=12),
    gaps=st.lists(st.integers(min_value=3600, max_value=4 * 86400), min_size=11, max_size=11),
    where=st.integers(min_value=1, max_value=11),
    share=st.decimals(min_value=D("-0.9"), max_value=D(5), places=3),
)
def test_a_flow_alone_never_changes_return_drawdown_or_sharpe(
    values: list[Decimal], gaps: list[int], where: int, share: Decimal
) -> None:
    times = [T0]
    for gap in gaps[: len(values) - 1]:
        times.append(times[-1] + timedelta(seconds=gap))
    before = [EquityPoint(ts=t, equity=e, cash=e) for t, e in zip(times, values, strict=True)]
    k = min(where, len(before) - 1)
    amount = before[k - 1].equity * share
    scale = (before[k - 1].equity + amount) / before[k - 1].equity
    flowed = EquityPoint(
        ts=before[k - 1].ts + (before[k].ts - before[k - 1].ts) / 2,
        equity=before[k - 1].equity + amount,
        cash=before[k - 1].equity + amount,
        flow=amount,
    )
    # After the flow the account earns the same returns on its new size.
    after = [
        *before[:k],
        flowed,
        *(EquityPoint(ts=p.ts, equity=p.equity * scale, cash=p.cash * scale) for p in before[k:]),
    ]

    plain = performance([], before, starting_equity=values[0], periods_per_year=365)
    moved = performance(
        [], after, starting_equity=values[0], net_deposits=amount, periods_per_year=365
    )

    assert abs(moved.total_return_pct - plain.total_return_pct) < D("1e-18")
    assert abs(moved.max_drawdown_pct - plain.max_drawdown_pct) < D("1e-18")
    assert moved.max_drawdown_duration_s == plain.max_drawdown_duration_s
    if plain.sharpe is None:
        assert moved.sharpe is None
    else:
        assert moved.sharpe is not None
        assert abs(moved.sharpe - plain.sharpe) <= D("1e-6") * (1 + abs(plain.sharpe))


def test_a_mark_in_the_minute_of_a_deposit_keeps_the_deposit_on_the_curve() -> None:
    s = Scenario(wide_open("10000")).given(order("o1"), fill("o1", "100"))
    s.when(Deposit(account_id=ACCOUNT, amount=D(1000)), now=at(60))
    s.when(mark("110", ts=at(70)), now=at(70))

    last = equity_curve(s.state)[-1]

    assert (last.equity, last.flow) == (D(11100), D(1000))
    # 10000 before the deposit, then 100 earned on 11000.
    assert account_performance(s.state).total_return_pct == D("0.91")
