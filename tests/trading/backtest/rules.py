"""The built-in strategies' rules computed again, independently, on a list of bars (long only).

Each function returns the bars (their indexes) at which the rules enter and leave; the trades
then fill at the next bar's open. Textbook definitions: simple averages, Wilder's RSI seeded
with the mean of the first changes, population standard deviation for the bands, Donchian
channels over the bars before the current one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from papertape.contract.events.market import BarClosed, Timeframe
from papertape.contract.ids import Symbol

T0 = datetime(2026, 2, 2, 14, 30, tzinfo=UTC)
Signals = list[tuple[int, int]]
"""(entry bar, exit bar) pairs; an exit bar of -1 means still open at the end."""


def wavy_bars(count: int = 400, seed: int = 3, symbol: str = "AAPL") -> list[BarClosed]:
    """A noisy wave around 100: each bar opens a little away from the previous close."""
    rng = random.Random(seed)
    bars: list[BarClosed] = []
    close = 100.0
    for i in range(count):
        open_ = close + rng.choice((-0.03, 0.02, 0.04))
        close = 100.0 + 3.0 * math.sin(i / 9.0) + rng.gauss(0.0, 0.6)
        high = max(open_, close) + abs(rng.gauss(0.0, 0.2))
        low = min(open_, close) - abs(rng.gauss(0.0, 0.2))
        start = T0 + timedelta(minutes=i)
        bars.append(
            BarClosed(
                symbol=Symbol(symbol),
                timeframe=Timeframe.M1,
                open=Decimal(f"{open_:.2f}"),
                high=Decimal(f"{high:.2f}"),
                low=Decimal(f"{low:.2f}"),
                close=Decimal(f"{close:.2f}"),
                volume=Decimal(100_000),
                start=start,
                end=start + timedelta(minutes=1),
                source="test",
            )
        )
    return bars


def _closes(bars: Sequence[BarClosed]) -> list[float]:
    return [float(b.close) for b in bars]


def _pairs(entries_exits: list[tuple[str, int]]) -> Signals:
    out: Signals = []
    for kind, i in entries_exits:
        if kind == "in":
            out.append((i, -1))
        else:
            out[-1] = (out[-1][0], i)
    return out


def _walk(count: int, first: int, enter: object, leave: object) -> Signals:
    held = False
    marks: list[tuple[str, int]] = []
    for i in range(first, count):
        if held and leave(i):  # type: ignore[operator]
            held = False
            marks.append(("out", i))
        elif not held and enter(i):  # type: ignore[operator]
            held = True
            marks.append(("in", i))
    return _pairs(marks)


def sma_crossover(bars: Sequence[BarClosed], fast: int, slow: int) -> Signals:
    c = _closes(bars)

    def sma(n: int, i: int) -> float:
        return sum(c[i - n + 1 : i + 1]) / n

    def spread(i: int) -> float:
        return sma(fast, i) - sma(slow, i)

    return _walk(
        len(c),
        slow,  # the first bar with a spread and a spread before it
        lambda i: spread(i - 1) <= 0 < spread(i),
        lambda i: spread(i - 1) >= 0 > spread(i),
    )


def wilder_rsi(closes: Sequence[float], period: int) -> list[float | None]:
    out: list[float | None] = [None] * len(closes)
    changes = [closes[i] - closes[i - 1] for i in range(1, len(closes))]
    gain = sum(max(x, 0.0) for x in changes[:period]) / period
    loss = sum(max(-x, 0.0) for x in changes[:period]) / period
    for i in range(period, len(closes)):
        if i > period:
            x = changes[i - 1]
            gain = (gain * (period - 1) + max(x, 0.0)) / period
            loss = (loss * (period - 1) + max(-x, 0.0)) / period
        out[i] = 100.0 - 100.0 / (1.0 + gain / loss) if loss else (50.0 if not gain else 100.0)
    return out


def rsi_reversion(bars: Sequence[BarClosed], period: int, low: float, exit_: float) -> Signals:
    rsi = wilder_rsi(_closes(bars), period)
    return _walk(
        len(bars),
        period,
        lambda i: rsi[i] < low,  # type: ignore[operator]
        lambda i: rsi[i] >= exit_,  # type: ignore[operator]
    )


def donchian_breakout(bars: Sequence[BarClosed], period: int, exit_period: int) -> Signals:
    highs, lows, c = [float(b.high) for b in bars], [float(b.low) for b in bars], _closes(bars)
    return _walk(
        len(bars),
        max(period, exit_period),
        lambda i: c[i] > max(highs[i - period : i]),
        lambda i: c[i] < min(lows[i - exit_period : i]),
    )


def bollinger_reversion(bars: Sequence[BarClosed], period: int, width: float) -> Signals:
    c = _closes(bars)

    def band(i: int) -> tuple[float, float]:
        window = c[i - period + 1 : i + 1]
        mean = sum(window) / period
        deviation = math.sqrt(sum((x - mean) ** 2 for x in window) / period)
        return mean, mean - width * deviation

    return _walk(
        len(c),
        period - 1,
        lambda i: c[i] < band(i)[1],
        lambda i: c[i] >= band(i)[0],
    )
