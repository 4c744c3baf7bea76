"""Rate limits per key: a token bucket each, refilled at ``rate`` per second up to ``burst``."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

_MAX_BUCKETS = 100_000  # bound on memory: the oldest bucket goes first


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Allows ``burst`` requests at once and ``rate`` per second sustained, per key."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds until it may (Retry-After)."""
        if self.rate <= 0:
            return 0.0  # rate 0: unlimited
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                del self._buckets[next(iter(self._buckets))]
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
