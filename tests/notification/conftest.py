"""The notification service in-process on real NATS and PostgreSQL, a client, and event makers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest_asyncio
from nats.aio.client import Client
from nats.errors import NoRespondersError

from papertape.common.idgen import Uuid7Generator
from papertape.common.testing.receivers import HttpStandIn, Received
from papertape.contract.codec import encode
from papertape.contract.events.account import OrderFilledV2, OrderPlaced
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Envelope, Request
from papertape.contract.events.notifications import DeliveryStatus, ListRules
from papertape.contract.events.orders import OrderRole, OrderSide, OrderType, TimeInForce
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
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.notification.bootstrap import NotificationService, build
from papertape.notification.channels.webhooks import DELIVERY, verify
from papertape.notification.settings import NotificationSettings
from papertape.notification.store import Delivery, NewDelivery
from tests.portfolio.conftest import Answer, replies

ACC = AccountId("acc-n")


class NotificationClient:
    """Sends notification commands and queries the way the CLI and the gateway do."""

    def __init__(self, nc: Client, subjects: Subjects) -> None:
        self.nc = nc
        self.subjects = subjects
        self.ids = Uuid7Generator()

    async def command(self, body: Any) -> Answer:
        return await self._request(self.subjects.notification_command(), body)

    async def query(self, body: Any) -> Answer:
        return await self._request(self.subjects.notification_query(message_name(type(body))), body)

    async def _request(self, subject: str, body: Any) -> Answer:
        request = Request(
            request_id=self.ids.new(), issued_at=datetime.now(UTC), actor=Actor("test"), body=body
        )
        msg = await self.nc.request(subject, encode(request), timeout=10)
        return replies.decode(msg.data)

    async def deliveries_once(
        self, query: Any, settled: Any, seconds: float = 20.0
    ) -> list[dict[str, Any]]:
        """The deliveries a query lists once ``settled(them)`` holds (attempts are recorded
        just after they end)."""
        deadline = time.monotonic() + seconds
        while True:
            found = list((await self.query(query)).result)
            if settled(found) or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.05)

    async def until_ready(self) -> NotificationClient:
        for _ in range(200):
            try:
                await self.query(ListRules(account_id=ACC))
                return self
            except NoRespondersError:
                await asyncio.sleep(0.05)
        raise AssertionError("the notification service never answered")


def settings_for(nats_url: str, database: str, subjects: Subjects, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "database_url": database,
        "namespace": subjects.namespace,
        "metrics_port": -1,
        "max_attempts": 3,
        "backoff_base_s": 0.05,
        "backoff_max_s": 0.2,
        "timeout_s": 2.0,
        "poll_interval_s": 0.1,
        "allow_private_targets": True,  # the tests' receivers are on loopback (off by default)
        **extra,
    }
    return NotificationSettings(**values)


async def start_notification(
    settings: NotificationSettings,
) -> tuple[NotificationService, asyncio.Task[None]]:
    service = await build(settings)
    serving = asyncio.create_task(service.serve())
    for _ in range(200):
        if service.runtime.broker.running:
            break
        await asyncio.sleep(0.05)
    return service, serving


async def stop_notification(service: NotificationService, serving: asyncio.Task[None]) -> None:
    service.runtime.stop()
    await serving
    await service.close()


@pytest_asyncio.fixture
async def notification(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> AsyncIterator[NotificationService]:
    service, serving = await start_notification(settings_for(nats_url, fresh_database, subjects))
    try:
        yield service
    finally:
        await stop_notification(service, serving)


@pytest_asyncio.fixture
async def notify(
    notification: NotificationService, nats_client: Client, subjects: Subjects
) -> NotificationClient:
    return await NotificationClient(nats_client, subjects).until_ready()


# --- the account stream, as portfolio's relay publishes it -------------------------------------

_ids = Uuid7Generator()


def envelope(event: Any, account: str = ACC) -> Envelope[Any]:
    return Envelope(
        event_id=EventId(_ids.new()),
        stream_id=StreamId(f"account-{account}"),
        stream_version=1,
        occurred_at=event.ts,
        correlation_id=CorrelationId("test"),
        actor=Actor("test"),
        data=event,
    )


def placed(order_id: str, role: OrderRole = OrderRole.ENTRY, account: str = ACC) -> OrderPlaced:
    return OrderPlaced(
        account_id=AccountId(account),
        ts=datetime.now(UTC),
        order_id=OrderId(order_id),
        symbol=Symbol("AAPL"),
        side=OrderSide.SELL if role is not OrderRole.ENTRY else OrderSide.BUY,
        quantity=Decimal(10),
        order_type=OrderType.STOP if role is OrderRole.STOP_LOSS else OrderType.MARKET,
        time_in_force=TimeInForce.GTC,
        role=role,
        reference_price=Decimal("100.00"),
    )


def filled(order_id: str, price: str = "100.00", account: str = ACC) -> OrderFilledV2:
    return OrderFilledV2(
        account_id=AccountId(account),
        ts=datetime.now(UTC),
        order_id=OrderId(order_id),
        fill_id=FillId(f"{order_id}-f1"),
        symbol=Symbol("AAPL"),
        side=OrderSide.BUY,
        price=Decimal(price),
        quantity=Decimal(10),
        fee=Decimal("0.10"),
        position_quantity=Decimal(10),
        position_avg_price=Decimal(price),
        cash_after=Decimal(99_000),
        order_remaining=Decimal(0),
        rate=Decimal(1),
    )


async def publish_account_event(nc: Client, subjects: Subjects, event: Any) -> None:
    js = nc.jetstream()
    subject = subjects.account_event(event.account_id, message_name(type(event)))
    await js.publish(subject, encode(envelope(event, event.account_id)))


# --- webhook receivers ---------------------------------------------------------------------------


class SignedReceiver:
    """A webhook receiver as a careful integrator writes one: it checks the signature and the
    timestamp, and refuses a delivery id it has seen (a replay), with 401 or 409."""

    def __init__(self, failures: int = 0, delay_s: float = 0.0) -> None:
        self.secret = ""
        self.failures = failures
        """Answer 503 to this many valid requests first (a target that is down)."""
        self.delay_s = delay_s
        self.seen: set[str] = set()
        self.accepted: list[Received] = []
        self.refused: list[tuple[int, Received]] = []
        self.server = HttpStandIn(self.answer)

    async def answer(self, request: Received) -> tuple[int, bytes]:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        status = self.check(request)
        if status != 200:
            self.refused.append((status, request))
            return status, b'{"ok": false}'
        self.accepted.append(request)
        return 200, b'{"ok": true}'

    def check(self, request: Received) -> int:
        if not verify(self.secret, request.headers, request.body, now=time.time()):
            return 401
        delivery = request.headers[DELIVERY.lower()]
        if delivery in self.seen:
            return 409
        if self.failures > 0:
            self.failures -= 1
            return 503
        self.seen.add(delivery)
        return 200


async def until(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


def pending(delivery: NewDelivery, at: datetime, budget: int = 3) -> Delivery:
    """``delivery`` as the store holds it before its first attempt, due at ``at``."""
    return Delivery(
        **msgspec.structs.asdict(delivery),
        status=DeliveryStatus.PENDING,
        attempts=0,
        budget=budget,
        created_at=at,
        next_attempt_at=at,
        delivered_at=None,
        last_error="",
    )
