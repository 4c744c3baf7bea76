"""Indicators that update in O(1) per bar: each keeps running sums or windows, never history.

Every indicator takes one value (or one bar's high, low and close) per ``update`` and returns
its new value, or ``None`` while it warms up. Prices are floats here: indicators are ratios
and averages whose result is quantized where it leaves the domain (in the signal).

=================  ==========================================================================
indicator          definition (n = period)
=================  ==========================================================================
``SMA``            mean of the last n closes; ready after n values
``EMA``            seeded with the SMA of the first n values, then ``e += a (x - e)``,
                   ``a = 2 / (n + 1)``
``RSI`` (Wilder)   average gain / loss over n changes, seeded with their simple means, then
                   ``avg = (avg (n - 1) + x) / n``; ``100 - 100 / (1 + gain / loss)``
                   (100 when there is no loss, 50 when the price did not move); ready after
                   n + 1 closes
``ATR`` (Wilder)   true range ``max(h - l, |h - c_prev|, |l - c_prev|)`` (``h - l`` on the
                   first bar), seeded with the mean of the first n, then Wilder's smoothing
``Bollinger``      middle = SMA(n), bands = middle +- k x population standard deviation
``MACD``           EMA(fast) - EMA(slow); signal = EMA(signal) of the MACD line; histogram =
                   MACD - signal; ready once the signal line is
``Donchian``       highest high and lowest low of the last n bars (the current bar included)
``Volatility``     sample standard deviation of the last n log returns (n + 1 closes)
=================  ==========================================================================
"""

from __future__ import annotations

import math
from collections import deque


class SMA:
    """Simple moving average of the last ``period`` values."""

    __slots__ = ("_sum", "_window", "period", "value")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError("period must be >= 1")
        self.period = period
        self._window: deque[float] = deque()
        self._sum = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        window = self._window
        window.append(x)
        self._sum += x
        if len(window) > self.period:
            self._sum -= window.popleft()
        if len(window) == self.period:
            self.value = self._sum / self.period
        return self.value


class Smoothing:
    """Exponential smoothing seeded with the simple mean of its first ``period`` values:
    ``value += alpha (x - value)`` (an EMA: alpha = 2 / (n + 1); Wilder's: alpha = 1 / n)."""

    __slots__ = ("_alpha", "_count", "_seed", "period", "value")

    def __init__(self, period: int, alpha: float) -> None:
        if period < 1:
            raise ValueError("period must be >= 1")
        self.period = period
        self._alpha = alpha
        self._count = 0
        self._seed = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        if self.value is not None:
            self.value += self._alpha * (x - self.value)
            return self.value
        self._count += 1
        self._seed += x
        if self._count == self.period:
            self.value = self._seed / self.period
        return self.value


class EMA(Smoothing):
    """Exponential moving average, seeded with the simple mean of its first ``period`` values."""

    __slots__ = ()

    def __init__(self, period: int) -> None:
        super().__init__(period, 2.0 / (period + 1))


class Wilder(Smoothing):
    """Wilder's smoothing: the mean of the first ``period`` values, then (avg (n-1) + x) / n."""

    __slots__ = ()

    def __init__(self, period: int) -> None:
        super().__init__(period, 1.0 / period)


class RSI:
    """Relative strength index with Wilder's smoothing."""

    __slots__ = ("_gain", "_loss", "_previous", "period", "value")

    def __init__(self, period: int = 14) -> None:
        self.period = period
        self._gain = Wilder(period)
        self._loss = Wilder(period)
        self._previous: float | None = None
        self.value: float | None = None

    def update(self, close: float) -> float | None:
        previous, self._previous = self._previous, close
        if previous is None:
            return None
        change = close - previous
        gain = self._gain.update(max(change, 0.0))
        loss = self._loss.update(max(-change, 0.0))
        if gain is None or loss is None:
            return None
        self.value = rsi_of(gain, loss)
        return self.value


def rsi_of(gain: float, loss: float) -> float:
    """RSI from average gain and loss (100 with no loss, 50 when nothing moved)."""
    if loss == 0.0:
        return 50.0 if gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + gain / loss)


class ATR:
    """Average true range with Wilder's smoothing."""

    __slots__ = ("_previous", "_smooth", "period", "value")

    def __init__(self, period: int = 14) -> None:
        self.period = period
        self._smooth = Wilder(period)
        self._previous: float | None = None
        self.value: float | None = None

    def update(self, high: float, low: float, close: float) -> float | None:
        previous, self._previous = self._previous, close
        true_range = high - low
        if previous is not None:
            true_range = max(true_range, abs(high - previous), abs(low - previous))
        self.value = self._smooth.update(true_range)
        return self.value


