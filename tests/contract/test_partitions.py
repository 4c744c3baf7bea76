"""The partition function is NATS's: FNV-1a 32 over the account id, modulo the partitions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from papertape.contract.partitions import fnv1a_32, partition_of


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"foobar", 0xBF9CF968)],
)
def test_fnv1a_32_matches_the_published_test_vectors(data: bytes, expected: int) -> None:
    assert fnv1a_32(data) == expected


@given(st.text(min_size=1, max_size=64), st.integers(min_value=1, max_value=64))
def test_every_account_has_one_partition_in_range(account: str, partitions: int) -> None:
    assert 0 <= partition_of(account, partitions) < partitions
    assert partition_of(account, partitions) == partition_of(account, partitions)


def test_one_partition_owns_everything_and_zero_is_refused() -> None:
    assert partition_of("anything", 1) == 0
    with pytest.raises(ValueError, match="at least 1"):
        partition_of("anything", 0)


def test_fifty_accounts_spread_over_four_partitions() -> None:
    counts = [0] * 4
    for n in range(50):
        counts[partition_of(f"acct-{n:03d}", 4)] += 1
    assert min(counts) >= 6, counts
