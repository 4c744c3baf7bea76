"""The service on a real NATS: orders from ACCOUNTS, quotes from MARKET, fills on EXECUTION."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from nats.aio.client import Client

from papertape.common.bus.publishing import MSG_ID, publish
from papertape.contract import codec
from papertape.contract.events.account import AccountEvent, OrderPlaced
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.execution import ExecutionReport, OrderFillReported
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.ids import Actor, CorrelationId, EventId, StreamId
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.execution.bootstrap import ExecutionService
from papertape.execution.settings import ExecutionSettings
from papertape.trading.venue.scenarios import at, placed, quote

pytestmark = pytest.mark.integration

reports: codec.Codec[Envelope[ExecutionReport]] = codec.Codec(Envelope[ExecutionReport])


async def place(nc: Client, subjects: Subjects, order: OrderPlaced, version: int) -> None:
    envelope = Envelope[AccountEvent](
        event_id=EventId(f"evt-{order.order_id}"),
        stream_id=StreamId("account-acc-1"),
        stream_version=version,
        occurred_at=order.ts,
        correlation_id=CorrelationId("c"),
        actor=Actor("test"),
        data=order,
    )
    subject = subjects.account_event(order.account_id, "order_placed")
    await publish(nc.jetstream(), subject, envelope, msg_id=envelope.event_id)


@asynccontextmanager
async def running(nats_url: str, subjects: Subjects) -> AsyncIterator[ExecutionService]:
    settings = ExecutionSettings(
        nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1, expiry_sweep_s=0
    )
    service = ExecutionService(settings)
    serving = asyncio.create_task(service.serve())
    try:
        await asyncio.wait_for(service.matching.wait(), 30)
        yield service
    finally:
        service.runtime.stop()
        await asyncio.wait_for(serving, 30)


Published = list[tuple[str, Envelope[ExecutionReport]]]


async def next_fills(nc: Client, subjects: Subjects, count: int) -> Published:
    js = nc.jetstream()
    sub = await js.subscribe(
        subjects.all_execution_reports(),
        stream=subjects.stream("EXECUTION"),
        ordered_consumer=True,
    )
    found = []
    try:
        for _ in range(count):
            msg = await sub.next_msg(timeout=10)
            found.append(((msg.headers or {}).get(MSG_ID, ""), reports.decode(msg.data)))
    finally:
        await sub.unsubscribe()
    return found


async def test_placed_order_fills_on_a_quote_and_the_fill_carries_its_dedup_id(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    await place(nats_client, subjects, placed("o1", OrderSide.BUY, "100", ts=at(0)), 1)
    async with running(nats_url, subjects):
        tick = quote("99.98", "100", at(1))
        await nats_client.publish(subjects.quote("AAPL"), codec.encode(tick))
        [(msg_id, envelope)] = await next_fills(nats_client, subjects, 1)
    assert msg_id == "o1.fill.1"
    fill = envelope.data
    assert isinstance(fill, OrderFillReported)
    # The account's schedule is the defaults: 2 bps, $0.005 a share with a $1.00 minimum.
    assert (str(fill.price), str(fill.fee), envelope.causation_id) == ("100.02", "1.00", "evt-o1")


async def test_restart_rebuilds_the_book_from_the_accounts_stream(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    limit = placed("o1", OrderSide.BUY, "10", OrderType.LIMIT, limit="95", ts=at(0))
    async with running(nats_url, subjects):
        await place(nats_client, subjects, limit, 1)
        await asyncio.sleep(0.2)
    await place(nats_client, subjects, placed("o2", OrderSide.SELL, "5", ts=at(1)), 2)
    async with running(nats_url, subjects) as service:
        assert [o.order_id for o in service.venue.working()] == ["o1", "o2"]
        await nats_client.publish(subjects.quote("AAPL"), codec.encode(quote("94", "94.5", at(2))))
        found = await next_fills(nats_client, subjects, 2)
    assert sorted(msg_id for msg_id, _ in found) == ["o1.fill.1", "o2.fill.1"]
