"""The signal service in-process beside an in-process portfolio, on real NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest_asyncio
from nats.aio.client import Client
from nats.errors import NoRespondersError

from papertape.common.idgen import Uuid7Generator
from papertape.contract.codec import Codec, encode
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Request
from papertape.contract.events.sessions import ListStrategies
from papertape.contract.ids import Actor
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.portfolio.bootstrap import Portfolio
from papertape.signals.bootstrap import SignalService, build
from papertape.signals.settings import SignalSettings
from tests.portfolio.conftest import Answer, client, portfolio  # noqa: F401  (fixtures)

answers: Codec[Answer] = Codec(Answer)


class SignalsClient:
    """Sends session commands and queries the way the CLI does."""

    def __init__(self, nc: Client, subjects: Subjects) -> None:
        self.nc = nc
        self.subjects = subjects
        self.ids = Uuid7Generator()

    async def command(self, body: Any) -> Answer:
        return await self._request(self.subjects.signals_command(), body)

    async def query(self, body: Any) -> Answer:
        subject = self.subjects.signals_query(message_name(type(body)))
        return await self._request(subject, body)

    async def _request(self, subject: str, body: Any) -> Answer:
        request = Request(
            request_id=self.ids.new(), issued_at=datetime.now(UTC), actor=Actor("test"), body=body
        )
        msg = await self.nc.request(subject, encode(request), timeout=10)
        return answers.decode(msg.data)


async def start_signals(
    nats_url: str, database: str, subjects: Subjects, **settings: Any
) -> tuple[SignalService, asyncio.Task[None]]:
    service = await build(
        SignalSettings(
            nats_url=nats_url,
            database_url=database,
            namespace=subjects.namespace,
            metrics_port=-1,
            account_interval_s=0.2,
            clock_interval_s=0.2,
            **settings,
        )
    )
    serving = asyncio.create_task(service.serve())
    for _ in range(200):
        if service.runtime.broker.running:
            break
        await asyncio.sleep(0.05)
    return service, serving


async def stop_signals(service: SignalService, serving: asyncio.Task[None]) -> None:
    service.runtime.stop()
    await serving
    await service.log.close()


@pytest_asyncio.fixture
async def signals(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    portfolio: Portfolio,  # noqa: F811
) -> AsyncIterator[SignalService]:
    service, serving = await start_signals(nats_url, fresh_database, subjects)
    try:
        yield service
    finally:
        await stop_signals(service, serving)


@pytest_asyncio.fixture
async def bots(signals: SignalService, nats_client: Client, subjects: Subjects) -> SignalsClient:
    bots = SignalsClient(nats_client, subjects)
    for _ in range(100):
        try:
            await bots.query(ListStrategies())
            return bots
        except NoRespondersError:
            await asyncio.sleep(0.05)
    raise AssertionError("the signal service never answered")


def struct(value: Any, type_: Any) -> Any:
    return msgspec.convert(value, type_)
