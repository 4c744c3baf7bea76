"""The service on a real NATS: orders from ACCOUNTS, quotes from MARKET, fills on EXECUTION."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import msgspec
import pytest
from nats.aio.client import Client
from prometheus_client.parser import text_string_to_metric_families

from papertape.common.bus.publishing import MSG_ID, publish
from papertape.contract import codec
from papertape.contract.events.account import AccountEvent, OrderPlaced
from papertape.contract.events.envelope import Envelope, Reply, Request
from papertape.contract.events.execution import (
    ExecutionReport,
    GetWorkingOrders,
    OrderFillReported,
    WorkingOrders,
)
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.ids import AccountId, Actor, CorrelationId, EventId, OrderId, StreamId
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.execution.bootstrap import ExecutionService
from papertape.execution.queries import requests
from papertape.execution.settings import ExecutionSettings
from papertape.trading.venue.scenarios import at, placed, quote

pytestmark = pytest.mark.integration

reports: codec.Codec[Envelope[ExecutionReport]] = codec.Codec(Envelope[ExecutionReport])


async def place(
    nc: Client,
    subjects: Subjects,
    order: OrderPlaced,
    version: int,
    traceparent: str | None = None,
) -> None:
    envelope = Envelope[AccountEvent](
        event_id=EventId(f"evt-{order.order_id}"),
        stream_id=StreamId("account-acc-1"),
        stream_version=version,
        occurred_at=order.ts,
        correlation_id=CorrelationId("c"),
        actor=Actor("test"),
        traceparent=traceparent,
        data=order,
    )
    subject = subjects.account_event(order.account_id, "order_placed")
    await publish(nc.jetstream(), subject, envelope, msg_id=envelope.event_id)


@asynccontextmanager
async def running(
    nats_url: str, subjects: Subjects, metrics_port: int = -1
) -> AsyncIterator[ExecutionService]:
    settings = ExecutionSettings(
        nats_url=nats_url, namespace=subjects.namespace, metrics_port=metrics_port, expiry_sweep_s=0
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
    return [
        (headers.get(MSG_ID, ""), envelope)
        for headers, envelope in await next_reports(nc, subjects, count)
    ]


async def next_reports(
    nc: Client, subjects: Subjects, count: int
) -> list[tuple[dict[str, str], Envelope[ExecutionReport]]]:
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
            found.append((msg.headers or {}, reports.decode(msg.data)))
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
    # Each report is on its order's stream, at the version its sequence gives: the same
    # after the restart as it would have been before.
    assert sorted((e.stream_id, e.stream_version) for _, e in found) == [
        ("order-o1", 2),
        ("order-o2", 2),
    ]


async def test_after_a_restart_the_market_it_missed_is_matched_in_order(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    """While execution is down the price falls through a stop and comes back: on restart the
    stop fires at the level the market crossed, not at the price when it came back."""
    stop = placed("o1", OrderSide.SELL, "10", OrderType.STOP, stop="95", ts=at(0))
    async with running(nats_url, subjects):
        await place(nats_client, subjects, stop, 1)
        await nats_client.publish(subjects.quote("AAPL"), codec.encode(quote("99.9", "100", at(1))))
        await asyncio.sleep(0.3)
    for tick in (quote("94", "94.1", at(2)), quote("101", "101.1", at(3))):
        await nats_client.publish(subjects.quote("AAPL"), codec.encode(tick))  # nobody matching
    await nats_client.flush()
    async with running(nats_url, subjects):
        found = await next_reports(nats_client, subjects, 2)
    kinds = [(headers.get(MSG_ID, ""), type(e.data).__name__) for headers, e in found]
    assert [kind for _, kind in kinds] == ["OrderTriggerReported", "OrderFillReported"], kinds
    fill = found[1][1].data
    assert isinstance(fill, OrderFillReported)
    assert fill.price < 95, "filled at the price it came back to, not where it crossed"


ORDER_TRACE = "0af7651916cd43dd8448eb211c80319c"
ORDER_TRACEPARENT = f"00-{ORDER_TRACE}-b7ad6b7169203331-01"


async def test_a_fill_report_continues_the_trace_of_its_order(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    order = placed("o1", OrderSide.BUY, "100", ts=at(0))
    await place(nats_client, subjects, order, 1, traceparent=ORDER_TRACEPARENT)
    async with running(nats_url, subjects):
        await nats_client.publish(
            subjects.quote("AAPL"), codec.encode(quote("99.98", "100", at(1)))
        )
        [(headers, envelope)] = await next_reports(nats_client, subjects, 1)
    assert envelope.traceparent is not None
    assert envelope.traceparent.split("-")[1] == ORDER_TRACE
    assert headers["traceparent"].split("-")[1] == ORDER_TRACE
    assert (envelope.stream_id, envelope.stream_version) == ("order-o1", 2)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def test_handled_messages_show_in_metrics_by_handler_and_outcome(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    await place(nats_client, subjects, placed("o1", OrderSide.BUY, "100", ts=at(0)), 1)
    async with running(nats_url, subjects, metrics_port=0) as service:
        await nats_client.publish(
            subjects.quote("AAPL"), codec.encode(quote("99.98", "100", at(1)))
        )
        await next_fills(nats_client, subjects, 1)
        port = service.runtime.metrics_port
        assert port is not None
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    handled = "papertape_messages_handled_total"
    assert metric(text, handled, service="execution", handler="account_event", outcome="ok") == 1
    assert metric(text, handled, service="execution", handler="market", outcome="ok") == 1
    assert metric(text, "papertape_message_handling_seconds_count", handler="market") == 1
    # FastStream's own bus metrics and the trace middleware see the subscriptions too.
    assert "papertape_bus_received_messages_total" in text


async def test_an_account_message_that_cannot_be_decoded_is_dead_lettered_and_the_book_goes_on(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    await nats_client.jetstream().publish(subjects.account_event("acc-1", "order_placed"), b"{}")
    await place(nats_client, subjects, placed("o1", OrderSide.BUY, "100", ts=at(0)), 2)
    letters = await nats_client.jetstream().subscribe(
        subjects.all_dead_letters(), ordered_consumer=True
    )
    async with running(nats_url, subjects) as service:
        letter = await letters.next_msg(timeout=10)
        assert b"malformed" in letter.data
        assert [o.order_id for o in service.venue.working()] == ["o1"]
    await letters.unsubscribe()


async def test_the_venue_answers_which_orders_it_is_working(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    limit = placed("o1", OrderSide.BUY, "10", OrderType.LIMIT, limit="95", ts=at(0))
    await place(nats_client, subjects, limit, 1)
    async with running(nats_url, subjects):
        request = Request(
            request_id="q-1", issued_at=at(1), actor=Actor("auditor"), body=GetWorkingOrders()
        )
        answer = await nats_client.request(
            subjects.execution_query("get_working_orders"), codec.encode(request), timeout=10
        )
    reply = msgspec.json.decode(answer.data, type=Reply[WorkingOrders])
    assert reply.ok
    assert reply.result == WorkingOrders(orders={AccountId("acc-1"): [OrderId("o1")]})


def test_a_working_orders_query_naming_no_subject_token_is_refused_at_decode() -> None:
    bad = b'{"request_id":"q","issued_at":"2026-01-02T00:00:00Z","actor":"a",'
    with pytest.raises(msgspec.ValidationError, match="account_id"):
        requests.decode(bad + b'"body":{"type":"get_working_orders.v1","account_id":"a.b"}}')


async def test_account_events_the_venue_does_not_follow_are_passed_over_unread(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    # Not even decoded: a body that is no envelope at all is neither handled nor dead-lettered.
    js = nats_client.jetstream()
    await js.publish(subjects.account_event("acc-1", "position_marked"), b"{}")
    await place(nats_client, subjects, placed("o1", OrderSide.BUY, "100", ts=at(0)), 2)
    async with running(nats_url, subjects, metrics_port=0) as service:
        assert [o.order_id for o in service.venue.working()] == ["o1"]
        port = service.runtime.metrics_port
        assert port is not None
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    handled = "papertape_messages_handled_total"
    outcomes = {
        outcome: metric(text, handled, handler="account_event", outcome=outcome)
        for outcome in ("ok", "dead_lettered")
    }
    assert outcomes == {"ok": 1, "dead_lettered": 0}
