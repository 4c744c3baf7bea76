"""One key's messages stay in stream order on a real JetStream while an earlier one is
retried: a later message of its key waits for it (spending none of its deliveries), other
keys' messages go on (``pull_in_lanes`` with a ``KeyOrder``)."""

from __future__ import annotations

import asyncio
import time

import pytest
from nats.aio.client import Client

from papertape.common.bus import consumers
from papertape.common.bus.ordering import KeyOrder
from papertape.common.runtime import ServiceRuntime
from papertape.common.settings import CommonSettings
from papertape.contract.subjects import StreamSpec, Subjects
from tests.common.test_batches import until

pytestmark = pytest.mark.integration


def account(subject: str) -> str:
    return subject.rsplit(".", 2)[-2]


@pytest.mark.parametrize("ordered", [True, False], ids=["kept_in_order", "without_order"])
async def test_a_later_message_of_a_retried_ones_key_waits_for_it_and_others_go_on(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    ordered: bool,
) -> None:
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    runtime = ServiceRuntime("orderly", settings, max_deliver=2, retry_backoff_s=(0.3, 1.0))
    await runtime.connect()
    handled: list[tuple[str, float]] = []
    outages_left = {"a1": 3}  # a1 waits 0.3 + 1.0 + 1.0 s for the database to come back

    @consumers.pull_in_lanes(
        runtime,
        "ordered",
        subjects.all_execution_reports(),
        stream=subjects.stream("EXECUTION"),
        durable=f"{subjects.namespace}-orderly",
        lane=None,
        order=KeyOrder(account) if ordered else None,
    )
    async def on_message(msg: object) -> None:
        body = msg.body.decode()  # type: ignore[attr-defined]
        if outages_left.get(body, 0) > 0:
            outages_left[body] -= 1
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        handled.append((body, time.monotonic()))

    task = asyncio.ensure_future(on_message())
    js = nats_client.jetstream()
    try:
        await js.publish(subjects.execution_report("a", "fill"), b"a1")
        await until(lambda: outages_left["a1"] < 3)  # a1 failed once: it comes back later
        await js.publish(subjects.execution_report("a", "fill"), b"a2")
        await js.publish(subjects.execution_report("b", "fill"), b"b1")
        await until(lambda: len(handled) == 3, seconds=15)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runtime.broker.stop()

    order = [body for body, _ in handled]
    if not ordered:  # the flaw this guards against: a2 overtakes the a1 being retried
        assert order.index("a2") < order.index("a1"), order
        return
    assert order.index("a1") < order.index("a2"), order
    assert order[0] == "b1", order  # another key waits for nothing
    info = await js.stream_info(subjects.stream("DEADLETTER"))
    assert info.state.messages == 0  # a2's deferrals spent none of its two deliveries


@pytest.mark.parametrize("ordered", [True, False], ids=["kept_in_order", "without_order"])
async def test_a_message_left_in_flight_by_a_process_that_died_comes_before_its_keys_later_ones(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    ordered: bool,
) -> None:
    """The first process takes a1 and dies before acknowledging it; JetStream hands a1 out
    again only once its acknowledgement wait is over, and a2 (published meanwhile) at once.
    The next process on the same durable handles a1 first all the same."""
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    handled: list[str] = []
    taken = asyncio.Event()

    def consumer(runtime: ServiceRuntime, dies_on: str | None) -> asyncio.Future[None]:
        @consumers.pull_in_lanes(
            runtime,
            "ordered",
            subjects.all_execution_reports(),
            stream=subjects.stream("EXECUTION"),
            durable=f"{subjects.namespace}-survivor",
            lane=None,
            ack_wait=2.0,
            order=KeyOrder(account) if ordered else None,
        )
        async def on_message(msg: object) -> None:
            body = msg.body.decode()  # type: ignore[attr-defined]
            if body == dies_on:
                taken.set()
                await asyncio.Event().wait()  # never acknowledged: the process dies here
            handled.append(body)

        return asyncio.ensure_future(on_message())

    js = nats_client.jetstream()
    first = ServiceRuntime("survivor", settings)
    await first.connect()
    dying = consumer(first, dies_on="a1")
    await js.publish(subjects.execution_report("a", "fill"), b"a1")
    await asyncio.wait_for(taken.wait(), 10)
    dying.cancel()
    await asyncio.gather(dying, return_exceptions=True)
    await first.broker.stop()

    await js.publish(subjects.execution_report("a", "fill"), b"a2")
    await js.publish(subjects.execution_report("b", "fill"), b"b1")
    second = ServiceRuntime("survivor", settings)
    await second.connect()
    following = consumer(second, dies_on=None)
    try:
        await until(lambda: len(handled) == 3, seconds=15)
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        await second.broker.stop()

    if not ordered:  # the flaw this guards against: a2 overtakes the a1 left in flight
        assert handled.index("a2") < handled.index("a1"), handled
        return
    assert handled == ["b1", "a1", "a2"], handled
