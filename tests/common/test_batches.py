"""A consumer handled a batch at a time on a real JetStream: in order, acknowledged once handled;
a failing batch is retried with backoff and its message dead-lettered on its last delivery; a
transient failure is retried until it passes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from papertape.common.bus.batches import BatchConsumer
from papertape.common.runtime import ServiceRuntime
from papertape.common.settings import CommonSettings
from papertape.contract.subjects import StreamSpec, Subjects
from tests.common.test_runtime import next_letter

pytestmark = pytest.mark.integration


class Batches:
    """Records every batch it is handed; fails while told to."""

    def __init__(self) -> None:
        self.seen: list[list[bytes]] = []
        self.failures_left = 0
        self.outages_left = 0

    async def handle(self, messages: list[Msg]) -> None:
        self.seen.append([m.data for m in messages])
        if self.outages_left > 0:
            self.outages_left -= 1
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        if self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError("the world is down")


@pytest_asyncio.fixture
async def consumer(
    nats_url: str, subjects: Subjects, jetstream_streams: tuple[StreamSpec, ...]
) -> AsyncIterator[tuple[Batches, ServiceRuntime]]:
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    runtime = ServiceRuntime("batcher", settings, max_deliver=3, retry_backoff_s=(0.1, 0.2))
    await runtime.connect()
    batches = Batches()
    config = runtime.consumer_config(ack_wait=30)
    config.deliver_policy = DeliverPolicy.NEW
    config.filter_subject = subjects.all_execution_reports()
    following = BatchConsumer(
        runtime.js,
        subjects.all_execution_reports(),
        stream=subjects.stream("EXECUTION"),
        durable=f"{subjects.namespace}-batcher",
        config=config,
        handle=runtime.guarded_batch("batch")(batches.handle),
        log=runtime.log,
        batch=50,
        linger_s=0.05,
    )
    await following.subscribe()
    task = asyncio.create_task(following.run())
    try:
        yield batches, runtime
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await following.close()
        await runtime.broker.stop()


async def publish(nc: Client, subjects: Subjects, *payloads: bytes) -> None:
    js = nc.jetstream()
    for payload in payloads:
        await js.publish(subjects.execution_report("a", "x"), payload)


async def until(condition: object, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


async def test_messages_come_in_batches_in_order_and_are_acknowledged_once_handled(
    consumer: tuple[Batches, ServiceRuntime], nats_client: Client, subjects: Subjects
) -> None:
    batches, _runtime = consumer
    await publish(nats_client, subjects, *(str(n).encode() for n in range(20)))
    await until(lambda: sum(len(b) for b in batches.seen) >= 20)
    await asyncio.sleep(0.5)  # nothing comes again: every batch was acknowledged
    assert [int(m) for batch in batches.seen for m in batch] == list(range(20))
    assert len(batches.seen) < 20  # more than one at a time


async def test_a_failing_batch_is_retried_then_its_message_dead_lettered(
    consumer: tuple[Batches, ServiceRuntime], nats_client: Client, subjects: Subjects
) -> None:
    batches, _runtime = consumer
    batches.failures_left = 1_000
    await publish(nats_client, subjects, b"poison")
    letter = await next_letter(nats_client, subjects)
    assert letter.payload == "poison"
    assert letter.deliveries == 3
    await asyncio.sleep(0.5)
    assert len(batches.seen) == 3  # acknowledged with the dead letter: no fourth delivery


async def test_a_transient_failure_is_retried_until_it_passes(
    consumer: tuple[Batches, ServiceRuntime], nats_client: Client, subjects: Subjects
) -> None:
    batches, _runtime = consumer
    batches.outages_left = 4  # more than the delivery budget: outages do not spend it
    await publish(nats_client, subjects, b"patient")
    await until(lambda: len(batches.seen) == 5, seconds=15)
    await asyncio.sleep(0.5)
    assert batches.seen == [[b"patient"]] * 5
