"""Batches of a durable consumer on a real JetStream: in order, a bad one alone, an outage waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from nats.aio.client import Client

from papertape.common.runtime import ServiceRuntime
from papertape.common.settings import CommonSettings
from papertape.contract.codec import Codec
from papertape.contract.events.envelope import DeadLetter
from papertape.contract.events.market import QuoteReceived
from papertape.contract.subjects import StreamSpec, Subjects

pytestmark = pytest.mark.integration
quotes: Codec[QuoteReceived] = Codec(QuoteReceived)
letters: Codec[DeadLetter] = Codec(DeadLetter)


class Recorder:
    """Keeps the symbols it handled, in order; fails as if the database were away when told."""

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.batches: list[int] = []
        self.outages_left = 0


@pytest_asyncio.fixture
async def batch_service(
    nats_url: str, subjects: Subjects, jetstream_streams: tuple[StreamSpec, ...]
) -> AsyncIterator[tuple[ServiceRuntime, Recorder]]:
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    runtime = ServiceRuntime("batcher", settings, max_deliver=3, retry_backoff_s=(0.1, 0.2))
    recorder = Recorder()

    async def handle(batch: list[bytes]) -> None:
        recorder.batches.append(len(batch))
        decoded = [quotes.decode(body) for body in batch]  # a malformed one fails the batch
        if recorder.outages_left > 0:
            recorder.outages_left -= 1
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        recorder.handled += [q.symbol for q in decoded]

    serving = asyncio.create_task(runtime.serve())
    for _ in range(200):
        if runtime.broker.running:
            break
        await asyncio.sleep(0.05)
    following = asyncio.create_task(
        runtime.pull_batches(
            "batch",
            handle,
            subject=subjects.all_execution_reports(),
            stream=subjects.stream("EXECUTION"),
            durable=f"{subjects.namespace}-batcher",
            config=runtime.consumer_config(ack_wait=30),
            batch=50,
            wait_s=0.5,
        )
    )
    try:
        yield runtime, recorder
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
        runtime.stop()
        await serving


def quote(symbol: str) -> bytes:
    return (
        b'{"type":"quote_received.v1","symbol":"' + symbol.encode() + b'","bid":"1","ask":"2",'
        b'"ts_event":"2026-01-02T15:00:00Z","ts_init":"2026-01-02T15:00:00Z","source":"t"}'
    )


async def publish(nc: Client, subjects: Subjects, bodies: list[bytes]) -> None:
    js = nc.jetstream()
    for body in bodies:
        await js.publish(subjects.execution_report("a", "x"), body)


async def wait_for(condition: Callable[[], bool]) -> None:
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_a_batch_is_handled_once_in_the_order_published(
    batch_service: tuple[ServiceRuntime, Recorder], nats_client: Client, subjects: Subjects
) -> None:
    runtime, recorder = batch_service
    symbols = [f"S{i:02d}" for i in range(20)]
    await asyncio.sleep(0.5)  # the consumer exists: what follows comes in fetches
    # Published together (acks awaited side by side, in order on one connection), so a fetch
    # finds several: one by one on a loaded machine, each could come in a fetch of its own.
    js = nats_client.jetstream()
    subject = subjects.execution_report("a", "x")
    await asyncio.gather(*(js.publish(subject, quote(s)) for s in symbols))

    await wait_for(lambda: len(recorder.handled) >= 20)
    await asyncio.sleep(0.5)

    assert recorder.handled == symbols
    assert max(recorder.batches) > 1  # fetched together, not one at a time
    assert runtime.metrics.handled.labels("batcher", "batch", "ok")._value.get() == 20


async def test_a_malformed_message_in_a_batch_is_dead_lettered_alone(
    batch_service: tuple[ServiceRuntime, Recorder], nats_client: Client, subjects: Subjects
) -> None:
    _runtime, recorder = batch_service
    bodies = [quote("AAA"), quote("BBB"), b'{"nope":1}', quote("CCC")]
    await publish(nats_client, subjects, bodies)

    await wait_for(lambda: len(recorder.handled) >= 3)
    sub = await nats_client.jetstream().subscribe(
        subjects.all_dead_letters(), ordered_consumer=True
    )
    letter = letters.decode((await sub.next_msg(timeout=15)).data)
    await sub.unsubscribe()
    await asyncio.sleep(0.5)

    assert recorder.handled == ["AAA", "BBB", "CCC"]  # the batch failed, then one at a time
    assert letter.reason.startswith("malformed")
    assert letter.payload == '{"nope":1}'


async def test_an_outage_nacks_the_whole_batch_and_it_comes_again_in_order(
    batch_service: tuple[ServiceRuntime, Recorder], nats_client: Client, subjects: Subjects
) -> None:
    runtime, recorder = batch_service
    recorder.outages_left = 2  # the batch, then its first message alone
    symbols = ["AAA", "BBB", "CCC", "DDD"]
    await publish(nats_client, subjects, [quote(s) for s in symbols])

    await wait_for(lambda: len(recorder.handled) >= 4)
    await asyncio.sleep(0.5)

    assert recorder.handled == symbols
    assert runtime.metrics.handled.labels("batcher", "batch", "unavailable")._value.get() == 1
    info = await nats_client.jetstream().stream_info(subjects.stream("DEADLETTER"))
    assert info.state.messages == 0
