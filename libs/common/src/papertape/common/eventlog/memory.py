"""The event log in memory: the same contract as PostgreSQL, for unit tests and backtests."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from datetime import UTC, datetime

from papertape.common.eventlog.hashchain import GENESIS_HASH, epoch_microseconds, event_hash
from papertape.common.eventlog.port import (
    ConcurrencyError,
    DuplicateEventError,
    EventLogError,
    LogHead,
    NewEvent,
    RecordedEvent,
    Snapshot,
    StreamInfo,
)

_CANONICAL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A UUID written as ``str(uuid.UUID(...))`` writes it: such an id is stored as it is."""


def _canonical_id(event_id: str) -> str:
    """The id as PostgreSQL's ``uuid`` column gives it back (parsed only when not canonical
    already: the ids the services derive are, and parsing each cost more than the hash)."""
    if _CANONICAL_ID.fullmatch(event_id):
        return event_id
    return str(uuid.UUID(event_id))


class InMemoryEventLog:
    """EventLog, SnapshotStore and CheckpointStore held in lists and dicts."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        """``clock`` gives the recorded time of an append (a backtest's market time; the wall
        clock by default)."""
        self._clock = clock or (lambda: datetime.now(UTC))
        self._events: list[RecordedEvent] = []
        self._streams: dict[str, list[int]] = {}
        self._by_id: dict[str, int] = {}
        self._snapshots: dict[tuple[str, int], Snapshot] = {}
        self._checkpoints: dict[str, int] = {}

    async def append(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> list[int]:
        """Append atomically; returns the positions (the original ones when retried)."""
        if not events:
            return []
        if not stream_id or "\n" in stream_id:
            raise EventLogError(f"invalid stream id {stream_id!r}")
        ids = [_canonical_id(e.event_id) for e in events]
        if ids[0] in self._by_id:
            return self._replay(stream_id, ids)
        positions = self._streams.get(stream_id, [])
        actual = len(positions)
        if expected_version is not None and expected_version != actual:
            raise ConcurrencyError(stream_id, expected_version, actual)
        if any(event_id in self._by_id for event_id in ids) or len(set(ids)) != len(ids):
            raise DuplicateEventError(stream_id, "event ids stored already or repeated")
        recorded_at = self._clock()
        if self._events:  # like PostgreSQL's append: recorded times never run backwards
            recorded_at = max(recorded_at, self._events[-1].recorded_at)
        recorded_us = epoch_microseconds(recorded_at)  # one time for the whole append
        prev = self._events[-1].hash if self._events else GENESIS_HASH
        new: list[int] = []
        stream_positions = self._streams.setdefault(stream_id, [])
        for offset, (event, event_id) in enumerate(zip(events, ids, strict=True), start=1):
            position = len(self._events) + 1
            version = actual + offset
            data, metadata = event.data.decode(), event.metadata.decode()
            digest = event_hash(
                prev,
                position,
                stream_id,
                version,
                event_id,
                event.type,
                event.schema_version,
                data,
                metadata,
                recorded_us=recorded_us,
            )
            self._events.append(
                RecordedEvent(
                    position,
                    stream_id,
                    version,
                    event_id,
                    event.type,
                    event.schema_version,
                    data,
                    metadata,
                    recorded_at,
                    prev,
                    digest,
                )
            )
            self._by_id[event_id] = position
            stream_positions.append(position)
            new.append(position)
            prev = digest
        return new

    @classmethod
    def of_recorded(cls, recorded: Iterable[RecordedEvent]) -> InMemoryEventLog:
        """A log holding stored events exactly as they are (an export read back): their
        positions and hashes are kept, not recomputed, so ``verify_log`` checks them."""
        log = cls()
        for event in recorded:
            log._events.append(event)
            position = len(log._events)
            log._by_id[event.event_id] = position
            log._streams.setdefault(event.stream_id, []).append(position)
        return log

    def _replay(self, stream_id: str, ids: list[str]) -> list[int]:
        positions = [self._by_id.get(event_id) for event_id in ids]
        found = [p for p in positions if p is not None]
        if len(found) != len(ids) or any(self._events[p - 1].stream_id != stream_id for p in found):
            raise DuplicateEventError(stream_id, "some of these events are stored already")
        return found

    async def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        to_position: int | None = None,
        batch_size: int = 1_000,
    ) -> AsyncGenerator[list[RecordedEvent], None]:
        """The stream's events in version order, in batches, optionally as of a position."""
        positions = self._streams.get(stream_id, [])
        last = len(positions) if to_version is None else min(to_version, len(positions))
        selected = [
            self._events[p - 1]
            for p in positions[max(from_version, 1) - 1 : last]
            if to_position is None or p <= to_position
        ]
        for start in range(0, len(selected), batch_size):
            yield selected[start : start + batch_size]

    async def read_stream_data(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_position: int | None = None,
        batch_size: int = 10_000,
    ) -> AsyncGenerator[tuple[int, str], None]:
        """(last version, JSON array of the events' data) per batch, in version order."""
        batches = self.read_stream(
            stream_id, from_version=from_version, to_position=to_position, batch_size=batch_size
        )
        async for batch in batches:
            yield batch[-1].stream_version, "[" + ",".join(r.data for r in batch) + "]"

    async def read_all(
        self,
        from_position: int = 1,
        *,
        limit: int | None = None,
        to_position: int | None = None,
        batch_size: int = 1_000,
    ) -> AsyncGenerator[list[RecordedEvent], None]:
        """Every event from ``from_position`` in position order, in batches."""
        end = len(self._events) if to_position is None else min(to_position, len(self._events))
        start = max(from_position, 1) - 1
        if limit is not None:
            end = min(end, start + limit)
        for offset in range(start, end, batch_size):
            yield self._events[offset : min(offset + batch_size, end)]

    async def head_position(self) -> int:
        """The last position (0 when the log is empty)."""
        return len(self._events)

    async def head(self) -> LogHead:
        """The head row as stored, and the highest stored position (one and the same here)."""
        last = len(self._events)
        digest = self._events[-1].hash if self._events else GENESIS_HASH
        return LogHead(position=last, hash=digest, last_stored=last)

    async def hash_formula_from(self) -> int:
        """The first position hashed with formula 2: every one, in memory."""
        return 1

    async def stream_version(self, stream_id: str) -> int:
        """The stream's last version (0 when it does not exist)."""
        return len(self._streams.get(stream_id, []))

    async def list_streams(self, prefix: str = "") -> list[StreamInfo]:
        """Every stream whose id starts with ``prefix``, with its version, sorted by id."""
        return [
            StreamInfo(stream_id, len(positions))
            for stream_id, positions in sorted(self._streams.items())
            if stream_id.startswith(prefix)
        ]

    async def save_snapshot(
        self, stream_id: str, version: int, state_schema_version: int, state: bytes
    ) -> None:
        """Keep the state as of ``version`` (replaces an older snapshot of that schema)."""
        key = (stream_id, state_schema_version)
        current = self._snapshots.get(key)
        if current is None or current.version <= version:
            self._snapshots[key] = Snapshot(stream_id, version, state_schema_version, bytes(state))

    async def load_snapshot(self, stream_id: str, state_schema_version: int) -> Snapshot | None:
        """The latest snapshot taken with this state schema version, if any."""
        return self._snapshots.get((stream_id, state_schema_version))

    async def load_checkpoint(self, name: str) -> int:
        """The last position the subscriber handled (0 when it never ran)."""
        return self._checkpoints.get(name, 0)

    async def save_checkpoint(self, name: str, position: int) -> None:
        """Record that the subscriber handled everything up to ``position``."""
        self._checkpoints[name] = position
