"""The backtest engine: the trades a strategy's rules imply, the same log twice, the account's
own report."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from papertape.contract.codec import encode
from papertape.contract.events.account import OrderFilledV2
from papertape.contract.events.market import BarClosed
from papertape.contract.events.sessions import RiskOverrides, Sizing, StopKind
from papertape.contract.limits import RiskLimits
from papertape.trading.account.reports import account_report, closed_trades
from papertape.trading.backtest import NO_COSTS, Backtest, BacktestConfig, FillAt
from papertape.trading.strategies.api import Strategy
from papertape.trading.strategies.bollinger import BollingerReversion
from papertape.trading.strategies.breakout import DonchianBreakout
from papertape.trading.strategies.crossover import MovingAverageCrossover
from papertape.trading.strategies.reversion import RsiReversion
from tests.trading.backtest import rules

FAR_STOPS = RiskOverrides(
    stop_kind=StopKind.PERCENT,
    stop_value=Decimal(10),
    target_r=(Decimal(10),),
    sizing=Sizing.FIXED_QUANTITY,
    quantity=Decimal(10),
    min_confidence=0,
)
"""Stops and targets out of the wave's reach, ten shares a trade, every setup taken."""


def backtest(
    strategy: type[Strategy],
    parameters: dict[str, Any],
    bars: list[BarClosed],
    **kw: Any,
) -> Backtest:
    config = BacktestConfig(
        strategy=strategy,
        parameters={"atr_period": 2, **parameters},
        symbols=("AAPL",),
        overrides=kw.pop("overrides", FAR_STOPS),
        schedule=kw.pop("schedule", NO_COSTS),
        **kw,
    )
    engine = Backtest(config)
    engine.run(bars)
    return engine


def implied(bars: list[BarClosed], signals: rules.Signals) -> list[tuple[Any, ...]]:
    """The round trips the signals imply: in and out at the open of the bar after each."""
    last = len(bars) - 1
    return [
        (bars[i + 1].open, bars[j + 1].open, bars[i + 1].end, bars[j + 1].end)
        for i, j in signals
        if 0 <= j < last
    ]


def traded(engine: Backtest) -> list[tuple[Any, ...]]:
    return [
        (t.entry_price, t.exit_price, t.opened_at, t.closed_at)
        for t in closed_trades(engine.account)
    ]


BARS = rules.wavy_bars()
CASES = [
    (MovingAverageCrossover, {"fast": 3, "slow": 8, "average": "sma"},
     rules.sma_crossover(BARS, 3, 8)),
    (RsiReversion, {"period": 6, "oversold": 30, "exit_level": 50},
     rules.rsi_reversion(BARS, 6, 30.0, 50.0)),
    (DonchianBreakout, {"period": 12, "exit_period": 6},
     rules.donchian_breakout(BARS, 12, 6)),
    (BollingerReversion, {"period": 10, "width": "1.5"},
     rules.bollinger_reversion(BARS, 10, 1.5)),
]  # fmt: skip


@pytest.mark.parametrize(("strategy", "parameters", "signals"), CASES, ids=lambda c: str(c)[:20])
def test_each_built_in_trades_what_its_rules_imply_at_the_next_open(
    strategy: type[Strategy], parameters: dict[str, Any], signals: rules.Signals
) -> None:
    expected = implied(BARS, signals)
    assert len(expected) >= 3  # the wave gives every strategy something to do
    assert traded(backtest(strategy, parameters, BARS)) == expected


def test_fill_at_close_fills_at_the_signal_bars_close() -> None:
    signals = rules.sma_crossover(BARS, 3, 8)
    engine = backtest(
        MovingAverageCrossover,
        {"fast": 3, "slow": 8, "average": "sma"},
        BARS,
        fill_at=FillAt.CLOSE,
    )
    expected = [
        (BARS[i].close, BARS[j].close, BARS[i].end, BARS[j].end) for i, j in signals if j >= 0
    ]
    assert traded(engine) == expected


def test_the_same_bars_give_a_byte_identical_log() -> None:
    params = {"fast": 5, "slow": 20}
    first = backtest(MovingAverageCrossover, params, BARS, overrides=RiskOverrides(), schedule=None)
    again = backtest(MovingAverageCrossover, params, BARS, overrides=RiskOverrides(), schedule=None)
    assert any(isinstance(e.data, OrderFilledV2) for e in first.log.envelopes)
    assert [encode(e) for e in first.log.envelopes] == [encode(e) for e in again.log.envelopes]


def test_costs_from_the_schedule_are_paid_and_none_costs_nothing() -> None:
    params = {"fast": 3, "slow": 8, "average": "sma"}
    free = backtest(MovingAverageCrossover, params, BARS)
    paid = backtest(MovingAverageCrossover, params, BARS, schedule=None)
    assert all(t.fees == 0 for t in closed_trades(free.account))
    # The default equity terms: $0.005 a share, at least $1.00 an order; ten shares pay $1.
    assert all(t.fees == Decimal("2.00") for t in closed_trades(paid.account))


def test_long_short_reverses_where_long_only_closes() -> None:
    params = {"fast": 3, "slow": 8, "average": "sma"}
    limits = RiskLimits(max_position_pct=Decimal(100))
    both = backtest(MovingAverageCrossover, params, BARS, allow_short=True, limits=limits)
    long_only = backtest(MovingAverageCrossover, params, BARS)
    sides = {str(t.direction) for t in closed_trades(both.account)}
    assert sides == {"buy", "sell"}
    assert {str(t.direction) for t in closed_trades(long_only.account)} == {"buy"}


def _flat_then(prices: list[str]) -> list[BarClosed]:
    base = rules.wavy_bars(len(prices))
    return [
        msgspec.structs.replace(
            b, open=Decimal(p), high=Decimal(p), low=Decimal(p), close=Decimal(p)
        )
        for b, p in zip(base, prices, strict=True)
    ]


def test_report_metrics_are_the_accounts_on_an_equity_curve_known_by_hand() -> None:
    # SMA(2) over SMA(3), no costs, 10 shares: a cross up at bar 3 (100 -> 101) buys at bar 4's
    # open (102), the cross down at bar 7 (103 -> 100) sells at bar 8's open (98): -40, and a
    # second cross up at bar 10 buys at 100 and the cross down at bar 14 sells at 104: +40.
    prices = ["100", "100", "100", "101", "102", "104", "103", "100", "98", "98", "99",
              "100", "102", "106", "104", "104", "104"]  # fmt: skip
    bars = _flat_then(prices)
    engine = backtest(MovingAverageCrossover, {"fast": 2, "slow": 3, "average": "sma"}, bars)
    report = account_report(engine.account)
    trades = [(t.entry_price, t.exit_price, t.net_pnl) for t in report.closed_trades]
    assert trades == [
        (Decimal("102.00"), Decimal("98.00"), Decimal("-40.00")),
        (Decimal("100.00"), Decimal("104.00"), Decimal("40.00")),
    ]
    metrics = report.performance
    assert metrics.trades == 2
    assert metrics.wins == 1
    assert metrics.win_rate_pct == Decimal("50.00")
    assert metrics.net_profit == Decimal("0.00")
    assert metrics.profit_factor == Decimal("1.00")
    # Equity by hand: 100000, marked 100020 (104) and 100010 (103) while held, 99960 after the
    # first trade; the peak 100020 to the low 99960 is the deepest fall.
    assert metrics.max_drawdown == Decimal("60.00")
    assert report.summary.equity == Decimal("100000.00")
