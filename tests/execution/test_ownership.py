"""A replica holding partition leases on a real NATS: one whose lease renewal is refused stops
matching that partition at once, and matches it again, from where it stopped, once it is back;
the queries of a partition it no longer holds are answered ``unavailable`` while the holder is
silent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import msgspec
import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from papertape.common.bus import leases
from papertape.common.bus.leases import Lease
from papertape.common.bus.permissions import BusLogin
from papertape.common.testing.plugin import SecuredNats
from papertape.contract import codec
from papertape.contract.events.envelope import Reply, ReplyErrorCode, Request
from papertape.contract.events.execution import GetWorkingOrders, WorkingOrders
from papertape.contract.ids import AccountId, Actor
from papertape.contract.partitions import partition_of
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.execution.bootstrap import ExecutionService
from papertape.execution.ownership import partition_key
from papertape.execution.partitions import market_durable
from papertape.execution.settings import ExecutionSettings
from papertape.trading.venue.scenarios import at, placed, quote
from tests.e2e.test_trade_flow import until
from tests.execution.test_execution_service import next_fills, place

pytestmark = pytest.mark.integration

PARTITIONS = 2


def account_in(partition: int) -> AccountId:
    return next(
        AccountId(f"acc-{n}")
        for n in range(100)
        if partition_of(f"acc-{n}", PARTITIONS) == partition
    )


@contextlib.asynccontextmanager
async def holding_every_partition(
    nats_url: str, subjects: Subjects
) -> AsyncIterator[ExecutionService]:
    """One replica, started, holding (and matching) every partition."""
    settings = ExecutionSettings(
        nats_url=nats_url,
        namespace=subjects.namespace,
        metrics_port=-1,
        expiry_sweep_s=0,
        partitions=PARTITIONS,
        replica="solo",
    )
    service = ExecutionService(settings)
    serving = asyncio.create_task(service.serve())
    try:
        await asyncio.wait_for(service.matching.wait(), 30)
        assert service.ownership is not None
        ownership = service.ownership
        for partition in ownership.partitions():
            await asyncio.wait_for(partition.matching.wait(), 30)
        assert sorted(ownership.held) == [0, 1]
        yield service
    finally:
        service.runtime.stop()
        await asyncio.wait_for(serving, 30)


@pytest_asyncio.fixture
async def replica(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> AsyncIterator[ExecutionService]:
    try:
        async with holding_every_partition(nats_url, subjects) as service:
            yield service
    finally:
        with contextlib.suppress(NotFoundError):
            await nats_client.jetstream().delete_key_value(subjects.lease_bucket("execution"))


async def keep(kv: KeyValue, lease: Lease, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await leases.renew(kv, lease)
        await asyncio.sleep(0.5)


async def test_a_refused_renewal_stops_matching_the_partition_until_its_lease_is_back(
    replica: ExecutionService, nats_client: Client, subjects: Subjects
) -> None:
    ownership = replica.ownership
    assert ownership is not None
    kv = ownership.kv
    # Someone else writes partition 0's key: the replica's next renewal is refused.
    revision = await kv.put(partition_key(0), b"thief")
    stolen = Lease(partition_key(0), "thief", revision)
    stop = asyncio.Event()
    thief = asyncio.create_task(keep(kv, stolen, stop))

    async def given_up() -> bool:
        return sorted(ownership.held) == [1]

    await until(given_up, 5)
    lost, kept = account_in(0), account_in(1)
    await place(nats_client, subjects, placed("lost-1", account=lost, ts=at(0)), 1)
    await place(nats_client, subjects, placed("kept-1", account=kept, ts=at(0)), 2)
    await asyncio.sleep(0.3)  # the kept partition's book has the order
    await nats_client.publish(subjects.quote("AAPL"), codec.encode(quote("99.98", "100", at(1))))
    [(msg_id, _)] = await next_fills(nats_client, subjects, 1)
    assert msg_id == "kept-1.fill.1"
    await asyncio.sleep(1.5)
    assert await leases.holder(kv, partition_key(0)) == "thief"
    assert 0 not in ownership.held

    # The thief lets go: the replica takes partition 0 again, rebuilds its book and matches
    # the quote it never acknowledged.
    stop.set()
    await thief
    await leases.release(kv, stolen)
    found = await next_fills(nats_client, subjects, 2)
    assert sorted(msg_id for msg_id, _ in found) == ["kept-1.fill.1", "lost-1.fill.1"]


async def test_the_execution_login_may_hold_leases_in_a_bucket_the_operator_declared(
    secured_nats: SecuredNats, subjects: Subjects
) -> None:
    operator = await nats.connect(secured_nats.url_for(BusLogin.OPERATOR), connect_timeout=5)
    try:
        await leases.declare_bucket(operator.jetstream(), subjects.lease_bucket("execution"))
    finally:
        await operator.close()
    url = secured_nats.url_for(BusLogin.EXECUTION)
    async with holding_every_partition(url, subjects) as service:
        assert service.ownership is not None
        kv = service.ownership.kv
        assert await leases.holder(kv, partition_key(0)) == "solo"


async def test_the_lag_of_every_partitions_market_consumer_is_polled(
    replica: ExecutionService, nats_client: Client, subjects: Subjects
) -> None:
    for step in range(3):
        tick = codec.encode(quote("99.98", "100", at(step + 1)))
        await nats_client.jetstream().publish(subjects.quote("AAPL"), tick)
    runtime = replica.runtime
    market = subjects.stream("MARKET")
    durables = [market_durable(runtime, index) for index in range(PARTITIONS)]

    def lag(gauge: str, durable: str) -> float | None:
        labels = {"service": "execution", "stream": market, "durable": durable}
        return runtime.metrics.registry.get_sample_value(f"papertape_consumer_{gauge}", labels)

    async def polled() -> bool:
        await runtime.poll_consumer_lag()
        gauges = ("pending_messages", "ack_pending_messages")
        return all(lag(gauge, durable) == 0 for gauge in gauges for durable in durables)

    await until(polled, 10)  # each partition has matched and acknowledged every quote


async def test_a_query_of_a_partition_held_by_a_silent_replica_is_answered_unavailable_at_once(
    replica: ExecutionService, nats_client: Client, subjects: Subjects
) -> None:
    """A holder that died keeps its lease until it expires, with no one listening on its
    partition's subject: the receiver says so at once rather than leave the caller waiting."""
    ownership = replica.ownership
    assert ownership is not None
    kept = account_in(1)
    await place(nats_client, subjects, placed("kept-1", account=kept, ts=at(0)), 1)
    revision = await ownership.kv.put(partition_key(0), b"dead")
    stop = asyncio.Event()
    dead = asyncio.create_task(keep(ownership.kv, Lease(partition_key(0), "dead", revision), stop))
    try:

        async def given_up() -> bool:
            return sorted(ownership.held) == [1]

        await until(given_up, 5)
        lost = await ask_working(nats_client, subjects, account_in(0))
        assert (lost.ok, lost.error_code) == (False, ReplyErrorCode.UNAVAILABLE), lost
        everyone = await ask_working(nats_client, subjects, None)
        assert (everyone.ok, everyone.error_code) == (False, ReplyErrorCode.UNAVAILABLE)
        answered = await ask_working(nats_client, subjects, kept)
        assert answered.result is not None
        assert answered.result.orders == {kept: ["kept-1"]}
    finally:
        stop.set()
        await dead


