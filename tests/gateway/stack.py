"""The gateway running with portfolio and execution as processes on real NATS and PostgreSQL.

Quotes come from the test itself (published on ``md.quote.<symbol>`` as market-data would), so
a test decides when an order fills; market-data is not running, so its routes answer 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client

from papertape.common.eventlog.migrations import apply_migrations
from papertape.common.servers import create_database, declare_streams, delete_streams, drop_database
from papertape.contract.codec import encode
from papertape.contract.events.market import QuoteReceived
from papertape.contract.ids import Symbol
from papertape.contract.subjects import Subjects
from tests.e2e.processes import ServiceProcess, start_service

BTC = Symbol("BTCUSD")


@dataclass
class Stack:
    """What a test talks to: the gateway's URL and the operator's key, and the bus."""

    url: str
    admin: str
    subjects: Subjects
    nc: Client
    processes: dict[str, ServiceProcess]
    env: dict[str, str]

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30, **kwargs)

    async def quote(self, symbol: str, bid: str, ask: str) -> None:
        """A quote, as market-data publishes it (core NATS: portfolio and execution follow it)."""
        now = datetime.now(UTC)
        quote = QuoteReceived(
            symbol=Symbol(symbol),
            bid=Decimal(bid),
            ask=Decimal(ask),
            bid_size=Decimal(1000),
            ask_size=Decimal(1000),
            last=(Decimal(bid) + Decimal(ask)) / 2,
            ts_event=now,
            ts_init=now,
            source="test",
        )
        await self.nc.publish(self.subjects.quote(symbol), encode(quote))
        await self.nc.flush()

    async def account(self, account_id: str, cash: str = "100000") -> str:
        """Open an account (as the operator) and a trade key for it; the key."""
        async with self.client(self.admin) as http:
            opened = await http.post(
                "/api/v1/accounts",
                json={"account_id": account_id, "name": account_id, "initial_cash": cash},
            )
            assert opened.status_code == 201, opened.text
            issued = await http.post(
                "/api/v1/keys", json={"account_id": account_id, "scopes": ["trade"]}
            )
            assert issued.status_code == 201, issued.text
            return str(issued.json()["key"])


async def _ready(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/ready")).json()["services"].get("portfolio"):
                    return
            await asyncio.sleep(0.1)
    raise AssertionError("the gateway never saw portfolio answer")


SERVICES = ("portfolio", "execution", "gateway")


@contextlib.asynccontextmanager
async def running_stack(
    nats_url: str,
    postgres_server_url: str,
    folder: Path,
    extra: Mapping[str, str] | None = None,
    services: tuple[str, ...] = SERVICES,
) -> AsyncIterator[Stack]:
    """Portfolio, execution and the gateway (or ``services``) on a database and namespace of
    their own."""
    name = f"pt_{uuid.uuid4().hex[:16]}"
    database = await create_database(postgres_server_url, name)
    await apply_migrations(database)
    subjects = Subjects(namespace=f"t{uuid.uuid4().hex[:12]}")
    nc = await nats.connect(nats_url)
    await declare_streams(nc, subjects.streams())
    keys_file = folder / "keys.json"
    env = {
        "NATS_URL": nats_url,
        "DATABASE_URL": database,
        "PAPERTAPE_NAMESPACE": subjects.namespace,
        "PAPERTAPE_METRICS_PORT": "-1",
        "PAPERTAPE_HTTP_PORT": "0",
        "PAPERTAPE_KEYS_FILE": str(keys_file),
        "PAPERTAPE_SERVICES": "portfolio",
        **(extra or {}),
    }
    processes: dict[str, ServiceProcess] = {}
    try:
        for service in services:
            processes[service] = await start_service(service, env)
        for process in processes.values():
            await process.wait_ready(90)
        keys = json.loads(keys_file.read_text())
        await _ready(keys["url"])
        yield Stack(keys["url"], keys["admin"], subjects, nc, processes, env)
    finally:
        for process in processes.values():
            await process.stop()
        await delete_streams(nc, subjects.streams())
        await nc.close()
        await drop_database(postgres_server_url, name)


@contextlib.asynccontextmanager
async def scratch_stack(
    nats_url: str, postgres_server_url: str, extra: Mapping[str, str] | None = None
) -> AsyncIterator[Stack]:
    """``running_stack`` in a temporary folder of its own (``extra``: settings, such as limits)."""
    with tempfile.TemporaryDirectory(prefix="papertape-gateway-") as folder:
        async with running_stack(nats_url, postgres_server_url, Path(folder), extra) as running:
            yield running
