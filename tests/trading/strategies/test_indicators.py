"""Each indicator against a straightforward recomputation over the whole history, bar by bar,
warm-up included: the O(1) update must give what the textbook formula gives."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertape.trading.strategies.indicators import (
    ATR,
    EMA,
    MACD,
    RSI,
    SMA,
    Bollinger,
    Donchian,
    Volatility,
)

prices = st.lists(st.floats(min_value=1.0, max_value=1000.0), min_size=1, max_size=120)
periods = st.integers(min_value=2, max_value=30)
SERIES = [100 + 10 * math.sin(i / 5) + (i % 7) * 0.3 for i in range(80)]


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=1e-9, abs=1e-7)


def sma_ref(xs: list[float], n: int) -> list[float | None]:
    return [sum(xs[i + 1 - n : i + 1]) / n if i + 1 >= n else None for i in range(len(xs))]


def ema_ref(xs: list[float], n: int) -> list[float | None]:
    out: list[float | None] = []
    value: float | None = None
    for i in range(len(xs)):
        if i + 1 == n:
            value = sum(xs[:n]) / n
        elif value is not None:
            value = value + 2 / (n + 1) * (xs[i] - value)
        out.append(value)
    return out


def wilder_ref(xs: list[float], n: int) -> list[float | None]:
    out: list[float | None] = []
    value: float | None = None
    for i in range(len(xs)):
        if i + 1 == n:
            value = sum(xs[:n]) / n
        elif value is not None:
            value = (value * (n - 1) + xs[i]) / n
        out.append(value)
    return out


def rsi_ref(xs: list[float], n: int) -> list[float | None]:
    changes = [b - a for a, b in itertools.pairwise(xs)]
    gains = wilder_ref([max(c, 0) for c in changes], n)
    losses = wilder_ref([max(-c, 0) for c in changes], n)
    out: list[float | None] = [None]
    for g, loss in zip(gains, losses, strict=True):
        if g is None or loss is None:
            out.append(None)
        elif loss == 0:
            out.append(50.0 if g == 0 else 100.0)
        else:
            out.append(100 - 100 / (1 + g / loss))
    return out


@settings(max_examples=60, deadline=None)
@given(prices, periods)
def test_sma_is_the_mean_of_the_last_n_values(xs: list[float], n: int) -> None:
    sma = SMA(n)
    assert all(close(sma.update(x), want) for x, want in zip(xs, sma_ref(xs, n), strict=True))


@settings(max_examples=60, deadline=None)
@given(prices, periods)
def test_ema_is_seeded_with_the_sma_then_smoothed(xs: list[float], n: int) -> None:
    ema = EMA(n)
    assert all(close(ema.update(x), want) for x, want in zip(xs, ema_ref(xs, n), strict=True))


@settings(max_examples=60, deadline=None)
@given(prices, periods)
def test_rsi_uses_wilder_smoothing_of_gains_and_losses(xs: list[float], n: int) -> None:
    rsi = RSI(n)
    got = [rsi.update(x) for x in xs]
    assert all(close(a, b) for a, b in zip(got, rsi_ref(xs, n), strict=True))


def test_rsi_is_ready_after_period_plus_one_closes() -> None:
    rsi = RSI(14)
    values = [rsi.update(x) for x in SERIES[:16]]
    assert values[:14] == [None] * 14
    assert values[14] is not None


@settings(max_examples=60, deadline=None)
@given(prices, periods)
def test_atr_is_wilders_average_of_true_ranges(xs: list[float], n: int) -> None:
    bars = [(x * 1.01, x * 0.99, x) for x in xs]
    ranges = [bars[0][0] - bars[0][1]] + [
        max(h - lo, abs(h - bars[i][2]), abs(lo - bars[i][2]))
        for i, (h, lo, _c) in enumerate(bars[1:])
    ]
    atr = ATR(n)
    got = [atr.update(h, lo, c) for h, lo, c in bars]
    assert all(close(a, b) for a, b in zip(got, wilder_ref(ranges, n), strict=True))


@settings(max_examples=60, deadline=None)
@given(prices, periods, st.sampled_from([1.0, 2.0, 2.5]))
def test_bollinger_bands_are_the_sma_plus_minus_k_population_deviations(
    xs: list[float], n: int, k: float
) -> None:
    bands = Bollinger(n, k)
    for i, x in enumerate(xs):
        middle = bands.update(x)
        if i + 1 < n:
            assert middle is None
            continue
        window = xs[i + 1 - n : i + 1]
        deviation = statistics.pstdev(window)
        assert close(middle, statistics.fmean(window))
        # Rounding of the running moments stays far below any price tick (1e-4 at 1000).
        assert bands.upper == pytest.approx(statistics.fmean(window) + k * deviation, abs=1e-4)
        assert bands.lower == pytest.approx(statistics.fmean(window) - k * deviation, abs=1e-4)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=1.0, max_value=1000.0), min_size=1, max_size=150))
def test_macd_is_the_difference_of_two_emas_and_its_signal_an_ema_of_it(xs: list[float]) -> None:
    macd = MACD(12, 26, 9)
    fast, slow = ema_ref(xs, 12), ema_ref(xs, 26)
    line = [f - s for f, s in zip(fast, slow, strict=True) if f is not None and s is not None]
    signal = ema_ref(line, 9)
    got = [macd.update(x) for x in xs]
    offset = len(xs) - len(line)
    for i, histogram in enumerate(got):
        j = i - offset
        want = None if j < 0 or signal[j] is None else line[j] - signal[j]  # type: ignore[operator]
        assert close(histogram, want)


@settings(max_examples=60, deadline=None)
@given(prices, periods)
def test_donchian_is_the_highest_high_and_lowest_low_of_the_last_n_bars(
    xs: list[float], n: int
) -> None:
    channel = Donchian(n)
    highs, lows = [x + 1 for x in xs], [x - 1 for x in xs]
    for i in range(len(xs)):
        channel.update(highs[i], lows[i])
        if i + 1 < n:
            assert channel.upper is None
            continue
        assert channel.upper == max(highs[i + 1 - n : i + 1])
        assert channel.lower == min(lows[i + 1 - n : i + 1])


@settings(max_examples=60, deadline=None)
@given(prices, periods)
def test_volatility_is_the_sample_deviation_of_the_last_n_log_returns(
    xs: list[float], n: int
) -> None:
    volatility = Volatility(n)
    returns = [math.log(b / a) for a, b in itertools.pairwise(xs)]
    for i, x in enumerate(xs):
        got = volatility.update(x)
        if i < n:
            assert got is None
            continue
        want = statistics.stdev(returns[i - n : i])
        assert got == pytest.approx(want, rel=1e-6, abs=1e-9)


def test_a_period_below_its_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="period"):
        SMA(0)
    with pytest.raises(ValueError, match="fast"):
        MACD(26, 12)
