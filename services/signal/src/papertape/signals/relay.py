"""The relay: follows the event log and publishes every bot session's events to SIGNALS.

Signals and their outcomes go on ``signal.<strategy>.<SYM>``, the sessions' own events on
``session.<id>.<event>``, each an ``Envelope`` with ``Nats-Msg-Id`` = the event id, in log
order. A batch is published without waiting message by message (``publish_async``) and the
checkpoint moves once JetStream acknowledged all of it; a crash in between publishes the batch
again, which the stream's dedup window drops. The bar handler never waits for JetStream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from nats.js import JetStreamContext

from papertape.common.bus.publishing import headers_for
from papertape.common.eventlog import RecordedEvent, decode_envelope
from papertape.common.eventlog.relays import LogRelay
from papertape.common.telemetry.metrics import ServiceMetrics
from papertape.contract import codec
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.sessions import SESSION_STREAM_PREFIX
from papertape.contract.events.signals import SignalGenerated, SignalOutcomeRecorded
from papertape.contract.subjects import Subjects
from papertape.signals.book import session_events

RELAY_NAME = "relay.sessions"
ACK_WAIT_S = 10.0


def subject_of(subjects: Subjects, envelope: Envelope[Any]) -> str:
    """Where a session's event is published."""
    event = envelope.data
    if isinstance(event, SignalGenerated | SignalOutcomeRecorded):
        return subjects.signal(event.strategy, event.symbol)
    return subjects.session_event(event.session_id, message_name(type(event)))


async def publish_all(
    js: JetStreamContext, subjects: Subjects, envelopes: list[Envelope[Any]]
) -> None:
    """Publish envelopes in order without waiting one by one, then wait for every ack."""
    acks = [
        await js.publish_async(
            subject_of(subjects, envelope),
            codec.encode(envelope),
            headers=headers_for(str(envelope.event_id)),
        )
        for envelope in envelopes
    ]
    if acks:
        await asyncio.wait_for(asyncio.gather(*acks), ACK_WAIT_S)


class SessionRelay(LogRelay):
    """Publishes sessions' events from the log to the SIGNALS stream."""

    def __init__(
        self,
        dsn: str,
        js: JetStreamContext,
        subjects: Subjects,
        *,
        metrics: ServiceMetrics | None = None,
        batch_size: int = 500,
        role: str | None = None,
        on_published: Callable[[list[Envelope[Any]]], None] | None = None,
    ) -> None:
        super().__init__(dsn, RELAY_NAME, metrics=metrics, batch_size=batch_size, role=role)
        self._js = js
        self._subjects = subjects
        self.published = 0
        self._on_published = on_published

    async def publish(self, batch: list[RecordedEvent]) -> None:
        envelopes = [
            decode_envelope(recorded, session_events)
            for recorded in batch
            if recorded.stream_id.startswith(SESSION_STREAM_PREFIX)
        ]
        await publish_all(self._js, self._subjects, envelopes)
        self.published += len(envelopes)
        if self._on_published is not None:
            self._on_published(envelopes)
