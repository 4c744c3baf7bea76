"""Publishing to JetStream with a deduplication id, the trace context and a retry policy."""

from __future__ import annotations

from typing import Any

from nats.js import JetStreamContext
from nats.js.api import PubAck

from papertape.common.bus.deadletters import UnreadableAckError
from papertape.common.policies import transient_bus_errors
from papertape.common.telemetry.tracing import inject_headers
from papertape.contract import codec

MSG_ID = "Nats-Msg-Id"
ACK_WAIT_S = 5.0


def headers_for(msg_id: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Headers carrying the dedup id and the current trace context."""
    headers = inject_headers(extra)
    headers[MSG_ID] = msg_id
    return headers


async def publish(
    js: JetStreamContext,
    subject: str,
    message: Any,
    *,
    msg_id: str,
    headers: dict[str, str] | None = None,
) -> PubAck:
    """Publish a message (struct or bytes) once: JetStream drops a repeat of ``msg_id``."""
    payload = message if isinstance(message, bytes) else codec.encode(message)
    all_headers = headers_for(msg_id, headers)
    async for attempt in transient_bus_errors():
        with attempt:
            try:
                return await js.publish(subject, payload, headers=all_headers, timeout=ACK_WAIT_S)
            except ValueError as exc:  # nats-py could not decode the answer as JSON
                raise UnreadableAckError(f"no acknowledgement of {subject}: {exc}") from exc
    raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover
