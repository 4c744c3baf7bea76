"""Performance metrics from closed trades and the equity curve (pure, no state needed).

Every return is net of deposits and withdrawals: a flow is neither a gain nor a loss.
The formulas, for curve points ``0..n`` with equity ``E_k`` and flow ``F_k`` (deposits less
withdrawals recorded at point ``k``, already in ``E_k``; point 0 is the opening, the base):

- sub-period return ``r_k = E_k / (E_{k-1} + F_k) - 1`` (the flow comes at the start of the
  sub-period; ``r_k = 0`` when ``E_{k-1} + F_k <= 0``: nothing was at risk);
- the time-weighted (flow-adjusted) index ``I_0 = 1``, ``I_k = I_{k-1} * (1 + r_k)``;
- total return ``(I_n - 1) * 100`` %; net profit stays in money:
  ``E_n - starting equity - net deposits``;
- the daily series: the index's last value on each UTC day, from the opening day to the last
  point's day; day ``j`` returns ``C_j / C_{j-1} - 1`` with ``C_{-1} = I_0``, so the first day
  counts, and an idle day (no point) is a 0% day. With ``periods_per_year`` under 365 (a market
  closed at weekends) idle Saturdays and Sundays are not periods;
- Sharpe ``mean(d) / stdev(d) * sqrt(periods_per_year)`` (sample standard deviation), Sortino
  ``mean(d) / sqrt(sum(min(d, 0)^2) / N) * sqrt(periods_per_year)``, risk-free rate 0;
- CAGR ``(I_n ^ (1 / years) - 1) * 100`` %, years = (last - first point) / 365.25 days;
  Calmar ``CAGR / max drawdown %``;
- drawdown on the index: the high-water mark ``H`` is the highest equity, scaled on each flow
  by ``(E_{k-1} + F_k) / E_{k-1}`` (so ``H_k / E_k = max(I) / I_k``); drawdown is ``H_k - E_k``
  in money and ``(H_k - E_k) / H_k * 100`` in %; its duration is the longest time from a peak
  to the point that regains it (or to the end while still under it); a curve that never falls
  has none.

Trade statistics count round trips: the legs of one position (opened once, closed in several
fills) are one trade; its P&L is the legs' sum and its R their quantity-weighted mean. Money
is Decimal; statistics of the daily series are computed in floats and reported as Decimals
(None when not finite).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import msgspec

from papertape.contract.events.reports import ClosedTrade, EquityPoint, PerformanceMetrics
from papertape.contract.money import HUNDRED, ZERO, pct
from papertape.contract.precision import from_float
from papertape.trading.account.marks import utc_date
from papertape.trading.account.trades import round_trip_of

ONE = Decimal(1)
_SATURDAY = 5


class Drawdown(msgspec.Struct, frozen=True, kw_only=True):
    """The deepest fall from a peak (value and %) and the longest time under a peak."""

    value: Decimal = ZERO
    pct: Decimal = ZERO
    duration_s: float = 0.0


class RoundTrip(msgspec.Struct, frozen=True, kw_only=True):
    """The legs of one position taken together: quantity, net P&L and R."""

    quantity: Decimal
    net_pnl: Decimal
    r_multiple: Decimal | None = None


def flow_adjusted_index(curve: Sequence[EquityPoint]) -> list[Decimal]:
    """The time-weighted index of the curve (1 at its first point), net of cash flows."""
    if not curve:
        return []
    index = [ONE]
    for before, point in pairwise(curve):
        base = before.equity + point.flow
        growth = point.equity / base if base > 0 else ONE
        index.append(index[-1] * growth)
    return index


def drawdown(curve: Sequence[EquityPoint]) -> Drawdown:
    """Max drawdown in value and % of the flow-scaled peak, and the longest time under it."""
    if not curve:
        return Drawdown()
    hwm, peak_at = curve[0].equity, curve[0].ts
    worst, worst_pct, longest, under = ZERO, ZERO, 0.0, False
    for before, point in pairwise(curve):
        if point.flow != 0 and not under:
            hwm = before.equity + point.flow
        elif point.flow != 0 and before.equity > 0:
            # A flow scales the peak as it scales the account: a deposit is no recovery.
            hwm = hwm * (before.equity + point.flow) / before.equity
        if point.equity > hwm or (under and point.equity == hwm):
            if under:
                longest = max(longest, (point.ts - peak_at).total_seconds())
            hwm, peak_at, under = point.equity, point.ts, False
            continue
        if point.equity == hwm:
            continue
        under = True
        fall = hwm - point.equity
        worst = max(worst, fall)
        if hwm > 0:
            worst_pct = max(worst_pct, fall * HUNDRED / hwm)
    if under:
        longest = max(longest, (curve[-1].ts - peak_at).total_seconds())
    return Drawdown(value=worst, pct=worst_pct, duration_s=longest)


def daily_returns(curve: Sequence[EquityPoint], periods_per_year: int = 365) -> list[float]:
    """One flow-adjusted return per UTC day from the opening day, idle days as 0%."""
    if not curve:
        return []
    closes: dict[date, Decimal] = {}
    for point, value in zip(curve, flow_adjusted_index(curve), strict=True):
        closes[utc_date(point.ts)] = value
    weekends = periods_per_year >= 365
    day, last = utc_date(curve[0].ts), utc_date(curve[-1].ts)
    previous, returns = ONE, []
    while day <= last:
        close = closes.get(day)
        if close is not None or weekends or day.weekday() < _SATURDAY:
            close = previous if close is None else close
            returns.append(float(close / previous - 1) if previous > 0 else 0.0)
            previous = close
        day += timedelta(days=1)
    return returns


def sharpe_ratio(returns: Sequence[float], periods_per_year: int = 252) -> float | None:
    """Mean over sample standard deviation, annualised; None without enough variation."""
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if var <= 1e-24:  # rounding noise of a flat series is no variation
        return None
    return mean / math.sqrt(var) * math.sqrt(periods_per_year)


def sortino_ratio(returns: Sequence[float], periods_per_year: int = 252) -> float | None:
    """Mean over downside deviation (target 0), annualised; None without losing periods."""
    if len(returns) < 2:
        return None
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    if downside <= 1e-12:
        return None
    return sum(returns) / len(returns) / downside * math.sqrt(periods_per_year)


def cagr_pct(curve: Sequence[EquityPoint]) -> float | None:
    """Compound annual growth of the flow-adjusted index in %; None under a day or wiped out."""
    if len(curve) < 2:
        return None
    years = (curve[-1].ts - curve[0].ts).total_seconds() / (365.25 * 86400)
    end = float(flow_adjusted_index(curve)[-1])
    if years < 1 / 365.25 or end <= 0:
        return None
    try:
        growth: float = end ** (1 / years)
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


def round_trips(trades: Sequence[ClosedTrade]) -> list[RoundTrip]:
    """Closed trades grouped by the position they closed, in the order positions first closed."""
    legs: dict[str, list[ClosedTrade]] = {}
    for trade in trades:
        legs.setdefault(round_trip_of(trade), []).append(trade)
    trips = []
    for group in legs.values():
        quantity = sum((t.quantity for t in group), ZERO)
        rated = [t for t in group if t.r_multiple is not None]
        rated_quantity = sum((t.quantity for t in rated), ZERO)
        r_multiple = None
        if rated and rated_quantity > 0:
            weighted = sum((t.quantity * (t.r_multiple or ZERO) for t in rated), ZERO)
            r_multiple = weighted / rated_quantity
        net = sum((t.net_pnl for t in group), ZERO)
        trips.append(RoundTrip(quantity=quantity, net_pnl=net, r_multiple=r_multiple))
    return trips


def streaks(trades: Sequence[ClosedTrade] | Sequence[RoundTrip]) -> tuple[int, int]:
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
    """Every metric at once, net of cash flows (the formulas are in the module docstring).

    ``max_drawdown`` (value, %) overrides the one read off the curve when the caller knows it
    event by event (the account does: its curve keeps one point a minute).
    """
    trips = round_trips(trades)
    pnls = [t.net_pnl for t in trips]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    gross_loss = -sum(losses, ZERO)
    rs = [t.r_multiple for t in trips if t.r_multiple is not None]
    ending = curve[-1].equity if curve else starting_equity + net_deposits
    index = flow_adjusted_index(curve)
    dd = drawdown(curve)
    if max_drawdown is not None:
        dd = Drawdown(value=max_drawdown[0], pct=max_drawdown[1], duration_s=dd.duration_s)
    returns = daily_returns(curve, periods_per_year)
    cagr = cagr_pct(curve)
    win_streak, loss_streak = streaks(trips)
    return PerformanceMetrics(
        starting_equity=starting_equity,
        ending_equity=ending,
        net_profit=ending - starting_equity - net_deposits,
        total_return_pct=(index[-1] - 1) * HUNDRED if index else ZERO,
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
        legs=len(trades),
    )
