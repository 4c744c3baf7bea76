"""Snapshots: taken every N events, used on rebuild, ignored across state schema versions."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest

from papertape.common.eventlog import (
    InMemoryEventLog,
    NewEvent,
    RecordedEvent,
    SnapshotPolicy,
    rebuild,
    snapshot_if_due,
)

MakeEvents = Callable[..., list[NewEvent]]


def count(state: int, event: RecordedEvent) -> int:
    return state + 1


async def rebuilt_count(log: InMemoryEventLog, schema: int) -> tuple[int, int, int]:
    result = await rebuild(
        log,
        log,
        "account-a",
        state_schema_version=schema,
        initial=0,
        evolve=count,
        decode_state=msgspec.json.decode,
    )
    return result.state, result.version, result.snapshot_version


def test_policy_is_due_every_n_events() -> None:
    policy = SnapshotPolicy(every=10)

    assert not policy.due(snapshot_version=0, version=9)
    assert policy.due(snapshot_version=0, version=10)
    assert not policy.due(snapshot_version=10, version=15)


def test_a_policy_of_size_waits_longer_as_the_state_grows() -> None:
    policy = SnapshotPolicy(every=10, of_size=0.25)

    assert policy.due(snapshot_version=0, version=10, size=40)  # a small state: every 10
    assert not policy.due(snapshot_version=0, version=99, size=400)  # a quarter of 400
    assert policy.due(snapshot_version=0, version=100, size=400)
    assert not policy.due(snapshot_version=100, version=109, size=0)


def test_policy_refuses_a_period_below_one() -> None:
    with pytest.raises(ValueError, match="every"):
        SnapshotPolicy(every=0)
    with pytest.raises(ValueError, match="of_size"):
        SnapshotPolicy(of_size=-0.1)


async def test_rebuild_starts_from_the_snapshot_and_applies_later_events(
    make_events: MakeEvents,
) -> None:
    log = InMemoryEventLog()
    await log.append("account-a", 0, make_events(12))
    first = await rebuild(
        log,
        log,
        "account-a",
        state_schema_version=1,
        initial=0,
        evolve=count,
        decode_state=msgspec.json.decode,
    )
    taken = await snapshot_if_due(
        log,
        SnapshotPolicy(every=10),
        first,
        state_schema_version=1,
        encode_state=msgspec.json.encode,
        stream_id="account-a",
    )
    await log.save_snapshot("account-a", 12, 1, b"1000")  # a marker value, not a real count
    await log.append("account-a", 12, make_events(2))

    assert taken
    assert await rebuilt_count(log, 1) == (1002, 14, 12)
    assert await rebuilt_count(log, 2) == (14, 14, 0)
