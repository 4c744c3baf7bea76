"""Ids: UUIDv7 layout, monotonic order within a process, deterministic seeded ids."""

from __future__ import annotations

import hashlib
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from papertape.common.idgen import SeededIdGenerator, Uuid7Generator, uuid7_text
from papertape.contract.ids import derived_uuid7, uuid7_from, uuid7_time_ms


def _assert_uuid7(value: str) -> None:
    parsed = uuid.UUID(value)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert str(parsed) == value


def test_uuid7_from_sets_version_and_variant_bits_and_keeps_the_time() -> None:
    value = uuid7_from(1_700_000_000_123, rand_a=(1 << 16) - 1, rand_b=(1 << 64) - 1)
    _assert_uuid7(str(value))
    assert uuid7_time_ms(str(value)) == 1_700_000_000_123


@given(
    st.integers(min_value=0, max_value=(1 << 48) - 1),
    st.integers(min_value=0, max_value=(1 << 16) - 1),
    st.integers(min_value=0, max_value=(1 << 64) - 1),
)
def test_uuid7_text_is_the_uuid_objects_text(unix_ms: int, rand_a: int, rand_b: int) -> None:
    assert uuid7_text(unix_ms, rand_a, rand_b) == str(uuid7_from(unix_ms, rand_a, rand_b))


def test_system_ids_are_uuid7_with_the_current_time() -> None:
    generator = Uuid7Generator()
    value = generator.new()
    _assert_uuid7(value)
    assert uuid7_time_ms(value) > 1_700_000_000_000


def test_system_ids_are_unique_and_sorted_in_creation_order() -> None:
    generator = Uuid7Generator()
    made = [generator.new() for _ in range(20_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_ids_stay_ordered_when_many_share_one_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_000 * 1_000_000)
    generator = Uuid7Generator()
    made = [generator.new() for _ in range(10_000)]  # more than the 12-bit counter holds
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    for value in made:
        _assert_uuid7(value)


def test_ids_stay_ordered_when_the_clock_steps_back(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_700_000_000_500]
    monkeypatch.setattr(time, "time_ns", lambda: now[0] * 1_000_000)
    generator = Uuid7Generator()
    first = generator.new()
    now[0] -= 400
    second = generator.new()
    assert second > first


def test_seeded_ids_repeat_for_the_same_seed() -> None:
    a, b = SeededIdGenerator(seed=7), SeededIdGenerator(seed=7)
    assert [a.new() for _ in range(50)] == [b.new() for _ in range(50)]


def test_seeded_ids_differ_between_seeds_and_are_ordered_uuid7s() -> None:
    made = [SeededIdGenerator(seed=1).new(), SeededIdGenerator(seed=2).new()]
    assert made[0] != made[1]
    generator = SeededIdGenerator(seed=3, start_ms=1_800_000_000_000)
    sequence = [generator.new() for _ in range(100)]
    assert sequence == sorted(sequence)
    assert uuid7_time_ms(sequence[0]) == 1_800_000_000_001
    for value in sequence:
        _assert_uuid7(value)


@pytest.mark.parametrize(
    ("key", "unix_ms", "stored"),
    [  # ids already in logs and streams: the derivation may never change
        (
            "signal:bench-crossover:S001:1m:2024-01-02T15:00:00+00:00",
            1_704_207_660_000,
            "018ccab1-33e0-70ec-861f-f961a67bc5f1",
        ),
        ("", 0, "00000000-0000-7e3b-8442-98fc1c149afb"),
        ("order:entry:x", (1 << 48) + 5, "00000000-0005-79f1-916c-c9a1fee9780a"),
    ],
)
def test_derived_ids_are_the_ones_stored(key: str, unix_ms: int, stored: str) -> None:
    assert derived_uuid7(key, unix_ms) == stored


@given(st.text(max_size=200), st.integers(min_value=0, max_value=(1 << 60)))
def test_derived_ids_are_uuid7_from_the_keys_digest(key: str, unix_ms: int) -> None:
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:10], "big")
    expected = uuid7_from(unix_ms, rand_a=digest >> 68, rand_b=digest)
    assert derived_uuid7(key, unix_ms) == str(expected)
    _assert_uuid7(derived_uuid7(key, unix_ms))
