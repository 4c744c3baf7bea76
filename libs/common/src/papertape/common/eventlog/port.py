"""The event log's port: what every implementation offers, its records and its errors.

Stream versions start at 1. ``expected_version`` on append is the version the caller
last saw: ``0`` means the stream must not exist yet, ``n`` that its last event is version
``n``, and ``None`` appends whatever the current version is (no concurrency check).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from papertape.contract.ids import Actor, CausationId, CorrelationId


class Metadata(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the envelope says about an event besides its data: time, causality, actor, trace."""

    occurred_at: datetime
    correlation_id: CorrelationId
    causation_id: CausationId | None = None
    actor: Actor
    traceparent: str | None = None
    tracestate: str | None = None


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event to append: its id, wire name, schema version, data and metadata as JSON."""

    event_id: str
    type: str
    schema_version: int
    data: bytes
    metadata: bytes


class RecordedEvent(msgspec.Struct, frozen=True):
    """An event as stored: ``data`` and ``metadata`` are the JSON text the hash covers."""

    position: int
    stream_id: str
    stream_version: int
    event_id: str
    type: str
    schema_version: int
    data: str
    metadata: str
    recorded_at: datetime
    prev_hash: bytes
    hash: bytes


class LogHead(msgspec.Struct, frozen=True, kw_only=True):
    """The head row (last position and its hash) and the highest position actually stored."""

    position: int
    hash: bytes
    last_stored: int


class StreamInfo(msgspec.Struct, frozen=True):
    """A stream and its current version."""

    stream_id: str
    version: int


class Snapshot(msgspec.Struct, frozen=True):
    """A stream's state as of ``version``, serialized by a state schema of its own."""

    stream_id: str
    version: int
    state_schema_version: int
    state: bytes


class EventLogError(Exception):
    """Anything the event log refuses."""


class ConcurrencyError(EventLogError):
    """The stream moved on since the caller read it: reload and decide again."""

    def __init__(self, stream_id: str, expected: int | None, actual: int) -> None:
        super().__init__(f"stream {stream_id!r} is at version {actual}, expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateEventError(EventLogError):
    """Some (not all) of the events are stored already, or stored in another stream."""

    def __init__(self, stream_id: str, detail: str = "") -> None:
        super().__init__(f"a partial retry, or event ids reused: {stream_id!r} {detail}")
        self.stream_id = stream_id


class EventLog(Protocol):
    """An append-only log of streams with gap-free global positions and a hash chain."""

    async def append(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> list[int]:
        """Append atomically; returns the positions (the original ones when retried)."""
        ...

    def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        to_position: int | None = None,
        batch_size: int = 1_000,
    ) -> AsyncGenerator[list[RecordedEvent], None]:
        """The stream's events in version order, in batches, optionally as of a position."""
        ...

    def read_stream_data(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_position: int | None = None,
        batch_size: int = 10_000,
    ) -> AsyncGenerator[tuple[int, str], None]:
        """Rebuilds' fast path: (last version, JSON array of the events' data) per batch."""
        ...

    def read_all(
        self,
        from_position: int = 1,
        *,
        limit: int | None = None,
        to_position: int | None = None,
        batch_size: int = 1_000,
    ) -> AsyncGenerator[list[RecordedEvent], None]:
        """Every event from ``from_position`` in position order, in batches."""
        ...

    async def head_position(self) -> int:
        """The last position (0 when the log is empty)."""
        ...

    async def head(self) -> LogHead:
        """The head row as stored, and the highest stored position (for the audit to compare)."""
        ...

    async def hash_formula_from(self) -> int:
        """The first position hashed with formula 2 (the recorded time included)."""
        ...

    async def stream_version(self, stream_id: str) -> int:
        """The stream's last version (0 when it does not exist)."""
        ...

    async def list_streams(self, prefix: str = "") -> list[StreamInfo]:
        """Every stream whose id starts with ``prefix``, with its version, sorted by id."""
        ...


class SnapshotStore(Protocol):
    """Snapshots of streams' states, one per stream and state schema version."""

    async def save_snapshot(
        self, stream_id: str, version: int, state_schema_version: int, state: bytes
    ) -> None:
        """Keep the state as of ``version`` (replaces an older snapshot of that schema)."""
        ...

    async def load_snapshot(self, stream_id: str, state_schema_version: int) -> Snapshot | None:
        """The latest snapshot taken with this state schema version, if any."""
        ...


class CheckpointStore(Protocol):
    """How far each subscriber has read the log."""

    async def load_checkpoint(self, name: str) -> int:
        """The last position the subscriber handled (0 when it never ran)."""
        ...

    async def save_checkpoint(self, name: str, position: int) -> None:
        """Record that the subscriber handled everything up to ``position``."""
        ...
