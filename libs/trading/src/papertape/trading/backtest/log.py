"""The backtest's event log: envelopes in memory, in the order they happened, ids derived.

Every stream (the account's, the session's) numbers its own versions; an event's id is derived
from its stream, version and time, so the same inputs give the same log byte for byte.
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
    """Append-only envelopes of every stream, in one global order."""

    def __init__(self, correlation_id: str) -> None:
        self.envelopes: list[Envelope[Any]] = []
        self.versions: dict[str, int] = {}
        self._correlation = CorrelationId(correlation_id)

    def append(
        self, stream: str, events: Sequence[Any], at: datetime, cause: str | None = None
    ) -> None:
        """Record ``events`` of ``stream`` as happening at ``at``."""
        version = self.versions.get(stream, 0)
        ms = int(at.timestamp() * 1000)
        causation = None if cause is None else CausationId(cause)
        for event in events:
            version += 1
            self.envelopes.append(
                Envelope(
                    event_id=EventId(derived_uuid7(f"{stream}:{version}", ms)),
                    stream_id=StreamId(stream),
                    stream_version=version,
                    occurred_at=at,
                    correlation_id=self._correlation,
                    causation_id=causation,
                    actor=ACTOR,
                    data=event,
                )
            )
        self.versions[stream] = version

    def of(self, stream: str) -> list[Any]:
        """The events of one stream, in order."""
        return [e.data for e in self.envelopes if e.stream_id == stream]
