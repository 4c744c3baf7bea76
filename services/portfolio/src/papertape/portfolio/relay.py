"""The relay: follows the event log and publishes every account event to JetStream.

Subject ``acct.<account>.<event>``, ``Nats-Msg-Id`` = the event id, in log order (so
per-account order holds). A batch goes out in order with every acknowledgement in flight at
once (``publish_all``: one round trip per batch, not per event), each after the one before it
(``chained``: the stream stores none of the batch past one it missed, so an account's events
never land out of order on ACCOUNTS); when any of it fails, the batch is published again one
event at a time, each after the one before was acknowledged, which is where a poison event is
found and set aside. The checkpoint moves after JetStream acknowledged the whole batch; a crash
in between re-publishes it, which the stream's dedup window drops.

An event that can never be published (it cannot be read, its stream id is no subject token,
it is larger than the server takes) is quarantined: kept on the DEADLETTER stream as
``dlq.portfolio.eventlog.<position>`` with the reason, counted and logged once, and the relay
goes on with the next; it is never retried for ever and never stops the relay for every
account. A NATS outage is not the event's fault: it is retried until NATS is back.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from nats.errors import MaxPayloadError
from nats.js import JetStreamContext

from papertape.common.bus.deadletters import DeadLetterBox
from papertape.common.bus.publishing import MSG_ID, Outgoing, publish, publish_all
from papertape.common.clock import Clock, SystemClock
from papertape.common.eventlog import RecordedEvent, decode_envelope
from papertape.common.eventlog.relays import LogRelay
from papertape.common.telemetry.metrics import ServiceMetrics
from papertape.common.telemetry.tracing import continued_headers, continuing
from papertape.contract import codec
from papertape.contract.events.account import ACCOUNT_STREAM_PREFIX
from papertape.contract.events.envelope import Envelope
from papertape.contract.subjects import Subjects
from papertape.trading.account.stored import event_codec

RELAY_NAME = "relay.accounts"
SERVICE = "portfolio"
QUARANTINED = "quarantined"
POISON: tuple[type[Exception], ...] = (*codec.DecodeError, ValueError, MaxPayloadError)
"""What an event itself can be wrong with (unreadable, no subject token, too large): never
a NATS or database outage, which the relay retries."""
log = logging.getLogger("papertape.portfolio.relay")


class AccountRelay(LogRelay):
    """Publishes account events from the log to the ACCOUNTS stream."""

    def __init__(
        self,
        dsn: str,
        js: JetStreamContext,
        subjects: Subjects,
        *,
        metrics: ServiceMetrics | None = None,
        batch_size: int = 500,
        clock: Clock | None = None,
        role: str | None = None,
    ) -> None:
        """``role``: the relay's own database role (reads the log, moves its checkpoint)."""
        super().__init__(dsn, RELAY_NAME, metrics=metrics, batch_size=batch_size, role=role)
        self._js = js
        self._subjects = subjects
        self._quarantine = DeadLetterBox(js, subjects, SERVICE, clock or SystemClock())
        self.quarantined = 0

    async def publish(self, batch: list[RecordedEvent]) -> None:
        accounts = [r for r in batch if r.stream_id.startswith(ACCOUNT_STREAM_PREFIX)]
        try:
            messages = [self._outgoing(recorded) for recorded in accounts]
            await publish_all(self._js, messages, chained=True)
        except Exception:  # the slow path below tells a poison event from an outage
            log.debug("a batch of %d events goes out one by one", len(accounts), exc_info=True)
            await self._one_by_one(accounts)

    def _outgoing(self, recorded: RecordedEvent) -> Outgoing:
        envelope = decode_envelope(recorded, event_codec)
        subject, payload = self._message(recorded, envelope)
        # The relayed event continues the trace of the request that caused it (its headers;
        # where no span is recorded, written without making one: ``continued_headers``).
        name = f"{recorded.type} publish"
        headers = continued_headers(name, envelope.traceparent, envelope.tracestate)
        headers[MSG_ID] = recorded.event_id
        return Outgoing(subject, payload, recorded.event_id, headers)

    async def _one_by_one(self, batch: list[RecordedEvent]) -> None:
        for recorded in batch:
            if not recorded.stream_id.startswith(ACCOUNT_STREAM_PREFIX):
                continue
            try:
                envelope = decode_envelope(recorded, event_codec)
                subject, payload = self._message(recorded, envelope)
                # The relayed event continues the trace of the request that caused it.
                trace = (envelope.traceparent, envelope.tracestate)
                with continuing(f"{recorded.type} publish", *trace):
                    await publish(self._js, subject, payload, msg_id=recorded.event_id)
            except POISON as error:
                await self._set_aside(recorded, error)

    def _message(self, recorded: RecordedEvent, envelope: Envelope[Any]) -> tuple[str, bytes]:
        account_id = recorded.stream_id.removeprefix(ACCOUNT_STREAM_PREFIX)
        subject = self._subjects.account_event(account_id, recorded.type)
        return subject, codec.encode(envelope)

    async def _set_aside(self, recorded: RecordedEvent, error: Exception) -> None:
        await self._quarantine.put(
            subject=f"eventlog.{recorded.position}",
            payload=msgspec.json.encode(
                {
                    "position": recorded.position,
                    "stream_id": recorded.stream_id,
                    "event_id": recorded.event_id,
                    "type": recorded.type,
                    "schema_version": recorded.schema_version,
                    "data": recorded.data,
                }
            ),
            error=error,
            reason=QUARANTINED,
            msg_id=f"relay-{recorded.event_id}",
        )
        self.quarantined += 1
        if self._metrics is not None:
            self._metrics.dead_letters.labels(SERVICE, QUARANTINED).inc()
        log.warning(
            "event at position %d (%s) quarantined, the relay goes on: %s",
            recorded.position,
            recorded.stream_id[:80],
            error,
        )
