"""Performance metrics from closed trades and the equity curve (pure, no state needed).

Money is Decimal. Ratios built on return series (Sharpe, Sortino, Calmar, CAGR, exposure)
are computed in floats, as statistics, and reported as Decimals (None when not finite).
Returns are daily (the last point of each UTC day), annualised with ``periods_per_year``
(252 for stock markets, 365 for crypto), with a risk-free rate of zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from itertools import pairwise

import msgspec

from papertape.contract.events.reports import ClosedTrade, EquityPoint, PerformanceMetrics
from papertape.contract.money import HUNDRED, ZERO, pct
from papertape.contract.precision import from_float
from papertape.trading.account.marks import utc_date


class Drawdown(msgspec.Struct, frozen=True, kw_only=True):
    """The deepest fall from a peak (value and %) and the longest time under a peak."""

    value: Decimal = ZERO
    pct: Decimal = ZERO
    duration_s: float = 0.0


def drawdown(curve: Sequence[EquityPoint]) -> Drawdown:
    """Max drawdown in value and % of the peak, and the longest peak-to-recovery time."""
    if not curve:
        return Drawdown()
    peak, peak_at = curve[0].equity, curve[0].ts
    worst, worst_pct, longest = ZERO, ZERO, 0.0
    for point in curve:
        if point.equity >= peak:
            longest = max(longest, (point.ts - peak_at).total_seconds())
            peak, peak_at = point.equity, point.ts
            continue
        fall = peak - point.equity
        worst = max(worst, fall)
        if peak > 0:
            worst_pct = max(worst_pct, fall * HUNDRED / peak)
    if curve[-1].equity < peak:
        longest = max(longest, (curve[-1].ts - peak_at).total_seconds())
    return Drawdown(value=worst, pct=worst_pct, duration_s=longest)


def daily_returns(curve: Sequence[EquityPoint]) -> list[float]:
    """Day-over-day returns of the last equity of each UTC day."""
    closes: dict[date, Decimal] = {}
    for point in curve:
        closes[utc_date(point.ts)] = point.equity
    values = [float(v) for v in closes.values()]
    return [b / a - 1 for a, b in pairwise(values) if a > 0]


def sharpe_ratio(returns: Sequence[float], periods_per_year: int = 252) -> float | None:
    """Mean over sample standard deviation, annualised; None without enough variation."""
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if var <= 0:
        return None
    return mean / math.sqrt(var) * math.sqrt(periods_per_year)


def sortino_ratio(returns: Sequence[float], periods_per_year: int = 252) -> float | None:
    """Mean over downside deviation (target 0), annualised; None without losing periods."""
    if len(returns) < 2:
        return None
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    if downside == 0:
        return None
    return sum(returns) / len(returns) / downside * math.sqrt(periods_per_year)


def cagr_pct(curve: Sequence[EquityPoint]) -> float | None:
    """Compound annual growth of the curve in %; None under a day or without positive equity."""
    if len(curve) < 2:
        return None
    years = (curve[-1].ts - curve[0].ts).total_seconds() / (365.25 * 86400)
    start, end = float(curve[0].equity), float(curve[-1].equity)
    if years < 1 / 365.25 or start <= 0 or end <= 0:
        return None
    try:
        growth: float = (end / start) ** (1 / years)
    except OverflowError:  # a few days' growth compounded over a year: no meaningful rate
        return None
    return (growth - 1) * 100


def exposure_pct(curve: Sequence[EquityPoint]) -> float:
    """Share of the curve's time spent holding positions, in %."""
    if len(curve) < 2:
        return 0.0
    total = (curve[-1].ts - curve[0].ts).total_seconds()
    if total <= 0:
        return 0.0
    held = sum((b.ts - a.ts).total_seconds() for a, b in pairwise(curve) if a.exposure > 0)
    return held / total * 100


def streaks(trades: Sequence[ClosedTrade]) -> tuple[int, int]:
    """The longest runs of winning and of losing trades (a flat trade ends both)."""
    best_win = best_loss = win = loss = 0
    for trade in trades:
        win = win + 1 if trade.net_pnl > 0 else 0
        loss = loss + 1 if trade.net_pnl < 0 else 0
        best_win, best_loss = max(best_win, win), max(best_loss, loss)
    return best_win, best_loss


def performance(
    trades: Sequence[ClosedTrade],
    curve: Sequence[EquityPoint],
    *,
    starting_equity: Decimal,
    net_deposits: Decimal = ZERO,
    fees: Decimal = ZERO,
    periods_per_year: int = 252,
    max_drawdown: tuple[Decimal, Decimal] | None = None,
) -> PerformanceMetrics:
    """Every metric at once; returns are measured against starting equity plus net deposits.

    ``max_drawdown`` (value, %) overrides the one read off the curve when the caller knows it
    net of deposits and withdrawals (the account does: a withdrawal is not a loss).
    """
    pnls = [t.net_pnl for t in trades]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    gross_loss = -sum(losses, ZERO)
    rs = [t.r_multiple for t in trades if t.r_multiple is not None]
    ending = curve[-1].equity if curve else starting_equity + net_deposits
    capital = starting_equity + net_deposits
    net_profit = ending - capital
    dd = drawdown(curve)
    if max_drawdown is not None:
        dd = Drawdown(value=max_drawdown[0], pct=max_drawdown[1], duration_s=dd.duration_s)
    returns = daily_returns(curve)
    cagr = cagr_pct(curve)
    win_streak, loss_streak = streaks(trades)
    return PerformanceMetrics(
        starting_equity=starting_equity,
        ending_equity=ending,
        net_profit=net_profit,
        total_return_pct=pct(net_profit, capital),
        trades=len(pnls),
        wins=len(wins),
        losses=len(losses),
        win_rate_pct=pct(Decimal(len(wins)), Decimal(len(pnls))),
        profit_factor=sum(wins, ZERO) / gross_loss if gross_loss > 0 else None,
        expectancy=sum(pnls, ZERO) / len(pnls) if pnls else ZERO,
        average_win=sum(wins, ZERO) / len(wins) if wins else ZERO,
        average_loss=sum(losses, ZERO) / len(losses) if losses else ZERO,
        average_r=sum(rs, ZERO) / len(rs) if rs else None,
        best_trade=max(pnls) if pnls else None,
        worst_trade=min(pnls) if pnls else None,
        longest_win_streak=win_streak,
        longest_loss_streak=loss_streak,
        max_drawdown=dd.value,
        max_drawdown_pct=dd.pct,
        max_drawdown_duration_s=dd.duration_s,
        sharpe=from_float(sharpe_ratio(returns, periods_per_year)),
        sortino=from_float(sortino_ratio(returns, periods_per_year)),
        cagr_pct=from_float(cagr),
        calmar=from_float(cagr / float(dd.pct)) if cagr is not None and dd.pct > 0 else None,
        exposure_pct=from_float(exposure_pct(curve)) or ZERO,
        fees=fees,
    )
