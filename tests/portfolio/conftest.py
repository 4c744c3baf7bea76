"""A portfolio service running in-process on real NATS and PostgreSQL, and a client for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest_asyncio
from nats.aio.client import Client
from nats.errors import NoRespondersError

from papertape.common.idgen import Uuid7Generator
from papertape.contract.codec import Codec, encode
from papertape.contract.events.account import PlaceOrder
from papertape.contract.events.envelope import Request
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.events.portfolio import ListAccounts
from papertape.contract.ids import AccountId, Actor, OrderId, Symbol
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.portfolio.bootstrap import Portfolio, build
from papertape.portfolio.settings import PortfolioSettings


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """A ``Reply`` as tests read it: ``result`` is whatever JSON came back."""

    ok: bool
    result: Any = None
    error_code: str | None = None
    error: str | None = None


replies: Codec[Answer] = Codec(Answer)


class PortfolioClient:
    """Sends commands and queries the way the gateway and the CLI do."""

    def __init__(self, nc: Client, subjects: Subjects) -> None:
        self.nc = nc
        self.subjects = subjects
        self.ids = Uuid7Generator()

    async def command(self, body: Any, request_id: str | None = None) -> Answer:
        return await self._request(self.subjects.portfolio_command(), body, request_id)

    async def query(self, name: str, body: Any) -> Answer:
        return await self._request(self.subjects.portfolio_query(name), body, None)

    async def _request(self, subject: str, body: Any, request_id: str | None) -> Answer:
        request = Request(
            request_id=request_id or self.ids.new(),
            issued_at=datetime.now(UTC),
            actor=Actor("test"),
            body=body,
        )
        msg = await self.nc.request(subject, encode(request), timeout=10)
        return replies.decode(msg.data)


@pytest_asyncio.fixture
async def portfolio(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> AsyncIterator[Portfolio]:
    settings = PortfolioSettings(
        nats_url=nats_url,
        database_url=fresh_database,
        namespace=subjects.namespace,
        metrics_port=-1,
        mark_interval_s=0.2,
        anchor_interval_s=0.2,
        snapshot_every=5,
    )
    service = await build(settings)
    serving = asyncio.create_task(
        service.runtime.serve(on_start=service.start, on_stop=service.stop)
    )
    for _ in range(200):
        if service.runtime.broker.running:
            break
        await asyncio.sleep(0.05)
    try:
        yield service
    finally:
        service.runtime.stop()
        await serving
        await service.log.close()


@pytest_asyncio.fixture
async def client(portfolio: Portfolio, nats_client: Client, subjects: Subjects) -> PortfolioClient:
    client = PortfolioClient(nats_client, subjects)
    # The service's subscriptions reach the server a moment after it starts: wait for them.
    for _ in range(100):
        try:
            await client.query("accounts", ListAccounts())
            return client
        except NoRespondersError:
            await asyncio.sleep(0.05)
    raise AssertionError("the portfolio service never answered")


def aapl_limit(account_id: str, side: OrderSide, quantity: int, price: int) -> PlaceOrder:
    """A limit order on AAPL with order id ``o-1``: what most portfolio tests place."""
    return PlaceOrder(
        account_id=AccountId(account_id),
        order_id=OrderId("o-1"),
        symbol=Symbol("AAPL"),
        side=side,
        quantity=Decimal(quantity),
        order_type=OrderType.LIMIT,
        limit_price=Decimal(price),
    )
