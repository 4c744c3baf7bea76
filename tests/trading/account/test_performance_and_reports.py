"""Performance metrics, query answers and the CSV export of trades."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from papertape.contract.events.account import Withdraw
from papertape.contract.events.orders import ExitReason, OrderSide
from papertape.contract.events.reports import ClosedTrade, EquityPoint
from papertape.contract.ids import OrderId, Symbol
from papertape.trading.account.performance import (
    daily_returns,
    drawdown,
    performance,
    sharpe_ratio,
    sortino_ratio,
    streaks,
)
from papertape.trading.account.reports import (
    account_performance,
    account_report,
    account_summary,
    positions,
    trades_csv,
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


def trade(net: str, r: str | None = None, opened: int = 0) -> ClosedTrade:
    """A closed trade with a given net P&L, of a position opened ``opened`` seconds after T0."""
    return ClosedTrade(
        symbol=Symbol("AAPL"),
        direction=OrderSide.BUY,
        quantity=D(1),
        entry_price=D(100),
        exit_price=D(100) + D(net),
        opened_at=at(opened),
        closed_at=at(opened),
        gross_pnl=D(net),
        fees=D(0),
        net_pnl=D(net),
        r_multiple=None if r is None else D(r),
        holding_seconds=0.0,
        exit_reason=ExitReason.MANUAL,
        exit_order_id=OrderId("x"),
    )


def curve(*equities: int, exposure: int = 0) -> list[EquityPoint]:
    """One equity point per day."""
    return [
        EquityPoint(ts=T0 + timedelta(days=i), equity=D(e), cash=D(e), exposure=D(exposure))
        for i, e in enumerate(equities)
    ]


def test_win_rate_profit_factor_and_expectancy() -> None:
    nets = (("100", "2"), ("-50", "-1"), ("30", None), ("-20", None))
    trades = [trade(net, r, opened=i) for i, (net, r) in enumerate(nets)]
    m = performance(trades, curve(1000, 1060), starting_equity=D(1000))
    assert (m.trades, m.wins, m.losses, m.win_rate_pct) == (4, 2, 2, D(50))
    assert m.profit_factor == D(130) / D(70)
    assert m.expectancy == D(15)
    assert (m.average_win, m.average_loss, m.average_r) == (D(65), D(-35), D("0.5"))
    assert (m.best_trade, m.worst_trade) == (D(100), D(-50))
    assert m.total_return_pct == 6


def test_profit_factor_is_undefined_without_losses() -> None:
    assert performance([trade("5")], [], starting_equity=D(1)).profit_factor is None


def test_streaks_count_consecutive_wins_and_losses() -> None:
    nets = ("1", "2", "-1", "3", "4", "5", "-1", "-2")
    trades = [trade(x, opened=i) for i, x in enumerate(nets)]
    assert streaks(trades) == (3, 2)


def test_drawdown_value_percent_and_duration_until_recovery() -> None:
    dd = drawdown(curve(100, 120, 90, 100, 130, 125))
    assert (dd.value, dd.pct) == (D(30), D(25))
    assert dd.duration_s == timedelta(days=3).total_seconds()


def test_sharpe_and_sortino_from_daily_returns() -> None:
    returns = daily_returns(curve(100, 110, 99, 109))
    assert returns == [0.0, 0.1, -0.1, 10 / 99]
    sharpe = sharpe_ratio(returns, 252)
    sortino = sortino_ratio(returns, 252)
    assert sharpe is not None
    assert sortino is not None
    assert sortino > sharpe > 0


def test_ratios_are_undefined_without_enough_data() -> None:
    m = performance([], curve(100), starting_equity=D(100))
    assert (m.sharpe, m.sortino, m.cagr_pct, m.calmar) == (None, None, None, None)


def test_cagr_and_calmar_over_a_year() -> None:
    points = [
        EquityPoint(ts=T0, equity=D(100), cash=D(100)),
        EquityPoint(ts=T0 + timedelta(days=182), equity=D(90), cash=D(90)),
        EquityPoint(ts=T0 + timedelta(days=365.25), equity=D(121), cash=D(121)),
    ]
    m = performance([], points, starting_equity=D(100))
    assert m.cagr_pct is not None
    assert abs(m.cagr_pct - 21) < D("1e-9")
    assert m.calmar is not None
    assert abs(m.calmar - D("2.1")) < D("1e-9")


def test_exposure_is_the_share_of_time_holding_positions() -> None:
    points = curve(100, 100, 100, 100)
    points[0] = EquityPoint(ts=points[0].ts, equity=D(100), cash=D(0), exposure=D(100))
    exposure = performance([], points, starting_equity=D(100)).exposure_pct
    assert abs(exposure - D(100) / 3) < D("1e-9")


def test_summary_positions_and_report_of_a_live_account() -> None:
    s = Scenario(wide_open()).given(
        order("o1"),
        fill("o1", "100", fee="1"),
        mark("105", ts=at(60)),
        order("o2", side=OrderSide.SELL, quantity="5"),
        fill("o2", "105", "5", ts=at(120)),
    )
    summary = account_summary(s.state)
    assert summary.equity == s.state.cash + 5 * 105
    assert (summary.positions, summary.open_orders, summary.fees_paid) == (1, 0, D(1))
    view = positions(s.state)[0]
    assert (view.quantity, view.unrealized_pnl) == (D(5), D(25))
    report = account_report(s.state)
    assert len(report.closed_trades) == 1
    assert report.performance.trades == 1
    assert report.performance.fees == 1
    assert account_performance(s.state).ending_equity == summary.equity


def test_trades_export_as_csv_with_a_header() -> None:
    text = trades_csv([trade("10", "1", 1), trade("-5", None, 2)])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["net_pnl"] for r in rows] == ["10", "-5"]
    assert rows[0]["r_multiple"] == "1"
    assert rows[1]["r_multiple"] == ""
    assert rows[0]["exit_reason"] == "manual"


def test_a_withdrawal_is_not_a_drawdown_in_the_performance_report() -> None:
    s = Scenario(wide_open())
    s.when(Withdraw(account_id=ACCOUNT, amount=Decimal(5000)))

    metrics = account_performance(s.state)

    assert metrics.max_drawdown == Decimal(0)
    assert metrics.max_drawdown_pct == Decimal(0)
    assert account_summary(s.state).max_drawdown == metrics.max_drawdown


def test_a_cagr_too_large_for_a_float_is_none_not_an_overflow() -> None:
    points = [
        EquityPoint(ts=T0, equity=D(1), cash=D(1)),
        EquityPoint(ts=T0 + timedelta(days=2), equity=D(10**9), cash=D(10**9)),
    ]
    m = performance([], points, starting_equity=D(1))
    assert (m.cagr_pct, m.calmar) == (None, None)
