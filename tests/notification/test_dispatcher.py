"""The pause between a delivery's attempts: exponential, capped, with jitter."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from papertape.notification.dispatcher import backoff


@given(
    failures=st.integers(min_value=0, max_value=64),
    base_s=st.floats(min_value=0.01, max_value=10),
    max_s=st.floats(min_value=10, max_value=3600),
    seed=st.integers(),
)
def test_the_pause_is_between_half_and_all_of_the_capped_doubling(
    failures: int, base_s: float, max_s: float, seed: int
) -> None:
    cap = min(max_s, base_s * 2.0 ** max(failures - 1, 0))
    pause = backoff(failures, base_s=base_s, max_s=max_s, rng=random.Random(seed))
    assert cap / 2 <= pause <= cap


def test_the_pause_doubles_with_each_failure_until_the_cap() -> None:
    def ceiling(failures: int) -> float:
        rng = random.Random(0)
        return max(backoff(failures, base_s=1, max_s=60, rng=rng) for _ in range(200))

    assert [round(ceiling(n)) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_retries_of_many_deliveries_spread_out_rather_than_arrive_together() -> None:
    rng = random.Random(7)
    pauses = [backoff(3, base_s=1, max_s=60, rng=rng) for _ in range(1000)]
    assert min(pauses) < 2.2  # over the whole of [2, 4]
    assert max(pauses) > 3.8
    assert len({round(p, 6) for p in pauses}) > 990