class RollingMoments:
    """Mean and sum of squared deviations of the last ``period`` values (rolling Welford: no
    cancellation of large sums of squares, so a quiet market at a high price stays exact).

    Every ``period`` rolls both are recomputed from the window (O(period) once per period, so
    O(1) amortized): rounding never accumulates over a long session.
    """

    __slots__ = ("_rolls", "_window", "m2", "mean", "period")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError("period must be >= 1")
        self.period = period
        self._window: deque[float] = deque()
        self._rolls = 0
        self.mean = 0.0
        self.m2 = 0.0

    def update(self, x: float) -> bool:
        """Add a value (dropping the oldest beyond the period); whether the window is full."""
        window = self._window
        window.append(x)
        if len(window) <= self.period:
            delta = x - self.mean
            self.mean += delta / len(window)
            self.m2 += delta * (x - self.mean)
        else:
            old = window.popleft()
            mean = self.mean + (x - old) / self.period
            self.m2 = max(self.m2 + (x - old) * (x - mean + old - self.mean), 0.0)
            self.mean = mean
            self._rolls += 1
            if self._rolls == self.period:
                self._rolls = 0
                self.mean = math.fsum(window) / self.period
                self.m2 = math.fsum((v - self.mean) ** 2 for v in window)
        return len(window) == self.period


class Bollinger:
    """Bollinger bands: SMA(period) +- ``width`` population standard deviations."""

    __slots__ = ("_moments", "lower", "middle", "period", "upper", "width")

    def __init__(self, period: int = 20, width: float = 2.0) -> None:
        self.period = period
        self.width = width
        self._moments = RollingMoments(period)
        self.middle: float | None = None
        self.upper: float | None = None
        self.lower: float | None = None

    def update(self, x: float) -> float | None:
        """The middle band (None while warming up); ``upper`` and ``lower`` move with it."""
        moments = self._moments
        if not moments.update(x):
            return None
        mean = moments.mean
        deviation = math.sqrt(moments.m2 / self.period)
        self.middle = mean
        self.upper = mean + self.width * deviation
        self.lower = mean - self.width * deviation
        return mean


class MACD:
    """Moving average convergence divergence: line, signal line and histogram."""

    __slots__ = ("_fast", "_signal", "_slow", "histogram", "line", "signal")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        if fast >= slow:
            raise ValueError("the fast period must be shorter than the slow one")
        self._fast = EMA(fast)
        self._slow = EMA(slow)
        self._signal = EMA(signal)
        self.line: float | None = None
        self.signal: float | None = None
        self.histogram: float | None = None

    def update(self, close: float) -> float | None:
        """The histogram once the signal line is ready (the line may be ready earlier)."""
        fast = self._fast.update(close)
        slow = self._slow.update(close)
        if fast is None or slow is None:
            return None
        self.line = fast - slow
        self.signal = self._signal.update(self.line)
        if self.signal is None:
            return None
        self.histogram = self.line - self.signal
        return self.histogram


class RollingExtreme:
    """The maximum (or minimum) of the last ``period`` values: a deque kept sorted from its oldest
    to its newest candidate (each value enters and leaves once), amortized O(1)."""

    __slots__ = ("_index", "_maximum", "_window", "period")

    def __init__(self, period: int, *, maximum: bool) -> None:
        if period < 1:
            raise ValueError("period must be >= 1")
        self.period = period
        self._maximum = maximum
        self._window: deque[tuple[int, float]] = deque()
        self._index = 0

    def update(self, x: float) -> float | None:
        window, index = self._window, self._index
        if self._maximum:
            while window and window[-1][1] <= x:
                window.pop()
        else:
            while window and window[-1][1] >= x:
                window.pop()
        window.append((index, x))
        if window[0][0] <= index - self.period:
            window.popleft()
        self._index = index + 1
        return window[0][1] if self._index >= self.period else None


class Donchian:
    """Donchian channel: the highest high and lowest low of the last ``period`` bars."""

    __slots__ = ("_high", "_low", "lower", "period", "upper")

    def __init__(self, period: int = 20) -> None:
        self.period = period
        self._high = RollingExtreme(period, maximum=True)
        self._low = RollingExtreme(period, maximum=False)
        self.upper: float | None = None
        self.lower: float | None = None

    def update(self, high: float, low: float) -> float | None:
        """The channel's middle (None while warming up)."""
        self.upper = self._high.update(high)
        self.lower = self._low.update(low)
        if self.upper is None or self.lower is None:
            return None
        return (self.upper + self.lower) / 2


class Volatility:
    """Sample standard deviation of the last ``period`` log returns (per bar, not annualized)."""

    __slots__ = ("_moments", "_previous", "period", "value")

    def __init__(self, period: int = 20) -> None:
        if period < 2:
            raise ValueError("period must be >= 2")
        self.period = period
        self._moments = RollingMoments(period)
        self._previous: float | None = None
        self.value: float | None = None

    def update(self, close: float) -> float | None:
        previous, self._previous = self._previous, close
        if previous is None or previous <= 0.0 or close <= 0.0:
            return self.value
        if self._moments.update(math.log(close / previous)):
            self.value = math.sqrt(self._moments.m2 / (self.period - 1))
        return self.value
