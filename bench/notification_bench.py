"""Benchmark: end-to-end delivery latency, from a fill recorded in the log to the webhook
received and to the ``notify.<account>`` message, at 200 fills a second.

Portfolio (its relay publishes the log to ACCOUNTS) and the notification service run as
processes on a scratch database and namespace. Four accounts each have a webhook endpoint
served by this process (a minimal HTTP/1.1 receiver) and a rule sending fills to it and to the
socket subject. The bench appends fills to the accounts' streams in the event log at 200 a
second for ``SECONDS`` and notes when each append returned (recorded); the receiver notes when
each webhook arrived, a core NATS subscriber when each ``notify.<account>`` message did, and a
JetStream subscriber when each fill reached ACCOUNTS (the baseline: what the notification
service's own hops add is the difference). One process, one clock.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from bench.gateway_bench import _percentile, _processes
from bench.records import Target
from papertape.common.eventlog import new_event
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.servers import declare_streams, delete_streams
from papertape.common.testing.receivers import HttpStandIn, Received
from papertape.contract.codec import Codec, encode
from papertape.contract.events.account import ACCOUNT_STREAM_PREFIX, AccountEvent, OrderFilledV2
from papertape.contract.events.envelope import Envelope, Request
from papertape.contract.events.notifications import (
    AddEndpoint,
    AddRule,
    EndpointKind,
    Happening,
    Notified,
)
from papertape.contract.events.orders import OrderSide
from papertape.contract.ids import (
    AccountId,
    Actor,
    CorrelationId,
    EventId,
    FillId,
    OrderId,
    StreamId,
    Symbol,
)
from papertape.contract.subjects import Subjects

RATE = 200
SECONDS = 10
ACCOUNTS = 4
TARGETS: list[Target] = [
    Target("notification_fill_to_webhook_p99_ms", 250.0, at_most=True),
]
"""A fill's webhook within a quarter of a second, at the 99th percentile, at 200 fills/s."""

accounts_feed: Codec[Envelope[AccountEvent]] = Codec(Envelope[AccountEvent])
notify_feed: Codec[Envelope[Notified]] = Codec(Envelope[Notified])


def _fill(account: str, n: int) -> Envelope[OrderFilledV2]:
    now = datetime.now(UTC)
    fill = OrderFilledV2(
        account_id=AccountId(account),
        ts=now,
        order_id=OrderId(f"o-{n}"),
        fill_id=FillId(f"f-{account}-{n}"),
        symbol=Symbol("AAPL"),
        side=OrderSide.BUY,
        price=Decimal("100.00"),
        quantity=Decimal(1),
        position_quantity=Decimal(n + 1),
        position_avg_price=Decimal("100.00"),
        cash_after=Decimal(100_000),
        order_remaining=Decimal(0),
        rate=Decimal(1),
    )
    return Envelope(
        event_id=EventId(str(uuid.uuid4())),
        stream_id=StreamId(f"{ACCOUNT_STREAM_PREFIX}{account}"),
        stream_version=n + 1,
        occurred_at=now,
        correlation_id=CorrelationId("bench"),
        actor=Actor("bench"),
        data=fill,
    )


async def _ask(nc: Client, subjects: Subjects, body: Any) -> dict[str, Any]:
    request = Request(
        request_id=str(uuid.uuid4()), issued_at=datetime.now(UTC), actor=Actor("bench"), body=body
    )
    for _ in range(100):
        try:
            msg = await nc.request(subjects.notification_command(), encode(request), timeout=5)
            answer: dict[str, Any] = json.loads(msg.data)
            assert answer["ok"], answer
            return answer
        except nats.errors.NoRespondersError:
            await asyncio.sleep(0.1)
    raise AssertionError("the notification service never answered")


