"""AckAll for an in-order consumer: one ack for many, never past a message owed a redelivery."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest
import pytest_asyncio
from faststream.nats import NatsMessage
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, DeliverPolicy

from papertape.common.bus.ackfloor import AckFloor, consume_in_order_acking_all
from papertape.common.runtime import ServiceRuntime
from papertape.common.settings import CommonSettings
from papertape.contract.subjects import StreamSpec, Subjects


class Delivered:
    """A delivered message as the floor sees it: its stream sequence and its acks."""

    def __init__(self, seq: int, acks: list[int]) -> None:
        self.metadata = SimpleNamespace(sequence=SimpleNamespace(stream=seq))
        self._acks = acks

    async def ack(self) -> None:
        self._acks.append(self.metadata.sequence.stream)


def delivered(seq: int, acks: list[int]) -> Msg:
    return cast(Msg, Delivered(seq, acks))


async def test_handled_messages_share_one_ack_of_the_latest() -> None:
    acks: list[int] = []
    floor = AckFloor(linger_s=0.01)
    for seq in (1, 2, 3):
        floor.handled(delivered(seq, acks))
    await asyncio.sleep(0.05)
    assert acks == [3]


async def test_nothing_is_acked_past_a_nacked_message_until_its_redelivery_is_handled() -> None:
    acks: list[int] = []
    floor = AckFloor(linger_s=0.01)
    floor.handled(delivered(1, acks))
    floor.handled(delivered(2, acks))
    floor.nacked(delivered(3, acks))
    await asyncio.sleep(0)
    assert acks == [2]  # what came before the NACK, at once
    floor.handled(delivered(4, acks))
    floor.nacked(delivered(5, acks))
    floor.handled(delivered(6, acks))
    floor.handled(delivered(3, acks))  # redelivered and handled: 5 is still owed
    await asyncio.sleep(0.05)
    assert acks == [2]
    floor.handled(delivered(5, acks))
    await asyncio.sleep(0.05)
    assert acks == [2, 6]


async def test_nothing_is_acked_once_no_longer_live() -> None:
    acks: list[int] = []
    live = True
    floor = AckFloor(linger_s=0.01, live=lambda: live)
    floor.handled(delivered(1, acks))
    live = False
    await asyncio.sleep(0.05)
    assert acks == []


@pytest_asyncio.fixture
async def runtime(
    nats_url: str, subjects: Subjects, jetstream_streams: tuple[StreamSpec, ...]
) -> AsyncIterator[ServiceRuntime]:
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    runtime = ServiceRuntime("acker", settings, max_deliver=3, retry_backoff_s=(0.1, 0.2))
    serving = asyncio.create_task(runtime.serve())
    for _ in range(200):
        if runtime.broker.running:
            break
        await asyncio.sleep(0.05)
    try:
        yield runtime
    finally:
        runtime.stop()
        await serving


async def wait_for(condition: Callable[[], bool]) -> None:
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.mark.integration
async def test_a_message_nacked_on_an_ack_all_consumer_comes_again_and_the_floor_ends_past_it(
    runtime: ServiceRuntime, nats_client: Client, subjects: Subjects
) -> None:
    handled: list[bytes] = []
    failed: list[bytes] = []

    async def handle(msg: NatsMessage) -> None:
        body = cast(bytes, msg.body)
        if body == b"2" and not failed:
            failed.append(body)
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        handled.append(body)

    stream, durable = subjects.stream("MARKET"), f"{subjects.namespace}-acker"
    config = runtime.consumer_config(ack_wait=30)
    config.deliver_policy = DeliverPolicy.ALL
    subscription = await consume_in_order_acking_all(
        runtime,
        "acker",
        subjects.all_market(),
        cast(Any, handle),
        stream=stream,
        queue=durable,
        config=config,
    )
    js = nats_client.jetstream()
    for body in (b"1", b"2", b"3", b"4"):
        await js.publish(subjects.quote("AAA"), body)

    await wait_for(lambda: len(handled) == 4)
    info = await js.consumer_info(stream, durable)
    for _ in range(100):
        if info.ack_floor is not None and info.ack_floor.stream_seq == 4:
            break
        await asyncio.sleep(0.05)
        info = await js.consumer_info(stream, durable)
    with contextlib.suppress(Exception):
        await subscription.unsubscribe()

    assert failed == [b"2"]
    assert handled == [b"1", b"3", b"4", b"2"]  # the NACKed one after its backoff
    assert AckPolicy(info.config.ack_policy) is AckPolicy.ALL
    assert info.ack_floor is not None
    assert info.ack_floor.stream_seq == 4
    assert info.num_ack_pending == 0
