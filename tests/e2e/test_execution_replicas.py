"""Execution as separate processes on a real NATS: replicas that share the accounts by partition
(NATS KV leases), one killed mid-run, and a crash between matching and publishing.

The test stands in for the portfolio: it places orders on ACCOUNTS (each account's own stream)
and reads the reports off EXECUTION. Every order is a market order that one quote fills whole,
so "filled once" is exactly one fill report per order, ``<order>.fill.1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator

import msgspec
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from papertape.common.bus import leases
from papertape.common.bus.publishing import MSG_ID, publish
from papertape.common.servers import declare_streams
from papertape.contract import codec
from papertape.contract.events.account import AccountEvent, OrderPlaced
from papertape.contract.events.envelope import Envelope, Reply, Request
from papertape.contract.events.execution import (
    ExecutionReport,
    GetWorkingOrders,
    OrderFillReported,
    WorkingOrders,
)
from papertape.contract.ids import AccountId, Actor, CorrelationId, EventId, StreamId
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.execution.ownership import partition_key
from papertape.trading.venue.scenarios import at, placed, quote
from tests.e2e.processes import ServiceProcess, running, service_env, start_service
from tests.e2e.test_trade_flow import until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

reports: codec.Codec[Envelope[ExecutionReport]] = codec.Codec(Envelope[ExecutionReport])
PARTITIONS = 4
ACCOUNTS = 24


async def place(nc: Client, subjects: Subjects, order: OrderPlaced) -> None:
    envelope = Envelope[AccountEvent](
        event_id=EventId(f"evt-{order.order_id}"),
        stream_id=StreamId(f"account-{order.account_id}"),
        stream_version=1,
        occurred_at=order.ts,
        correlation_id=CorrelationId(order.order_id),
        actor=Actor("test"),
        data=order,
    )
    subject = subjects.account_event(order.account_id, "order_placed")
    await publish(nc.jetstream(), subject, envelope, msg_id=envelope.event_id)


def order_of(number: int) -> OrderPlaced:
    account = AccountId(f"acc-{number % ACCOUNTS}")
    return placed(f"o{number}", quantity="1", account=account, ts=at(0))


class Fills:
    """Every fill report on EXECUTION, by its message id, as the stream holds them."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()

    async def follow(self, nc: Client, subjects: Subjects) -> None:
        async def on_report(msg: object) -> None:
            headers = getattr(msg, "headers", None) or {}
            envelope = reports.decode(getattr(msg, "data", b""))
            if isinstance(envelope.data, OrderFillReported):
                self.ids[headers.get(MSG_ID, "")] += 1

        await nc.jetstream().subscribe(
            subjects.all_execution_reports(),
            stream=subjects.stream("EXECUTION"),
            ordered_consumer=True,
            cb=on_report,
        )

    async def until(self, count: int, seconds: float) -> None:
        async def enough() -> bool:
            return len(self.ids) >= count

        try:
            await until(enough, seconds)
        except AssertionError:
            raise AssertionError(f"{len(self.ids)} of {count} orders filled") from None


async def quoting(nc: Client, subjects: Subjects) -> None:
    """A quote every 50 ms, each later than the one before: every working order fills."""
    for step in range(1, 100_000):
        tick = quote("99.98", "100.00", at(step / 20))
        await nc.jetstream().publish(subjects.quote("AAPL"), codec.encode(tick))
        await asyncio.sleep(0.05)


@pytest_asyncio.fixture
async def lease_bucket(nats_client: Client, subjects: Subjects) -> AsyncIterator[KeyValue]:
    js = nats_client.jetstream()
    name = subjects.lease_bucket("execution")
    kv = await leases.open_bucket(js, name)
    try:
        yield kv
    finally:
        with contextlib.suppress(NotFoundError):
            await js.delete_key_value(name)


async def holders(kv: KeyValue) -> list[str | None]:
    return [await leases.holder(kv, partition_key(index)) for index in range(PARTITIONS)]


