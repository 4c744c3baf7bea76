"""Request-reply through ``consumers.answer``: many at once, started in arrival order, every
error answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import pytest
import pytest_asyncio
from faststream.nats import NatsMessage
from nats.aio.client import Client

from papertape.common.bus import consumers
from papertape.common.runtime import ServiceRuntime
from papertape.common.settings import CommonSettings
from papertape.contract.codec import Codec
from papertape.contract.events.envelope import Reply, ReplyErrorCode
from papertape.contract.events.market import QuoteReceived
from papertape.contract.subjects import StreamSpec, Subjects

pytestmark = pytest.mark.integration
quotes: Codec[QuoteReceived] = Codec(QuoteReceived)
WORKERS = 4


class Desk:
    """A handler that notes the order requests reach it and holds each until released."""

    def __init__(self) -> None:
        self.started: list[bytes] = []
        self.release = asyncio.Event()
        self.all_in = asyncio.Event()

    async def handle(self, msg: NatsMessage) -> bytes:
        self.started.append(msg.body)
        if msg.body == b"malformed":
            quotes.decode(msg.body)
        if msg.body == b"broken":
            raise RuntimeError("a broken invariant")
        if len(self.started) >= WORKERS:
            self.all_in.set()
        await self.release.wait()
        return b"answer to " + msg.body


@pytest_asyncio.fixture
async def desk(
    nats_url: str, subjects: Subjects, jetstream_streams: tuple[StreamSpec, ...]
) -> AsyncIterator[Desk]:
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    runtime = ServiceRuntime("answers", settings)
    await runtime.connect()
    desk = Desk()
    subscription = await consumers.answer(
        runtime, "probe", "answers.probe", desk.handle, queue="answers", workers=WORKERS
    )
    await runtime.broker.connection.flush()
    try:
        yield desk
    finally:
        await subscription.unsubscribe()
        await runtime.broker.stop()


async def test_requests_are_handled_at_once_and_started_in_the_order_they_came(
    desk: Desk, nats_client: Client
) -> None:
    inbox = nats_client.new_inbox()
    answers = await nats_client.subscribe(inbox)
    sent = [f"r{n}".encode() for n in range(WORKERS * 5)]
    for body in sent:
        await nats_client.publish("answers.probe", body, reply=inbox)
    await nats_client.flush()

    await asyncio.wait_for(desk.all_in.wait(), 10)  # WORKERS in flight together
    assert desk.started == sent[:WORKERS]
    desk.release.set()
    replies = [(await answers.next_msg(timeout=10)).data for _ in sent]

    assert desk.started == sent
    assert sorted(replies) == sorted(b"answer to " + body for body in sent)


async def test_a_failing_or_malformed_request_is_answered_with_its_error_code(
    desk: Desk, nats_client: Client
) -> None:
    desk.release.set()
    broken = await nats_client.request("answers.probe", b"broken", timeout=10)
    malformed = await nats_client.request("answers.probe", b"malformed", timeout=10)

    assert msgspec.json.decode(broken.data, type=Reply).error_code == (
        ReplyErrorCode.INTERNAL_ERROR
    )
    assert msgspec.json.decode(malformed.data, type=Reply).error_code == (
        ReplyErrorCode.MALFORMED_REQUEST
    )


async def test_a_request_whose_reply_subject_is_no_inbox_is_neither_handled_nor_answered(
    desk: Desk, nats_client: Client, subjects: Subjects
) -> None:
    # A client names a subject a service's consumers trust as the reply: nothing is published
    # there (not even an empty answer), and a request with an inbox is served right after.
    forged = subjects.account_event("alice", "order_filled")
    landed = await nats_client.subscribe(forged)
    inbox = nats_client.new_inbox()
    answers = await nats_client.subscribe(inbox)
    await nats_client.publish("answers.probe", b"forged", reply=forged)
    await nats_client.publish("answers.probe", b"good", reply=inbox)
    await nats_client.flush()
    desk.release.set()

    assert (await answers.next_msg(timeout=10)).data == b"answer to good"
    with pytest.raises(TimeoutError):
        await landed.next_msg(timeout=0.5)
    assert desk.started == [b"good"]
