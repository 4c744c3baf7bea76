"""Live-trading eligibility: every criterion with its figure, each threshold configurable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from papertape.trading.account.reports import account_performance
from papertape.trading.backtest import Backtest, BacktestConfig
from papertape.trading.backtest.comparison import Thresholds, by_order, compare
from papertape.trading.backtest.eligibility import Requirements, eligibility
from papertape.trading.strategies.crossover import MovingAverageCrossover
from tests.trading.backtest import rules

BARS = rules.wavy_bars()


def engine() -> Backtest:
    config = BacktestConfig(
        strategy=MovingAverageCrossover,
        parameters={"fast": 3, "slow": 8, "atr_period": 2},
        symbols=("AAPL",),
    )
    run = Backtest(config)
    run.run(BARS)
    return run


def test_a_short_record_fails_on_time_and_trades_and_says_by_how_much() -> None:
    metrics = account_performance(engine().account)
    verdict = eligibility(metrics, first=BARS[0].start, last=BARS[-1].end)
    by_name = {c.name: c for c in verdict.criteria}
    assert not verdict.qualifies
    assert by_name["days on paper"].figure == "0"
    assert not by_name["days on paper"].met
    assert by_name["trades"].figure == str(metrics.trades)
    assert by_name["trades"].met is (metrics.trades >= 30)
    assert by_name["max drawdown %"].met is (metrics.max_drawdown_pct <= 20)


def test_thresholds_are_configurable_and_a_comparison_within_bounds_is_met() -> None:
    run = engine()
    metrics = account_performance(run.account)
    fills = by_order(
        e for e in run.log.of("account-backtest") if type(e).__name__ == "OrderFilledV2"
    )
    same = compare(("paper", "backtest"), (fills, fills), (metrics, metrics), Thresholds())
    lenient = Requirements(
        min_days=0,
        min_trades=1,
        min_win_rate_pct=Decimal(0),
        min_profit_factor=Decimal(0),
        max_drawdown_pct=Decimal(100),
        min_sharpe=Decimal(-100),
    )
    verdict = eligibility(
        metrics, first=BARS[0].start, last=BARS[0].start + timedelta(days=1),
        requirements=lenient, comparison=same,
    )  # fmt: skip
    by_name = {c.name: c for c in verdict.criteria}
    assert by_name["paper against backtest"].met
    assert by_name["days on paper"].figure == "1"
    assert all(c.met for c in verdict.criteria if c.name != "sharpe")
    assert verdict.qualifies is by_name["sharpe"].met
