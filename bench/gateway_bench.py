"""Benchmark: order placement through the gateway beside the same orders straight to portfolio,
and the WebSocket fan-out of fills.

Portfolio and the gateway run as processes (``python -m papertape.<service>``) on a scratch
database and namespace. Placement: 32 concurrent clients, each with an account of its own (one
account's commands are decided one at a time), place the same limit orders (far from the
market: decided, recorded, left working), first as NATS requests to portfolio as the command
line sends them, then as HTTP POSTs to the gateway (a minimal keep-alive HTTP/1.1 client,
so the client's own cost stays small); each answer arrives after the order is decided and
appended. Fan-out: 1,000 WebSocket clients follow one account's ``fills``; the bench publishes
fill events on its ACCOUNTS subject as the relay does and each client notes when it received
each, from the publish (one process, one clock).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import nats
import websockets

from bench.records import Target
from bench.stack import percentile, request
from papertape.common.servers import declare_streams, delete_streams
from papertape.contract.codec import encode
from papertape.contract.events.account import OpenAccount, OrderFilled, PlaceOrder, SetRiskLimits
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.market import QuoteReceived
from papertape.contract.events.orders import OrderSide, OrderType
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
from papertape.contract.limits import RiskLimits
from papertape.contract.subjects import Subjects

TARGETS: list[Target] = [
    Target("placement_gateway_p50_ms", 1.25, "placement_nats_p50_ms", at_most=True),
    Target("ws_fanout_1000_clients_fill_p99_ms", 100.0, at_most=True),
]
"""The issue's targets: the gateway adds at most 25% to p50; fills reach 1,000 sockets in 100 ms."""

CLIENTS = 32
ORDERS_PER_CLIENT = 25
SOCKETS = 1000
FILLS = 10
BTC = Symbol("BTCUSD")
LIMITS = RiskLimits(
    max_position_pct=Decimal(10000),
    max_risk_per_trade_pct=Decimal(10000),
    max_portfolio_heat_pct=Decimal(10000),
    max_trades_per_day=1_000_000,
)


class _Versioned(msgspec.Struct):
    stream_version: int


_versioned = msgspec.json.Decoder(_Versioned)


def _order(account: str, n: int) -> PlaceOrder:
    return PlaceOrder(
        account_id=AccountId(account),
        order_id=OrderId(f"{account}-{n}"),
        symbol=BTC,
        side=OrderSide.BUY,
        quantity=Decimal("0.001"),
        order_type=OrderType.LIMIT,
        limit_price=Decimal(1),
    )


@asynccontextmanager
async def _processes(env: dict[str, str], names: tuple[str, ...]) -> AsyncIterator[None]:
    procs = []
    try:
        for name in names:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                f"papertape.{name}",
                env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            procs.append(proc)
            assert proc.stdout is not None
            async with asyncio.timeout(120):
                while not (await proc.stdout.readline()).startswith(b"READY"):
                    pass
            # Keep reading its output, so a full pipe never blocks it.
            asyncio.get_running_loop().create_task(_drain(proc))
        yield
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()


