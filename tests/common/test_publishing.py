"""Publishing rides through a clustered stream's leader election instead of failing the handler."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError

from papertape.common.bus.deadletters import UnreadableAckError, is_transient
from papertape.common.bus.publishing import (
    MSG_ID,
    Outgoing,
    headers_for,
    publish,
    publish_all,
    publish_in_order,
)


class ElectingStream:
    """A JetStream whose stream has no leader for the first few publishes."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.attempts: list[dict[str, str]] = []

    async def publish(self, subject: str, payload: bytes, **kwargs: Any) -> PubAck:
        self.attempts.append(kwargs["headers"])
        if self.failures:
            raise self.failures.pop(0)
        return PubAck(stream="EXECUTION", seq=len(self.attempts))


@pytest.mark.parametrize(
    "failure",
    [NoStreamResponseError(), json.JSONDecodeError("Expecting value", "", 0)],
    ids=["no stream response", "empty acknowledgement"],
)
async def test_a_publish_is_retried_while_the_stream_has_no_leader(failure: Exception) -> None:
    stream = ElectingStream([failure, failure, failure])
    js: Any = stream
    ack = await publish(js, "exec.a.fill", b"{}", msg_id="fill-1")
    assert ack.seq == 4
    assert [headers[MSG_ID] for headers in stream.attempts] == ["fill-1"] * 4  # dedup on retry


def test_an_election_is_transient_for_the_handlers_too() -> None:
    assert is_transient(NoStreamResponseError())
    assert is_transient(UnreadableAckError("no acknowledgement"))


@pytest.mark.integration
@pytest.mark.parametrize("chained", [False, True])
async def test_a_chained_batch_stores_nothing_past_a_message_the_stream_refused(
    nats_client: Client, chained: bool
) -> None:
    """The middle message of a batch is refused (it names another stream); unchained, the
    stream would hold the first and the third, out of order with the second once it is sent
    again; chained, it holds only the first, and the slow path sends the rest in order."""
    js = nats_client.jetstream()
    stream = f"CHAIN{uuid.uuid4().hex[:10].upper()}"
    subject = f"{stream.lower()}.acct.a"
    await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
    try:
        refused = {**headers_for("m2"), "Nats-Expected-Stream": "ELSEWHERE"}
        batch = [
            Outgoing(subject, b"1", "m1", headers_for("m1")),
            Outgoing(subject, b"2", "m2", refused),
            Outgoing(subject, b"3", "m3", headers_for("m3")),
        ]
        with pytest.raises((APIError, TimeoutError)):  # refused, or its ack never comes
            await publish_all(js, batch, chained=chained)
        stored = await _stored(js, stream)
        assert stored == ([b"1", b"3"] if not chained else [b"1"])
        await publish_in_order(js, [batch[0], Outgoing(subject, b"2", "m2"), batch[2]])
        assert await _stored(js, stream) == (
            [b"1", b"3", b"2"] if not chained else [b"1", b"2", b"3"]
        )
    finally:
        await js.delete_stream(stream)


async def _stored(js: Any, stream: str) -> list[bytes]:
    info = await js.stream_info(stream)
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        found.append((await js.get_msg(stream, sequence)).data)
    return found
