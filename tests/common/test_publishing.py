"""Publishing rides through a clustered stream's leader election instead of failing the handler."""

from __future__ import annotations

import json
from typing import Any

import pytest
from nats.js.api import PubAck
from nats.js.errors import NoStreamResponseError

from papertape.common.bus.deadletters import UnreadableAckError, is_transient
from papertape.common.bus.publishing import MSG_ID, publish


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