async def _drain(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdout is not None
    while await proc.stdout.readline():
        pass


class _Http:
    """A keep-alive HTTP/1.1 connection that posts JSON and reads the status."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> _Http:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer, f"{host}:{port}")

    async def post(self, path: str, key: str, body: bytes) -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        self.writer.close()


async def _setup(nc: Any, subjects: Subjects, account: str) -> None:
    for body in (
        OpenAccount(account_id=AccountId(account), name=account, initial_cash=Decimal(10**9)),
        SetRiskLimits(account_id=AccountId(account), limits=LIMITS),
    ):
        await nc.request(subjects.portfolio_command(), request(body), timeout=30)


async def _over_nats(nc: Any, subjects: Subjects, account: str) -> list[float]:
    latencies: list[float] = []

    async def client(c: int) -> None:
        for i in range(ORDERS_PER_CLIENT):
            payload = request(_order(f"{account}{c}", i))
            started = time.perf_counter()
            await nc.request(subjects.portfolio_command(), payload, timeout=30)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client(c) for c in range(CLIENTS)))
    return latencies


async def _over_http(url: str, key: str, account: str) -> list[float]:
    latencies: list[float] = []

    async def client(c: int) -> None:
        path = f"/api/v1/accounts/{account}{c}/orders"
        http = await _Http.open(url)
        try:
            for i in range(ORDERS_PER_CLIENT):
                body = json.dumps(
                    {
                        "symbol": BTC,
                        "side": "buy",
                        "quantity": "0.001",
                        "order_type": "limit",
                        "limit_price": "1",
                        "order_id": f"{account}{c}-{i}",
                    }
                ).encode()
                started = time.perf_counter()
                status = await http.post(path, key, body)
                latencies.append(time.perf_counter() - started)
                assert status == 201, status
        finally:
            http.close()

    await asyncio.gather(*(client(c) for c in range(CLIENTS)))
    return latencies


async def _fan_out(nc: Any, subjects: Subjects, ws_url: str, key: str, account: str) -> list[float]:
    published: dict[int, float] = {}
    delays: list[float] = []
    subscribe = json.dumps({"type": "subscribe", "channel": "fills", "account_id": account})

    async def client(ready: asyncio.Event) -> websockets.ClientConnection:
        ws = await websockets.connect(
            ws_url, additional_headers={"Authorization": f"Bearer {key}"}, open_timeout=60
        )
        await ws.recv()
        await ws.send(subscribe)
        while json.loads(await ws.recv())["type"] != "subscribed":
            pass
        return ws

    sockets: list[Any] = []
    for start in range(0, SOCKETS, 100):  # connect in waves: the handshakes share two cores
        sockets += await asyncio.gather(
            *(client(asyncio.Event()) for _ in range(start, start + 100))
        )

    async def listen(ws: Any) -> None:
        for _ in range(FILLS):
            message = _versioned.decode(await ws.recv())  # only what the bench needs, quickly
            delays.append(time.perf_counter() - published[message.stream_version])

    listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
    now = datetime.now(UTC)
    for n in range(1, FILLS + 1):
        fill = OrderFilled(
            account_id=AccountId(account),
            ts=now,
            order_id=OrderId("o"),
            fill_id=FillId(f"f{n}"),
            symbol=BTC,
            side=OrderSide.BUY,
            price=Decimal(100),
            quantity=Decimal(1),
            position_quantity=Decimal(n),
            position_avg_price=Decimal(100),
            cash_after=Decimal(0),
            order_remaining=Decimal(0),
        )
        envelope = Envelope(
            event_id=EventId(str(uuid.uuid4())),
            stream_id=StreamId(f"account-{account}"),
            stream_version=1_000 + n,
            occurred_at=now,
            correlation_id=CorrelationId("bench"),
            actor=Actor("bench"),
            data=fill,
        )
        published[1_000 + n] = time.perf_counter()
        await nc.publish(subjects.account_event(account, "order_filled"), encode(envelope))
        await nc.flush()
        await asyncio.sleep(1.0)  # latency, not a backlog: one fill a second
    await asyncio.wait_for(asyncio.gather(*listeners), 60)
    await asyncio.gather(*(ws.close() for ws in sockets))
    return delays


async def run(database_url: str, nats_url: str) -> list[dict[str, Any]]:
    """The records of this benchmark."""
    subjects = Subjects(namespace=f"bench{uuid.uuid4().hex[:8]}")
    nc = await nats.connect(nats_url)
    await declare_streams(nc, subjects.streams())
    folder = Path(tempfile.mkdtemp(prefix="papertape-gateway-bench-"))
    env = {
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "PAPERTAPE_NAMESPACE": subjects.namespace,
        "PAPERTAPE_METRICS_PORT": "-1",
        "PAPERTAPE_HTTP_PORT": "0",
        "PAPERTAPE_KEYS_FILE": str(folder / "keys.json"),
        "PAPERTAPE_RATE_PER_SECOND": "0",
        "PAPERTAPE_WS_BUFFER": "10000",
        "PAPERTAPE_LOG_LEVEL": "WARNING",
    }
    try:
        async with _processes(env, ("portfolio", "gateway")):
            keys = json.loads((folder / "keys.json").read_text())
            now = datetime.now(UTC)
            quote = QuoteReceived(
                symbol=BTC,
                bid=Decimal(100),
                ask=Decimal(100),
                ts_event=now,
                ts_init=now,
                source="bench",
            )
            await nc.publish(subjects.quote(BTC), encode(quote))
            for account in ("direct", "gateway", "warmup"):
                for c in range(CLIENTS):
                    await _setup(nc, subjects, f"{account}{c}")
            await _over_http(
                keys["url"], keys["admin"], "warmup"
            )  # connections, caches, JIT-less warm-up
            direct_started = time.perf_counter()
            direct = await _over_nats(nc, subjects, "direct")
            direct_s = time.perf_counter() - direct_started
            http_started = time.perf_counter()
            through = await _over_http(keys["url"], keys["admin"], "gateway")
            http_s = time.perf_counter() - http_started
            ws_url = keys["url"].replace("http://", "ws://") + "/ws"
            delays = await _fan_out(nc, subjects, ws_url, keys["admin"], "direct0")
    finally:
        await delete_streams(nc, subjects.streams())
        await nc.close()
    orders = CLIENTS * ORDERS_PER_CLIENT

    def rec(
        name: str, value: float, unit: str, higher: bool, base: str | None = None
    ) -> dict[str, Any]:
        return {
            "name": name,
            "value": value,
            "unit": unit,
            "higher_is_better": higher,
            "baseline": {"name": base} if base else None,
        }

    return [
        rec("placement_nats_orders_per_s_32_clients", orders / direct_s, "orders/s", True),
        rec("placement_nats_p50_ms", statistics.median(direct) * 1000, "ms", False),
        rec("placement_nats_p99_ms", percentile(direct, 0.99) * 1000, "ms", False),
        rec(
            "placement_gateway_orders_per_s_32_clients",
            orders / http_s,
            "orders/s",
            True,
            "placement_nats_orders_per_s_32_clients",
        ),
        rec(
            "placement_gateway_p50_ms",
            statistics.median(through) * 1000,
            "ms",
            False,
            "placement_nats_p50_ms",
        ),
        rec(
            "placement_gateway_p99_ms",
            percentile(through, 0.99) * 1000,
            "ms",
            False,
            "placement_nats_p99_ms",
        ),
        rec("ws_fanout_1000_clients_fill_p50_ms", statistics.median(delays) * 1000, "ms", False),
        rec("ws_fanout_1000_clients_fill_p99_ms", percentile(delays, 0.99) * 1000, "ms", False),
    ]


if __name__ == "__main__":
    from contextlib import ExitStack

    from bench.eventlog_bench import scratch_database
    from bench.run import nats_url, server_url

    async def _main(url: str, nats_server: str) -> None:
        async with scratch_database(url) as dsn:
            for record in await run(dsn, nats_server):
                print(f"{record['name']:48} {record['value']:10.2f} {record['unit']}")

    with ExitStack() as stack:
        asyncio.run(_main(server_url(stack), nats_url(stack)))
