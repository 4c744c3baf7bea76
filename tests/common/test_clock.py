"""Clocks: the system's is aware UTC; the fake one moves only when told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from papertape.common.clock import Clock, FakeClock, SystemClock


def test_system_clock_tells_aware_utc_time() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC


def test_fake_clock_stands_still_until_advanced() -> None:
    clock = FakeClock(datetime(2024, 3, 1, 9, 30, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    assert clock.advance(timedelta(minutes=5)) == datetime(2024, 3, 1, 9, 35, tzinfo=UTC)
    assert clock.now() == datetime(2024, 3, 1, 9, 35, tzinfo=UTC)


def test_fake_clock_can_be_set_to_a_moment() -> None:
    clock = FakeClock()
    clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2025, 1, 1, tzinfo=UTC)


def test_fake_clock_reports_other_time_zones_in_utc() -> None:
    new_york = timezone(timedelta(hours=-5))
    clock = FakeClock(datetime(2024, 3, 1, 9, 30, tzinfo=new_york))
    assert clock.now().tzinfo is UTC
    assert clock.now() == datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
    clock.set(datetime(2024, 3, 1, 10, 0, tzinfo=new_york))
    assert clock.now().utcoffset() == timedelta(0)


def test_fake_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FakeClock(datetime(2024, 1, 1))  # noqa: DTZ001 - the naive time is the point
    with pytest.raises(ValueError, match="timezone-aware"):
        FakeClock().set(datetime(2024, 1, 1))  # noqa: DTZ001 - the naive time is the point


def test_both_clocks_satisfy_the_clock_protocol() -> None:
    clocks: list[Clock] = [SystemClock(), FakeClock()]
    assert all(c.now().tzinfo is not None for c in clocks)
