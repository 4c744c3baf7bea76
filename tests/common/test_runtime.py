"""The service shell on a real JetStream: retries with backoff, then a dead letter; no loss."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import pytest
import pytest_asyncio
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsMessage, PullSub
from nats.aio.client import Client
from nats.js.api import DeliverPolicy

from papertape.common.runtime import ServiceRuntime
from papertape.common.settings import CommonSettings
from papertape.contract.codec import Codec
from papertape.contract.events.envelope import DeadLetter, Reply, ReplyErrorCode
from papertape.contract.events.market import QuoteReceived
from papertape.contract.subjects import StreamSpec, Subjects

pytestmark = pytest.mark.integration
quotes: Codec[QuoteReceived] = Codec(QuoteReceived)
letters: Codec[DeadLetter] = Codec(DeadLetter)


class Probe:
    """A handler that fails on purpose and counts its attempts."""

    def __init__(self) -> None:
        self.attempts = 0
        self.failures_left = 1_000
        self.outages_left = 0
        """Attempts that first fail as if the database were away."""


@pytest_asyncio.fixture
async def probe_service(
    nats_url: str, subjects: Subjects, jetstream_streams: tuple[StreamSpec, ...]
) -> AsyncIterator[tuple[ServiceRuntime, Probe]]:
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    runtime = ServiceRuntime("probe", settings, max_deliver=3, retry_backoff_s=(0.1, 0.2))
    probe = Probe()

    @runtime.broker.subscriber(
        subjects.all_execution_reports(),
        stream=JStream(subjects.stream("EXECUTION"), declare=False),
        durable=f"{subjects.namespace}-probe",
        pull_sub=PullSub(batch_size=1),
        config=runtime.consumer_config(ack_wait=30),
    )
    @runtime.guarded("probe")
    async def handle(msg: NatsMessage) -> None:
        probe.attempts += 1
        quotes.decode(msg.body)
        if probe.outages_left > 0:
            probe.outages_left -= 1
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        if probe.failures_left > 0:
            probe.failures_left -= 1
            raise RuntimeError("the world is down")

    serving = asyncio.create_task(runtime.serve())
    for _ in range(200):
        if runtime.broker.running:
            break
        await asyncio.sleep(0.05)
    try:
        yield runtime, probe
    finally:
        runtime.stop()
        await serving


async def next_letter(nc: Client, subjects: Subjects) -> DeadLetter:
    sub = await nc.jetstream().subscribe(subjects.all_dead_letters(), ordered_consumer=True)
    try:
        return letters.decode((await sub.next_msg(timeout=15)).data)
    finally:
        await sub.unsubscribe()


QUOTE = (
    b'{"type":"quote_received.v1","symbol":"AAPL","bid":"1","ask":"2",'
    b'"ts_event":"2026-01-02T15:00:00Z","ts_init":"2026-01-02T15:00:00Z","source":"t"}'
)


async def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered(
    probe_service: tuple[ServiceRuntime, Probe], nats_client: Client, subjects: Subjects
) -> None:
    _runtime, probe = probe_service
    await nats_client.jetstream().publish(subjects.execution_report("a", "x"), QUOTE)

    letter = await next_letter(nats_client, subjects)

    assert letter.reason.startswith("retries_exhausted")
    assert letter.deliveries == 3
    assert letter.payload == QUOTE.decode()
    await asyncio.sleep(0.5)
    assert probe.attempts == 3  # acked after the dead letter: no fourth delivery


async def test_a_malformed_message_is_dead_lettered_at_once(
    probe_service: tuple[ServiceRuntime, Probe], nats_client: Client, subjects: Subjects
) -> None:
    _runtime, probe = probe_service
    await nats_client.jetstream().publish(subjects.execution_report("a", "x"), b'{"nope":1}')

    letter = await next_letter(nats_client, subjects)

    assert letter.reason.startswith("malformed")
    assert letter.error_type == "ValidationError"
    assert probe.attempts == 1


async def test_a_transient_failure_is_retried_and_then_handled(
    probe_service: tuple[ServiceRuntime, Probe], nats_client: Client, subjects: Subjects
) -> None:
    runtime, probe = probe_service
    probe.failures_left = 1  # the world comes back before the second delivery
    await nats_client.jetstream().publish(subjects.execution_report("a", "x"), QUOTE)
    for _ in range(100):
        if probe.attempts >= 2:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert probe.attempts == 2
    handled = runtime.metrics.handled.labels("probe", "probe", "ok")._value.get()
    assert handled == 1
    info = await nats_client.jetstream().stream_info(subjects.stream("DEADLETTER"))
    assert info.state.messages == 0


async def test_a_failure_on_a_consumer_that_never_redelivers_is_dead_lettered_at_once(
    nats_url: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    runtime = ServiceRuntime("replayer", settings)
    attempts = 0

    @runtime.broker.subscriber(
        subjects.all_execution_reports(),
        stream=JStream(subjects.stream("EXECUTION"), declare=False),
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.MANUAL,
    )
    @runtime.guarded("replay", redelivers=False)
    async def handle(msg: NatsMessage) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("the book is broken")

    await nats_client.jetstream().publish(subjects.execution_report("a", "x"), QUOTE)
    serving = asyncio.create_task(runtime.serve())
    try:
        letter = await next_letter(nats_client, subjects)
    finally:
        runtime.stop()
        await serving
    # An ordered consumer would never deliver it again: a NACK would have lost it.
    assert letter.reason.startswith("retries_exhausted")
    assert (letter.deliveries, attempts) == (1, 1)


async def test_an_outage_is_retried_past_the_delivery_budget_and_never_dead_lettered(
    probe_service: tuple[ServiceRuntime, Probe], nats_client: Client, subjects: Subjects
) -> None:
    runtime, probe = probe_service
    probe.outages_left, probe.failures_left = 6, 0  # twice the budget of three deliveries
    await nats_client.jetstream().publish(subjects.execution_report("a", "x"), QUOTE)
    for _ in range(200):
        if probe.attempts >= 7:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)

    assert probe.attempts == 7
    handled = runtime.metrics.handled
    assert handled.labels("probe", "probe", "unavailable")._value.get() == 6
    assert handled.labels("probe", "probe", "ok")._value.get() == 1
    info = await nats_client.jetstream().stream_info(subjects.stream("DEADLETTER"))
    assert info.state.messages == 0


async def test_a_poison_message_after_an_outage_still_gets_its_whole_budget(
    probe_service: tuple[ServiceRuntime, Probe], nats_client: Client, subjects: Subjects
) -> None:
    _runtime, probe = probe_service
    probe.outages_left = 2
    await nats_client.jetstream().publish(subjects.execution_report("a", "x"), QUOTE)

    letter = await next_letter(nats_client, subjects)

    assert letter.reason.startswith("retries_exhausted")
    assert letter.error_type == "RuntimeError"
    assert letter.deliveries == 5  # two deliveries met the outage, three met the poison
    assert probe.attempts == 5


async def test_a_request_during_an_outage_is_answered_unavailable_without_the_address(
    nats_url: str, nats_client: Client, subjects: Subjects
) -> None:
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    runtime = ServiceRuntime("asker", settings)
    subject = f"{subjects.namespace}.probe.request"

    @runtime.broker.subscriber(subject)
    @runtime.replying("probe")
    async def handle(msg: NatsMessage) -> bytes:
        try:
            raise OSError("[Errno 111] Connect call failed ('127.0.0.1', 5432)")
        except OSError as error:
            raise RuntimeError("append failed") from error

    serving = asyncio.create_task(runtime.serve())
    try:
        for _ in range(200):
            if runtime.broker.running:
                break
            await asyncio.sleep(0.05)
        answer = await nats_client.request(subject, b"{}", timeout=10)
    finally:
        runtime.stop()
        await serving
    reply = msgspec.json.decode(answer.data, type=Reply[object])

    assert (reply.ok, reply.error_code) == (False, ReplyErrorCode.UNAVAILABLE)
    assert reply.error is not None
    assert "127.0.0.1" not in reply.error
    assert "5432" not in reply.error
    assert runtime.metrics.handled.labels("asker", "probe", "unavailable")._value.get() == 1


async def test_a_request_in_flight_at_the_stop_is_answered_before_what_it_uses_is_closed(
    nats_url: str, subjects: Subjects, nats_client: Client
) -> None:
    """``on_stop`` runs while handlers still answer, ``on_stopped`` after the broker stopped:
    market-data closed its database pool in ``on_stop`` and a query that came in during the stop
    failed with "pool is closing"."""
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    runtime = ServiceRuntime("stopping", settings)
    happened: list[str] = []
    entered = asyncio.Event()
    subject = subjects.marketdata_query("slow")

    @runtime.broker.subscriber(subject, queue="stopping")
    @runtime.replying("slow")
    async def answer(msg: NatsMessage) -> bytes:
        entered.set()
        await asyncio.sleep(0.5)
        happened.append("closed" if "stopped" in happened else "answered")
        return msgspec.json.encode(Reply(ok=True))

    async def on_stop() -> None:
        happened.append("stop")

    async def on_stopped() -> None:
        happened.append("stopped")

    serving = asyncio.create_task(runtime.serve(on_stop=on_stop, on_stopped=on_stopped))
    for _ in range(200):
        if runtime.broker.running:
            break
        await asyncio.sleep(0.05)
    await runtime.broker.connection.flush()
    request = asyncio.create_task(nats_client.request(subject, b"{}", timeout=10))
    await asyncio.wait_for(entered.wait(), 10)
    runtime.stop()
    reply = await request
    await serving

    assert msgspec.json.decode(reply.data)["ok"] is True
    assert happened == ["stop", "answered", "stopped"]


async def test_a_request_whose_reply_subject_is_no_inbox_is_dead_lettered_and_not_answered(
    nats_url: str, nats_client: Client, subjects: Subjects, jetstream_streams: object
) -> None:
    """A client may publish a request with any reply subject: one naming a service's own
    subject (a fill report, an account event, a notification) would have the service publish
    its answer there with its own rights, into a stream its consumers trust. Answers go to
    inboxes only; such a request is refused unanswered, dead-lettered, and not handled."""
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    runtime = ServiceRuntime("answerer", settings)
    subject = subjects.execution_query("probe")
    handled: list[bytes] = []

    @runtime.broker.subscriber(subject, queue="answerer")
    @runtime.replying("probe")
    async def answer(msg: NatsMessage) -> bytes:
        handled.append(msg.body)
        return msgspec.json.encode(Reply(ok=True))

    forged = subjects.execution_report("alice", "fill")
    published: list[str] = []

    async def keep(msg: object) -> None:
        published.append(getattr(msg, "subject", ""))

    watch = await nats_client.subscribe(forged, cb=keep)
    serving = asyncio.create_task(runtime.serve())
    try:
        for _ in range(200):
            if runtime.broker.running:
                break
            await asyncio.sleep(0.05)
        await runtime.broker.connection.flush()
        await nats_client.publish(subject, b'{"forged": 1}', reply=forged)
        letter = await next_letter(nats_client, subjects)
        good = await nats_client.request(subject, b"{}", timeout=10)
        await nats_client.flush()
        await asyncio.sleep(0.2)
    finally:
        await watch.unsubscribe()
        runtime.stop()
        await serving

    assert published == []
    assert handled == [b"{}"]
    assert msgspec.json.decode(good.data)["ok"] is True
    assert letter.subject == subject
    assert letter.reason.startswith("malformed")
    assert forged in letter.reason
