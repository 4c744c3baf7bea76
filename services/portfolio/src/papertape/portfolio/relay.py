"""The relay: follows the event log and publishes every account event to JetStream.

Subject ``acct.<account>.<event>``, ``Nats-Msg-Id`` = the event id, one event at a time in
log order (so per-account order holds). The checkpoint moves after JetStream acknowledged a
batch; a crash in between re-publishes that batch, which the stream's dedup window drops.
"""

from __future__ import annotations

from nats.js import JetStreamContext

from papertape.common.bus.publishing import publish
from papertape.common.eventlog import RecordedEvent, decode_envelope
from papertape.common.eventlog.relays import LogRelay
from papertape.common.telemetry.metrics import ServiceMetrics
from papertape.contract import codec
from papertape.contract.events.account import ACCOUNT_STREAM_PREFIX
from papertape.contract.subjects import Subjects
from papertape.trading.account.stored import event_codec

RELAY_NAME = "relay.accounts"


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
    ) -> None:
        super().__init__(dsn, RELAY_NAME, metrics=metrics, batch_size=batch_size)
        self._js = js
        self._subjects = subjects

    async def publish(self, batch: list[RecordedEvent]) -> None:
        for recorded in batch:
            if not recorded.stream_id.startswith(ACCOUNT_STREAM_PREFIX):
                continue
            envelope = decode_envelope(recorded, event_codec)
            account_id = recorded.stream_id.removeprefix(ACCOUNT_STREAM_PREFIX)
            subject = self._subjects.account_event(account_id, recorded.type)
            await publish(self._js, subject, codec.encode(envelope), msg_id=recorded.event_id)
