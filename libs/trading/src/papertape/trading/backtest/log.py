"""The backtest's event log: events in memory, in the order they happened, ids derived.

Every stream (the account's, the session's) numbers its own versions; an event's id is derived
from its stream, version and time, so the same inputs give the same log byte for byte. Events
are kept as they are appended and wrapped in envelopes only when the log is read (most runs
read it once, to write it out).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from papertape.contract.events.envelope import Envelope
from papertape.contract.ids import (
    Actor,
    CausationId,
    CorrelationId,
    EventId,
    StreamId,
    derived_uuid7,
)

ACTOR = Actor("backtest")


class MemoryLog:
    """Append-only events of every stream, in one global order."""

    def __init__(self, correlation_id: str) -> None:
        self.versions: dict[str, int] = {}
        self._records: list[tuple[str, int, datetime, str | None, Any]] = []
        self._correlation = CorrelationId(correlation_id)

    def __len__(self) -> int:
        return len(self._records)

    def append(
        self, stream: str, events: Sequence[Any], at: datetime, cause: str | None = None
    ) -> None:
        """Record ``events`` of ``stream`` as happening at ``at``."""
        version = self.versions.get(stream, 0)
        records = self._records
        for event in events:
            version += 1
            records.append((stream, version, at, cause, event))
        self.versions[stream] = version

    @property
    def envelopes(self) -> list[Envelope[Any]]:
        """Every event in its envelope, in the order recorded."""
        return [
            Envelope(
                event_id=EventId(derived_uuid7(f"{stream}:{version}", int(at.timestamp() * 1000))),
                stream_id=StreamId(stream),
                stream_version=version,
                occurred_at=at,
                correlation_id=self._correlation,
                causation_id=None if cause is None else CausationId(cause),
                actor=ACTOR,
                data=event,
            )
            for stream, version, at, cause, event in self._records
        ]

    def of(self, stream: str) -> list[Any]:
        """The events of one stream, in order."""
        return [event for s, _, _, _, event in self._records if s == stream]