async def until_held(kv: KeyValue, wanted: set[str], seconds: float) -> list[str | None]:
    """Wait until every partition is held, by exactly the replicas ``wanted``."""

    async def held_by_wanted() -> list[str | None] | None:
        held = await holders(kv)
        return held if None not in held and set(held) == wanted else None

    held: list[str | None] = await until(held_by_wanted, seconds)
    return held


def replica_env(nats_url: str, subjects: Subjects, name: str) -> dict[str, str]:
    return {
        **service_env(nats_url, "", subjects.namespace),
        "PAPERTAPE_PARTITIONS": str(PARTITIONS),
        "PAPERTAPE_REPLICA": name,
    }


@pytest.mark.timeout(120)
async def test_two_replicas_share_the_partitions_and_a_killed_ones_are_taken_over(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    lease_bucket: KeyValue,
) -> None:
    fills = Fills()
    await fills.follow(nats_client, subjects)
    first: ServiceProcess | None = None
    async with running("execution", replica_env(nats_url, subjects, "b")):
        first = await start_service("execution", replica_env(nats_url, subjects, "a"))
        try:
            await first.wait_ready()
            held = await until_held(lease_bucket, {"a", "b"}, 15)
            assert Counter(held) == {"a": 2, "b": 2}, held
            ticker = asyncio.create_task(quoting(nats_client, subjects))
            for number in range(60):
                await place(nats_client, subjects, order_of(number))
            await fills.until(60, 20)

            for number in range(60, 90):
                await place(nats_client, subjects, order_of(number))
            first.proc.kill()  # SIGKILL mid-run: its leases are never handed back
            killed = time.monotonic()
            for number in range(90, 120):
                await place(nats_client, subjects, order_of(number))
            await until_held(lease_bucket, {"b"}, 15)
            takeover = time.monotonic() - killed
            print(f"partitions of the killed replica taken over in {takeover:.2f} s")
            await fills.until(120, 30)
            ticker.cancel()
        finally:
            await first.stop()
    assert takeover < 10
    assert sorted(fills.ids) == sorted(f"o{n}.fill.1" for n in range(120))
    assert set(fills.ids.values()) == {1}, "an order filled twice"


async def working(nc: Client, subjects: Subjects) -> WorkingOrders:
    request = Request(
        request_id="q-1", issued_at=at(1), actor=Actor("test"), body=GetWorkingOrders()
    )
    answer = await nc.request(
        subjects.execution_query("get_working_orders"), codec.encode(request), timeout=10
    )
    reply = msgspec.json.decode(answer.data, type=Reply[WorkingOrders])
    assert reply.result is not None
    return reply.result


@pytest.mark.timeout(90)
async def test_a_crash_between_matching_and_publishing_gives_the_same_fill_after_restart(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    """The book is changed before the fill is stored: killed in between, the restarted venue
    matches the same quote again into the same fill, under the same id."""
    [spec] = [s for s in jetstream_streams if s.name == subjects.stream("EXECUTION")]
    env = service_env(nats_url, "", subjects.namespace)
    await place(nats_client, subjects, order_of(1))
    service = await start_service("execution", env)
    try:
        await service.wait_ready()
        await nats_client.jetstream().delete_stream(spec.name)  # nothing can store the fill
        tick = quote("99.98", "100.00", at(1))
        await nats_client.jetstream().publish(subjects.quote("AAPL"), codec.encode(tick))

        async def matched() -> bool:
            return not (await working(nats_client, subjects)).orders

        await until(matched, 10)  # the fill has left the book, never reaching EXECUTION
        service.proc.kill()  # while its publish of the fill is still being retried
    finally:
        await service.stop()
    await declare_streams(nats_client, [spec])
    fills = Fills()
    await fills.follow(nats_client, subjects)
    async with running("execution", env):
        await fills.until(1, 15)
    assert dict(fills.ids) == {"o1.fill.1": 1}
