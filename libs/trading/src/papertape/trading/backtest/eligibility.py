"""Whether an account (or a session on it) qualifies to trade live: time on paper, trades, the
account's own metrics against thresholds, and its paper-against-backtest deltas within bounds.

Every criterion is shown with its figure, its threshold and whether it is met; the account
qualifies when every criterion is. A metric the account has no figure for (a Sharpe ratio
before the second day) does not meet its threshold.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from papertape.contract.events.reports import PerformanceMetrics
from papertape.trading.backtest.comparison import Comparison


class Requirements(msgspec.Struct, frozen=True, kw_only=True):
    """The thresholds (each configurable)."""

    min_days: int = 90
    min_trades: int = 30
    min_win_rate_pct: Decimal = Decimal(45)
    min_profit_factor: Decimal = Decimal("1.2")
    max_drawdown_pct: Decimal = Decimal(20)
    min_sharpe: Decimal = Decimal("0.5")


class Criterion(msgspec.Struct, frozen=True, kw_only=True):
    """One requirement: the figure, the threshold and whether it is met."""

    name: str
    figure: str
    threshold: str
    met: bool


class Eligibility(msgspec.Struct, frozen=True, kw_only=True):
    """The verdict and every criterion behind it."""

    qualifies: bool
    criteria: list[Criterion]


def _at_least(name: str, figure: Decimal | int | None, low: Decimal | int) -> Criterion:
    met = figure is not None and figure >= low
    return Criterion(name=name, figure=str(figure), threshold=f">= {low}", met=met)


def _profit_factor(metrics: PerformanceMetrics, low: Decimal) -> Criterion:
    if metrics.profit_factor is None and metrics.wins and not metrics.losses:
        return Criterion(name="profit factor", figure="no losses", threshold=f">= {low}", met=True)
    return _at_least("profit factor", metrics.profit_factor, low)


def eligibility(
    metrics: PerformanceMetrics,
    *,
    first: datetime | None,
    last: datetime | None,
    requirements: Requirements | None = None,
    comparison: Comparison | None = None,
) -> Eligibility:
    """The verdict on an account's record from ``first`` to ``last`` (its first and last
    events), with its paper-against-backtest ``comparison`` when one was made."""
    wanted = requirements or Requirements()
    days = Decimal(0) if first is None or last is None else Decimal((last - first).days)
    drawdown = metrics.max_drawdown_pct
    criteria = [
        _at_least("days on paper", days, wanted.min_days),
        _at_least("trades", metrics.trades, wanted.min_trades),
        _at_least("win rate %", metrics.win_rate_pct, wanted.min_win_rate_pct),
        _profit_factor(metrics, wanted.min_profit_factor),
        Criterion(
            name="max drawdown %",
            figure=str(drawdown),
            threshold=f"<= {wanted.max_drawdown_pct}",
            met=drawdown <= wanted.max_drawdown_pct,
        ),
        _at_least("sharpe", metrics.sharpe, wanted.min_sharpe),
    ]
    if comparison is not None:
        over = comparison.warnings
        criteria.append(
            Criterion(
                name="paper against backtest",
                figure=f"{comparison.divergent} divergent fills; over bounds: {', '.join(over)}"
                if over
                else f"{comparison.divergent} divergent fills; every delta within bounds",
                threshold="every summary delta within its bound",
                met=not over,
            )
        )
    return Eligibility(qualifies=all(c.met for c in criteria), criteria=criteria)
