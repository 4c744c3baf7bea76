"""Snapshots bound rebuild time: a policy for when to take one, and a rebuild that uses them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import msgspec

from papertape.common.eventlog.port import EventLog, RecordedEvent, SnapshotStore

S = TypeVar("S")


class SnapshotPolicy(msgspec.Struct, frozen=True):
    """Take a snapshot every ``every`` events of a stream, and no sooner than ``of_size`` times
    the state's size (its entries: what a snapshot's encoding costs) after the last one.

    A state that keeps its whole history (an account's orders, fills and trades) costs more to
    snapshot as it grows: at a fixed interval the snapshots of a busy stream cost O(n) each,
    O(n^2) over its life. With ``of_size`` their cost per event stays bounded (about
    ``1 / of_size`` entries encoded per event), and a rebuild replays at most that fraction of
    the state's size after its snapshot."""

    every: int = 100
    of_size: float = 0.0

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("a snapshot policy needs every >= 1")
        if not 0 <= self.of_size <= 10:
            raise ValueError("a snapshot policy's of_size is a fraction from 0 to 10")

    def due(self, snapshot_version: int, version: int, size: int = 0) -> bool:
        """True when ``version`` is at least ``every`` events (and ``of_size`` of ``size``)
        past the last snapshot."""
        return version - snapshot_version >= max(self.every, self.of_size * size)


class Rebuilt(msgspec.Struct, Generic[S], frozen=True):
    """A stream's state, its version, and the version of the snapshot it started from."""

    state: S
    version: int
    snapshot_version: int


async def _starting_point(
    snapshots: SnapshotStore,
    stream_id: str,
    state_schema_version: int,
    initial: S,
    decode_state: Callable[[bytes], S],
    to_position: int | None,
) -> tuple[S, int]:
    """The latest snapshot's state and version, or the initial state (also for as-of reads)."""
    if to_position is not None:  # a snapshot may be newer than the position asked for
        return initial, 0
    snapshot = await snapshots.load_snapshot(stream_id, state_schema_version)
    if snapshot is None:
        return initial, 0
    try:
        return decode_state(snapshot.state), snapshot.version
    except ValueError:
        # A snapshot is a shortcut, never the record: one that cannot be read (taken before
        # the contract's bounds, say) is skipped and the stream replayed from its start.
        return initial, 0


async def rebuild(
    log: EventLog,
    snapshots: SnapshotStore,
    stream_id: str,
    *,
    state_schema_version: int,
    initial: S,
    evolve: Callable[[S, RecordedEvent], S],
    decode_state: Callable[[bytes], S],
    to_position: int | None = None,
) -> Rebuilt[S]:
    """Load the latest snapshot of this state schema (if any) and apply the events after it."""
    state, version = await _starting_point(
        snapshots, stream_id, state_schema_version, initial, decode_state, to_position
    )
    start = version
    batches = log.read_stream(stream_id, from_version=version + 1, to_position=to_position)
    async for batch in batches:
        for event in batch:
            state = evolve(state, event)
        version = batch[-1].stream_version
    return Rebuilt(state, version, start)


async def rebuild_from_data(
    log: EventLog,
    snapshots: SnapshotStore,
    stream_id: str,
    *,
    state_schema_version: int,
    initial: S,
    fold: Callable[[S, str], S],
    decode_state: Callable[[bytes], S],
    to_position: int | None = None,
) -> Rebuilt[S]:
    """``rebuild`` over the fast path: ``fold`` applies a JSON array of events' data at once."""
    state, version = await _starting_point(
        snapshots, stream_id, state_schema_version, initial, decode_state, to_position
    )
    start = version
    batches = log.read_stream_data(stream_id, from_version=version + 1, to_position=to_position)
    async for last, blob in batches:
        state = fold(state, blob)
        version = last
    return Rebuilt(state, version, start)


async def snapshot_if_due(
    snapshots: SnapshotStore,
    policy: SnapshotPolicy,
    rebuilt: Rebuilt[S],
    *,
    state_schema_version: int,
    encode_state: Callable[[S], bytes],
    stream_id: str,
) -> bool:
    """Save a snapshot when the policy says so; returns whether it did."""
    if not policy.due(rebuilt.snapshot_version, rebuilt.version):
        return False
    await snapshots.save_snapshot(
        stream_id, rebuilt.version, state_schema_version, encode_state(rebuilt.state)
    )
    return True