async def _measure(
    log: PostgresEventLog, nc: Client, subjects: Subjects, receiver: HttpStandIn
) -> tuple[list[float], list[float], list[float], int]:
    recorded: dict[str, float] = {}
    on_accounts: dict[str, float] = {}
    on_socket: dict[str, float] = {}

    async def accounts(msg: Msg) -> None:
        event = accounts_feed.decode(msg.data).data
        if isinstance(event, OrderFilledV2):
            on_accounts[event.fill_id] = time.time()
        await msg.ack()

    async def socket(msg: Msg) -> None:
        on_socket[notify_feed.decode(msg.data).data.details["fill_id"]] = time.time()

    js = nc.jetstream()
    followed = await js.subscribe(
        subjects.all_account_events(), stream=subjects.stream("ACCOUNTS"), cb=accounts
    )
    sockets = await nc.subscribe(subjects.all_notifications(), cb=socket)
    total = RATE * SECONDS
    started = time.perf_counter()

    async def append(n: int) -> None:
        account = f"bench{n % ACCOUNTS}"
        envelope = _fill(account, n // ACCOUNTS)
        await log.append(envelope.stream_id, None, [new_event(envelope)])
        recorded[envelope.data.fill_id] = time.time()

    appends = []
    for n in range(total):
        pause = started + n / RATE - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        appends.append(asyncio.create_task(append(n)))
    await asyncio.gather(*appends)

    def fill_of(request: Received) -> str:
        return str(json.loads(request.body)["notification"]["details"]["fill_id"])

    for _ in range(1200):  # at most two minutes for the last ones to arrive
        arrived = {fill_of(r) for r in receiver.requests}
        if len(arrived) >= total and len(on_socket) >= total:
            break
        await asyncio.sleep(0.1)
    await followed.unsubscribe()
    await sockets.unsubscribe()

    first: dict[str, float] = {}
    for request in receiver.requests:  # at least once: a retried delivery counts once, first
        first.setdefault(fill_of(request), request.at)
    webhook = [at - recorded[f] for f, at in first.items()]
    relayed = [at - recorded[f] for f, at in on_accounts.items() if f in recorded]
    socketed = [at - recorded[f] for f, at in on_socket.items() if f in recorded]
    return webhook, socketed, relayed, total


async def run(database_url: str, nats_url: str) -> list[dict[str, Any]]:
    """The records of this benchmark."""
    subjects = Subjects(namespace=f"bench{uuid.uuid4().hex[:8]}")
    nc = await nats.connect(nats_url)
    await declare_streams(nc, subjects.streams())
    env = {
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "PAPERTAPE_NAMESPACE": subjects.namespace,
        "PAPERTAPE_METRICS_PORT": "-1",
        "PAPERTAPE_LOG_LEVEL": "WARNING",
    }
    receiver = HttpStandIn()
    log = await PostgresEventLog.connect(database_url)
    try:
        async with receiver, _processes(env, ("portfolio", "notification")):
            for a in range(ACCOUNTS):
                account = AccountId(f"bench{a}")
                added = await _ask(
                    nc,
                    subjects,
                    AddEndpoint(
                        account_id=account,
                        endpoint_id="hook",
                        kind=EndpointKind.WEBHOOK,
                        url=f"{receiver.url}/hook",
                    ),
                )
                assert added["result"]["secret"]
                rule = AddRule(
                    account_id=account,
                    rule_id="fills",
                    happenings=(Happening.FILL,),
                    endpoints=("hook",),
                )
                await _ask(nc, subjects, rule)
            webhook, socketed, relayed, total = await _measure(log, nc, subjects, receiver)
    finally:
        await log.close()
        await delete_streams(nc, subjects.streams())
        await nc.close()
    assert len(webhook) == total, f"{len(webhook)} of {total} webhooks arrived"

    def rec(name: str, values: list[float], q: float | None, base: str | None) -> dict[str, Any]:
        value = statistics.median(values) if q is None else _percentile(values, q)
        return {
            "name": name,
            "value": value * 1000,
            "unit": "ms",
            "higher_is_better": False,
            "baseline": {"name": base} if base else None,
        }

    relay = "notification_fill_to_accounts"
    return [
        rec(f"{relay}_p50_ms", relayed, None, None),
        rec(f"{relay}_p99_ms", relayed, 0.99, None),
        rec("notification_fill_to_webhook_p50_ms", webhook, None, f"{relay}_p50_ms"),
        rec("notification_fill_to_webhook_p99_ms", webhook, 0.99, f"{relay}_p99_ms"),
        rec("notification_fill_to_notify_subject_p50_ms", socketed, None, f"{relay}_p50_ms"),
        rec("notification_fill_to_notify_subject_p99_ms", socketed, 0.99, f"{relay}_p99_ms"),
    ]


async def main() -> None:
    """Run this bench alone against DATABASE_URL / NATS_URL (or the embedded servers)."""
    from contextlib import ExitStack

    from bench.eventlog_bench import scratch_database
    from bench.run import nats_url, server_url

    with ExitStack() as stack:
        server, bus = server_url(stack), nats_url(stack)
        async with scratch_database(server) as dsn:
            for record in await run(dsn, bus):
                print(f"{record['name']}: {record['value']:.2f} {record['unit']}")


if __name__ == "__main__":
    asyncio.run(main())
