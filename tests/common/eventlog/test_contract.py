"""The event log's contract, run against the in-memory and the PostgreSQL implementation."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import msgspec
import pytest

from papertape.common.eventlog import (
    GENESIS_HASH,
    ConcurrencyError,
    DuplicateEventError,
    InMemoryEventLog,
    NewEvent,
    RecordedEvent,
    StreamInfo,
    verify_log,
)
from papertape.common.eventlog.postgres import PostgresEventLog

AnyLog = InMemoryEventLog | PostgresEventLog
MakeEvents = Callable[..., list[NewEvent]]


async def everything(log: AnyLog, **kwargs: int) -> list[RecordedEvent]:
    return [event async for batch in log.read_all(**kwargs) for event in batch]


async def stream(log: AnyLog, stream_id: str, **kwargs: int) -> list[RecordedEvent]:
    return [event async for batch in log.read_stream(stream_id, **kwargs) for event in batch]


async def test_first_append_creates_the_stream_at_version_one_onwards(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    positions = await event_log.append("account-a", 0, make_events(3))

    assert positions == [1, 2, 3]
    assert [e.stream_version for e in await stream(event_log, "account-a")] == [1, 2, 3]
    assert await event_log.stream_version("account-a") == 3
    assert await event_log.head_position() == 3


async def test_positions_are_global_across_streams(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    await event_log.append("account-a", 0, make_events(2))
    positions = await event_log.append("account-b", 0, make_events(2))

    assert positions == [3, 4]
    assert [e.stream_version for e in await stream(event_log, "account-b")] == [1, 2]


async def test_stale_expected_version_raises_concurrency_error_with_the_actual_version(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    await event_log.append("account-a", 0, make_events(2))

    with pytest.raises(ConcurrencyError) as raised:
        await event_log.append("account-a", 1, make_events(1))

    assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == (
        "account-a",
        1,
        2,
    )
    assert await event_log.head_position() == 2


async def test_expected_version_zero_refuses_a_stream_that_exists(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    await event_log.append("account-a", 0, make_events(1))

    with pytest.raises(ConcurrencyError):
        await event_log.append("account-a", 0, make_events(1))


async def test_expected_version_none_appends_at_whatever_version_the_stream_is(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    await event_log.append("account-a", None, make_events(2))
    await event_log.append("account-a", None, make_events(1))

    assert await event_log.stream_version("account-a") == 3


async def test_retried_append_returns_the_original_positions_and_writes_nothing(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    events = make_events(3)
    await event_log.append("account-a", 0, make_events(1))
    first = await event_log.append("account-a", 1, events)

    again = await event_log.append("account-a", 1, events)

    assert again == first == [2, 3, 4]
    assert await event_log.head_position() == 4


async def test_retry_with_another_expected_version_is_still_a_no_op(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    events = make_events(2)
    first = await event_log.append("account-a", 0, events)
    await event_log.append("account-a", 2, make_events(1))

    again = await event_log.append("account-a", 0, events)

    assert again == first
    assert await event_log.head_position() == 3


async def test_partial_retry_is_refused(event_log: AnyLog, make_events: MakeEvents) -> None:
    events = make_events(2)
    await event_log.append("account-a", 0, events[:1])

    with pytest.raises(DuplicateEventError):
        await event_log.append("account-a", 1, [*make_events(1), events[0]])
    with pytest.raises(DuplicateEventError):
        await event_log.append("account-a", None, events)
    assert await event_log.head_position() == 1


async def test_event_id_reused_in_another_stream_is_refused(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    events = make_events(1)
    await event_log.append("account-a", 0, events)

    with pytest.raises(DuplicateEventError):
        await event_log.append("account-b", 0, events)


async def test_event_id_written_another_way_is_stored_canonical_and_recognised_again(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    event = make_events(1)[0]
    upper = msgspec.structs.replace(event, event_id=event.event_id.upper())

    positions = await event_log.append("account-a", 0, [upper])
    again = await event_log.append("account-a", 0, [event])

    assert again == positions
    assert [e.event_id for e in await everything(event_log)] == [event.event_id]


async def test_read_all_yields_every_event_in_position_order_in_batches(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    for n in range(5):
        await event_log.append(f"account-{n % 2}", None, make_events(3))

    batches = [batch async for batch in event_log.read_all(batch_size=4)]

    assert [len(batch) for batch in batches] == [4, 4, 4, 3]
    assert [e.position for batch in batches for e in batch] == list(range(1, 16))


async def test_read_all_honours_start_limit_and_end(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    await event_log.append("account-a", 0, make_events(10))

    assert [e.position for e in await everything(event_log, from_position=4, limit=3)] == [4, 5, 6]
    assert [e.position for e in await everything(event_log, to_position=2)] == [1, 2]
    assert await everything(event_log, from_position=11) == []


async def test_read_stream_from_a_version_and_as_of_a_position(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    await event_log.append("account-a", 0, make_events(2))
    await event_log.append("account-b", 0, make_events(1))
    await event_log.append("account-a", 2, make_events(2))

    assert [e.stream_version for e in await stream(event_log, "account-a", from_version=2)] == [
        2,
        3,
        4,
    ]
    assert [e.stream_version for e in await stream(event_log, "account-a", to_version=3)] == [
        1,
        2,
        3,
    ]
    as_of = await stream(event_log, "account-a", to_position=3)
    assert [e.position for e in as_of] == [1, 2]
    assert await stream(event_log, "nobody") == []


async def test_recorded_events_keep_what_was_appended(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    new = make_events(1, kind="order_placed", symbol="EURUSD")[0]
    await event_log.append("account-a", 0, [new])

    [recorded] = await stream(event_log, "account-a")

    assert (recorded.event_id, recorded.type, recorded.schema_version) == (
        new.event_id,
        "order_placed",
        1,
    )
    assert '"symbol"' in recorded.data
    assert '"actor"' in recorded.metadata
    assert recorded.prev_hash == GENESIS_HASH
    assert recorded.recorded_at.tzinfo is not None


async def test_list_streams_by_prefix_with_their_versions(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    await event_log.append("account-b", 0, make_events(2))
    await event_log.append("account-a", 0, make_events(1))
    await event_log.append("session-a", 0, make_events(1))

    assert await event_log.list_streams("account-") == [
        StreamInfo("account-a", 1),
        StreamInfo("account-b", 2),
    ]
    assert len(await event_log.list_streams()) == 3


async def test_snapshot_of_another_state_schema_version_is_ignored(event_log: AnyLog) -> None:
    await event_log.save_snapshot("account-a", 10, 1, b"v1 state")
    await event_log.save_snapshot("account-a", 20, 1, b"newer v1 state")

    latest = await event_log.load_snapshot("account-a", 1)

    assert latest is not None
    assert (latest.version, latest.state) == (20, b"newer v1 state")
    assert await event_log.load_snapshot("account-a", 2) is None


async def test_an_older_snapshot_never_replaces_a_newer_one(event_log: AnyLog) -> None:
    await event_log.save_snapshot("account-a", 20, 1, b"new")
    await event_log.save_snapshot("account-a", 10, 1, b"old")

    latest = await event_log.load_snapshot("account-a", 1)

    assert latest is not None
    assert latest.version == 20


async def test_checkpoint_starts_at_zero_and_moves(event_log: AnyLog) -> None:
    assert await event_log.load_checkpoint("relay") == 0

    await event_log.save_checkpoint("relay", 7)
    await event_log.save_checkpoint("relay", 9)

    assert await event_log.load_checkpoint("relay") == 9
    assert await event_log.load_checkpoint("projector") == 0


async def test_each_hash_chains_the_previous_one_and_verify_passes(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    await event_log.append("account-a", 0, make_events(3))
    await event_log.append("account-b", 0, make_events(2))

    events = await everything(event_log)
    verification = await verify_log(event_log)

    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert verification.ok
    assert verification.checked == 5


async def test_verify_of_an_empty_log_passes(event_log: AnyLog) -> None:
    verification = await verify_log(event_log)

    assert verification.ok
    assert verification.checked == 0


async def test_stream_data_comes_as_json_arrays_in_version_order_for_fast_rebuilds(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    await event_log.append("account-a", 0, make_events(5))
    await event_log.append("account-b", 0, make_events(1))
    await event_log.append("account-a", 5, make_events(2))

    batches = [b async for b in event_log.read_stream_data("account-a", batch_size=3)]

    assert [last for last, _ in batches] == [3, 6, 7]
    decoded = [item["n"] for _, blob in batches for item in msgspec.json.decode(blob)]
    assert decoded == [0, 1, 2, 3, 4, 0, 1]


async def test_stream_data_stops_at_a_position_and_starts_at_a_version(
    event_log: AnyLog, make_events: MakeEvents
) -> None:
    await event_log.append("account-a", 0, make_events(3))
    await event_log.append("account-b", 0, make_events(1))
    await event_log.append("account-a", 3, make_events(3))

    batches = [
        b async for b in event_log.read_stream_data("account-a", from_version=2, to_position=5)
    ]

    assert [last for last, _ in batches] == [4]
    assert [item["n"] for item in msgspec.json.decode(batches[0][1])] == [1, 2, 0]
