"""The relay: follows the event log and publishes every bot session's events to SIGNALS.

Signals and their outcomes go on ``signal.<strategy>.<SYM>``, the sessions' own events on
``session.<id>.<event>``, each an ``Envelope`` with ``Nats-Msg-Id`` = the event id, in log
order. A batch is published without waiting message by message (``publish_async``) and the
checkpoint moves once JetStream acknowledged all of it; a crash in between publishes the batch
again, which the stream's dedup window drops. The bar handler never waits for JetStream.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, get_args

import msgspec
from nats.js import JetStreamContext

from papertape.common.bus.publishing import MSG_ID, Outgoing, publish_all, publish_in_order
from papertape.common.eventlog import RecordedEvent, decode_envelope, stored_envelope
from papertape.common.eventlog.relays import LogRelay
from papertape.common.telemetry.metrics import ServiceMetrics
from papertape.common.telemetry.tracing import inject_headers
from papertape.contract import codec
from papertape.contract.events.base import message_name, schema_version
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.sessions import SESSION_STREAM_PREFIX, SessionEvent
from papertape.contract.events.signals import SignalEvent, SignalGenerated, SignalOutcomeRecorded
from papertape.contract.subjects import Subjects
from papertape.signals.book import session_events

RELAY_NAME = "relay.sessions"
ACK_WAIT_S = 10.0


class _Route(msgspec.Struct, frozen=True):
    """The fields of a stored signal that its subject is made of (the rest is not parsed)."""

    strategy: str
    symbol: str


_routes = msgspec.json.Decoder(_Route)
_SIGNAL_TYPES = frozenset(message_name(t) for t in (SignalGenerated, SignalOutcomeRecorded))
_CURRENT = {message_name(t): schema_version(t) for t in get_args(SessionEvent | SignalEvent)}
"""The schema version each event is published at: a stored older one is upcast first."""


@functools.lru_cache(maxsize=65_536)
def _signal_subject(subjects: Subjects, strategy: str, symbol: str) -> str:
    """``signal.<strategy>.<SYM>``, its tokens checked once (each signal of the pair goes there)."""
    return subjects.signal(strategy, symbol)


def subject_of(subjects: Subjects, envelope: Envelope[Any]) -> str:
    """Where a session's event is published."""
    event = envelope.data
    if isinstance(event, SignalGenerated | SignalOutcomeRecorded):
        return subjects.signal(event.strategy, event.symbol)
    return subjects.session_event(event.session_id, message_name(type(event)))


def wire_of(subjects: Subjects, recorded: RecordedEvent) -> tuple[str, bytes]:
    """The subject and the encoded envelope of a stored session event.

    An event stored at its current schema version goes out with its data as stored (the
    bytes the log holds, not decoded and encoded again); an older one is upcast first.
    """
    if _CURRENT.get(recorded.type) != recorded.schema_version:
        envelope = decode_envelope(recorded, session_events)
        return subject_of(subjects, envelope), codec.encode(envelope)
    if recorded.type in _SIGNAL_TYPES:
        route = _routes.decode(recorded.data)
        subject = _signal_subject(subjects, route.strategy, route.symbol)
    else:
        session_id = recorded.stream_id.removeprefix(SESSION_STREAM_PREFIX)
        subject = subjects.session_event(session_id, recorded.type)
    stored = stored_envelope(recorded)
    return subject, codec.encode(stored)


async def publish_recorded(
    js: JetStreamContext, subjects: Subjects, batch: list[RecordedEvent]
) -> int:
    """Publish a batch of the log's session events in order without waiting one by one
    (``publish_all``, chained: the stream stores none past one it missed, so a session's
    events never land out of order); when any of it fails, again one by one. How many."""
    traced = inject_headers()  # the batch is published in one trace context: read it once
    messages = []
    for recorded in batch:
        if not recorded.stream_id.startswith(SESSION_STREAM_PREFIX):
            continue
        subject, payload = wire_of(subjects, recorded)
        headers = {**traced, MSG_ID: recorded.event_id}
        messages.append(Outgoing(subject, payload, recorded.event_id, headers))
    try:
        await publish_all(js, messages, timeout_s=ACK_WAIT_S, chained=True)
    except Exception:  # what was stored stays stored: the dedup window drops the repeats
        await publish_in_order(js, messages)
    return len(messages)


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
        on_published: Callable[[list[RecordedEvent]], None] | None = None,
    ) -> None:
        super().__init__(dsn, RELAY_NAME, metrics=metrics, batch_size=batch_size, role=role)
        self._js = js
        self._subjects = subjects
        self.published = 0
        self._on_published = on_published

    async def publish(self, batch: list[RecordedEvent]) -> None:
        self.published += await publish_recorded(self._js, self._subjects, batch)
        if self._on_published is not None:
            self._on_published(batch)
