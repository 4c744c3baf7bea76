"""The service client's trace: a request within an HTTP request's span carries that span's
context (no span of its own); a request outside any span opens a client span."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec
import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from papertape.common.telemetry.tracing import configure_tracing
from papertape.contract.events.envelope import Reply, ReplyErrorCode
from papertape.contract.events.portfolio import GetAccountSummary
from papertape.contract.ids import AccountId, Actor
from papertape.contract.subjects import Subjects
from papertape.gateway.bus import Refused, Services

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


async def _asked(nc: Client, services: Services) -> Msg:
    """The message a query for an unknown account sends portfolio (answered: unknown)."""
    received: list[Msg] = []

    async def answer(msg: Msg) -> None:
        received.append(msg)
        unknown = Reply[None](ok=False, error_code=ReplyErrorCode.UNKNOWN_ACCOUNT, error="none")
        await msg.respond(msgspec.json.encode(unknown))

    summary = GetAccountSummary(account_id=AccountId("nobody"))
    subject = services.subjects.portfolio_query("get_account_summary")
    subscription = await nc.subscribe(subject, cb=answer)
    try:
        with pytest.raises(Refused):
            await services.query(summary, Actor("gateway:test"))
    finally:
        await subscription.unsubscribe()
    (msg,) = received
    return msg


def _tracing() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = configure_tracing("gateway-test")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def test_a_request_within_a_server_span_carries_its_context_and_opens_no_span(
    nc: Client,
) -> None:
    provider, exporter = _tracing()
    services = Services(nc, Subjects(namespace=f"t{uuid.uuid4().hex[:8]}"), timeout=5)
    services._tracer = provider.get_tracer("test")  # not the process's global provider
    with provider.get_tracer("test").start_as_current_span("POST", kind=SpanKind.SERVER) as span:
        msg = await _asked(nc, services)
        server = span.get_span_context()
    traceparent = (msg.headers or {})["traceparent"]
    assert traceparent.split("-")[1:3] == [f"{server.trace_id:032x}", f"{server.span_id:016x}"]
    assert msgspec.json.decode(msg.data)["traceparent"] == traceparent  # the body records it too
    assert [s.name for s in exporter.get_finished_spans()] == ["POST"]


async def test_a_request_outside_any_span_opens_a_client_span(nc: Client) -> None:
    provider, exporter = _tracing()
    services = Services(nc, Subjects(namespace=f"t{uuid.uuid4().hex[:8]}"), timeout=5)
    services._tracer = provider.get_tracer("test")  # not the process's global provider
    msg = await _asked(nc, services)
    (client,) = exporter.get_finished_spans()
    assert client.kind == SpanKind.CLIENT
    assert client.name == "portfolio.query.get_account_summary request"
    traceparent = (msg.headers or {})["traceparent"]
    assert traceparent.split("-")[2] == f"{client.context.span_id:016x}"
    assert msgspec.json.decode(msg.data)["traceparent"] == traceparent