async def ask_working(
    nc: Client, subjects: Subjects, account_id: AccountId | None
) -> Reply[WorkingOrders]:
    request = Request(
        request_id="q-1",
        issued_at=at(1),
        actor=Actor("test"),
        body=GetWorkingOrders(account_id=account_id),
    )
    subject = subjects.execution_query("get_working_orders")
    answer = await nc.request(subject, codec.encode(request), timeout=2)  # not a timeout
    return msgspec.json.decode(answer.data, type=Reply[WorkingOrders])


@pytest.mark.parametrize("account_id", [AccountId("acc-1"), None], ids=["one", "every"])
async def test_a_replicas_query_whose_reply_subject_is_no_inbox_is_not_answered_there(
    replica: ExecutionService, nats_client: Client, subjects: Subjects, account_id: AccountId | None
) -> None:
    """The router answers a query itself (its account's partition, or every partition's
    gathered): a reply subject naming execution's own fill reports would have had the
    execution login publish a forged fill there, into the EXECUTION stream."""
    forged = subjects.execution_report("alice", "fill")
    published: list[bytes] = []

    async def keep(msg: Msg) -> None:
        published.append(msg.data)

    watch = await nats_client.subscribe(forged, cb=keep)
    request = Request(
        request_id="q-forged",
        issued_at=at(1),
        actor=Actor("test"),
        body=GetWorkingOrders(account_id=account_id),
    )
    subject = subjects.execution_query("get_working_orders")
    await nats_client.publish(subject, codec.encode(request), reply=forged)
    answered = await ask_working(nats_client, subjects, account_id)  # served after it
    await nats_client.flush()
    await asyncio.sleep(0.3)
    await watch.unsubscribe()

    assert answered.ok, answered
    assert published == []
