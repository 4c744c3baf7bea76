"""Benchmark: order placement through the gateway beside the same orders straight to portfolio,
and the WebSocket fan-out of fills.

Portfolio and the gateway run as processes (``python -m papertape.<service>``) on a scratch
database and namespace. Placement: 32 concurrent clients, each with an account of its own (one
account's commands are decided one at a time), place the same limit orders (far from the
market: decided, recorded, left working) as NATS requests to portfolio as the command line
sends them and as HTTP POSTs to the gateway (a minimal keep-alive HTTP/1.1 client, so the
client's own cost stays small), in five rounds of 25 orders a client each way, one way then
the other (a noisy machine slows a moment, and both paths share it); each answer arrives
after the order is decided and appended. The CPU each service spends per order each way is
recorded too (on a shared machine latencies and rates depend on what else runs; CPU per order
compares fairly), and so is the bench's own (its clients share the two cores with the services:
the HTTP ones must not be what slows the gateway's path). Then one client alone each way
(``ALONE_ROUNDS``): the latency each path adds when nothing queues.
Fan-out: 1,000 WebSocket clients (a minimal client that notes when each frame's bytes arrive)
follow one account's ``fills``; the bench reports fills of a working order on EXECUTION
as the venue does, two a second; portfolio decides and appends each to the log, the relay
publishes it to ACCOUNTS and the gateway sends it to every socket. Each delay runs from the
fill's append (the log's ``recorded_at``, ``clock_timestamp()`` at the insert) to a socket
receiving it (one machine, one wall clock). The baseline, in the same run: the same fills from
the append to a plain NATS subscriber of the relayed account event, the path but the gateway.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats

from bench.cpu_usage import cpu_summed, cpu_used, machine_records
from bench.httpclient import KeepAliveHttp
from bench.records import Target, record
from bench.stack import run_alone, running
from bench.wsclient import (
    BTC,
    MinimalSocket,
    executed,
    fill_report,
    message_type,
    relayed_fill,
)
from papertape.common.bus.publishing import publish
from papertape.common.servers import declare_streams, delete_streams
from papertape.contract.codec import encode
from papertape.contract.events.account import OpenAccount, PlaceOrder, SetRiskLimits
from papertape.contract.events.envelope import Request
from papertape.contract.events.market import QuoteReceived
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.ids import (
    AccountId,
    Actor,
    OrderId,
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
ROUNDS = 5
"""Rounds of placements, straight to portfolio then through the gateway in each: a noisy
machine slows a moment, and both paths share every moment's noise."""
ALONE_ROUNDS = 2
ALONE_ORDERS = 100
"""Then one client alone, one order at a time, each way in turn: the latency a path adds when
nothing queues (with 32 clients the machine is saturated and p50 is 32 / orders/s, so the
gateway's CPU, on the same two cores as portfolio, NATS and PostgreSQL, shows as throughput
portfolio loses)."""
PLACING = 'method="POST",route="/api/v1/accounts/{account_id}/orders"'
"""The placement route's labels in the gateway's request histogram."""
SOCKETS = 1000
FILLS = 20
FILL_EVERY_S = 0.5
LIMITS = RiskLimits(
    max_position_pct=Decimal(10000),
    max_risk_per_trade_pct=Decimal(10000),
    max_portfolio_heat_pct=Decimal(10000),
    max_trades_per_day=1_000_000,
)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _request(body: Any) -> bytes:
    return encode(
        Request(
            request_id=str(uuid.uuid4()),
            issued_at=datetime.now(UTC),
            actor=Actor("bench"),
            body=body,
        )
    )


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


async def _in_app(url: str) -> tuple[float, float]:
    """The seconds and count of placements the gateway's own histogram has timed (its
    ``measured`` middleware: from the app's start to the response sent, the handler and the
    round trip to portfolio): beside the client's time, what the HTTP hops around the app
    add (the client, the kernel, uvicorn's protocol, the wait in the gateway's loop)."""
    http = await KeepAliveHttp.open(url)
    try:
        text = (await http.get("/metrics")).decode()
    finally:
        http.close()
    found = dict.fromkeys(("sum", "count"), 0.0)
    for line in text.splitlines():
        for part in found:
            if line.startswith(f"papertape_http_request_seconds_{part}{{") and PLACING in line:
                found[part] += float(line.rsplit(" ", 1)[1])
    return found["sum"], found["count"]


async def _setup(nc: Any, subjects: Subjects, account: str) -> None:
    for body in (
        OpenAccount(account_id=AccountId(account), name=account, initial_cash=Decimal(10**9)),
        SetRiskLimits(account_id=AccountId(account), limits=LIMITS),
    ):
        await nc.request(subjects.portfolio_command(), _request(body), timeout=30)


async def _over_nats(
    nc: Any,
    subjects: Subjects,
    account: str,
    first: int = 0,
    clients: int = CLIENTS,
    orders: int = ORDERS_PER_CLIENT,
) -> list[float]:
    latencies: list[float] = []

    async def client(c: int) -> None:
        for i in range(first, first + orders):
            payload = _request(_order(f"{account}{c}", i))
            started = time.perf_counter()
            await nc.request(subjects.portfolio_command(), payload, timeout=30)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client(c) for c in range(clients)))
    return latencies


async def _over_http(
    url: str,
    key: str,
    account: str,
    first: int = 0,
    clients: int = CLIENTS,
    orders: int = ORDERS_PER_CLIENT,
) -> list[float]:
    latencies: list[float] = []

    async def client(c: int) -> None:
        path = f"/api/v1/accounts/{account}{c}/orders"
        http = await KeepAliveHttp.open(url)
        try:
            for i in range(first, first + orders):
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

    await asyncio.gather(*(client(c) for c in range(clients)))
    return latencies


async def _fan_out(
    nc: Any, subjects: Subjects, url: str, key: str, account: str
) -> tuple[list[float], list[float], list[float]]:
    """Delays (s) from each fill's append to the log to its ``trade_executed`` on every socket;
    to the relayed account event at a plain NATS subscriber (the path without the gateway);
    and from that subscriber's receipt to each socket's (what the gateway adds)."""
    await _setup(nc, subjects, account)
    order = f"{account}-fills"
    place = PlaceOrder(
        account_id=AccountId(account),
        order_id=OrderId(order),
        symbol=BTC,
        side=OrderSide.BUY,
        quantity=Decimal(FILLS + 1),
        order_type=OrderType.LIMIT,
        limit_price=Decimal(100),
    )
    await nc.request(subjects.portfolio_command(), _request(place), timeout=30)
    host = url.removeprefix("http://")
    address, port = host.split(":")
    subscribe = json.dumps({"type": "subscribe", "channel": "fills", "account_id": account})
    loop = asyncio.get_running_loop()

    async def client() -> MinimalSocket:
        _, socket = await loop.create_connection(
            lambda: MinimalSocket(host, "/ws", key), address, int(port)
        )
        await socket.next_text()  # connection_confirmed
        socket.send(subscribe.encode())
        while message_type(await socket.next_text()) != "subscribed":
            pass
        return socket

    sockets: list[MinimalSocket] = []
    for _ in range(0, SOCKETS, 100):  # connect in waves: the handshakes share two cores
        sockets += await asyncio.gather(*(client() for _ in range(100)))
    relayed: dict[str, tuple[float, float]] = {}

    async def on_relayed(msg: Any) -> None:
        fill_id, recorded_at = relayed_fill(msg.data)
        relayed[fill_id] = (recorded_at.timestamp(), time.time())

    plain = await nc.subscribe(subjects.account_event(account, "order_filled"), cb=on_relayed)
    js = nc.jetstream()
    for n in range(1, FILLS + 1):
        report = fill_report(account, order, n, FILLS + 1)
        subject = subjects.execution_report(account, "order_fill_reported")
        await publish(js, subject, report, msg_id=report.data.report_id)
        await asyncio.sleep(FILL_EVERY_S)  # latency, not a backlog
    delays: list[float] = []
    added: list[float] = []
    for socket in sockets:
        seen = 0
        while seen < FILLS:
            at, payload = await socket.next_frame()
            if message_type(payload) != "trade_executed":
                continue
            appended, bus = relayed[executed(payload)]
            delays.append(at - appended)
            added.append(at - bus)
            seen += 1
        assert socket.transport is not None
        socket.transport.close()
    await plain.unsubscribe()
    assert len(relayed) == FILLS, relayed
    return delays, [bus - appended for appended, bus in relayed.values()], added


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
        async with running(env, ("portfolio", "gateway")) as stack:
            services = stack.processes()
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
            direct: list[float] = []
            through: list[float] = []
            direct_s = http_s = 0.0
            direct_cpu: dict[str, float] = {}
            http_cpu: dict[str, float] = {}
            in_app_s = in_app_n = 0.0
            for round_ in range(ROUNDS):
                first = round_ * ORDERS_PER_CLIENT
                started, cpu = time.perf_counter(), cpu_used(services)
                direct += await _over_nats(nc, subjects, "direct", first)
                direct_s += time.perf_counter() - started
                direct_cpu = cpu_summed(direct_cpu, cpu_used(services, cpu))
                app_s, app_n = await _in_app(keys["url"])
                started, cpu = time.perf_counter(), cpu_used(services)
                through += await _over_http(keys["url"], keys["admin"], "gateway", first)
                http_s += time.perf_counter() - started
                http_cpu = cpu_summed(http_cpu, cpu_used(services, cpu))
                app_s_after, app_n_after = await _in_app(keys["url"])
                in_app_s, in_app_n = in_app_s + app_s_after - app_s, in_app_n + app_n_after - app_n
            alone_direct: list[float] = []
            alone_through: list[float] = []
            for round_ in range(ALONE_ROUNDS):  # one client: the latency each path adds itself
                first = ROUNDS * ORDERS_PER_CLIENT + round_ * ALONE_ORDERS
                alone_direct += await _over_nats(nc, subjects, "direct", first, 1, ALONE_ORDERS)
                alone_through += await _over_http(
                    keys["url"], keys["admin"], "gateway", first, 1, ALONE_ORDERS
                )
            delays, relayed, added = await _fan_out(
                nc, subjects, keys["url"], keys["admin"], "fanout"
            )
    finally:
        await delete_streams(nc, subjects.streams())
        await nc.close()
    orders = CLIENTS * ORDERS_PER_CLIENT * ROUNDS
    if in_app_n != orders:
        raise RuntimeError(f"the gateway's histogram timed {in_app_n:.0f} of {orders} placements")
    in_app = in_app_s / in_app_n

    return [
        record("placement_nats_orders_per_s_32_clients", orders / direct_s, "orders/s", True),
        record("placement_nats_p50_ms", statistics.median(direct) * 1000, "ms", False),
        record("placement_nats_p99_ms", _percentile(direct, 0.99) * 1000, "ms", False),
        record(
            "placement_gateway_orders_per_s_32_clients",
            orders / http_s,
            "orders/s",
            True,
            "placement_nats_orders_per_s_32_clients",
        ),
        record(
            "placement_gateway_p50_ms",
            statistics.median(through) * 1000,
            "ms",
            False,
            "placement_nats_p50_ms",
        ),
        record(
            "placement_gateway_p99_ms",
            _percentile(through, 0.99) * 1000,
            "ms",
            False,
            "placement_nats_p99_ms",
        ),
        record(
            "placement_nats_portfolio_cpu_ms_per_order",
            direct_cpu["portfolio"] * 1000 / orders,
            "ms",
            False,
        ),
        record(
            "placement_gateway_portfolio_cpu_ms_per_order",
            http_cpu["portfolio"] * 1000 / orders,
            "ms",
            False,
            "placement_nats_portfolio_cpu_ms_per_order",
        ),
        record(
            "placement_gateway_cpu_ms_per_order", http_cpu["gateway"] * 1000 / orders, "ms", False
        ),
        record(
            "placement_nats_clients_cpu_ms_per_order",
            direct_cpu["clients"] * 1000 / orders,
            "ms",
            False,
        ),
        record(
            "placement_gateway_clients_cpu_ms_per_order",
            http_cpu["clients"] * 1000 / orders,
            "ms",
            False,
            "placement_nats_clients_cpu_ms_per_order",
        ),
        *machine_records(direct_cpu, direct_s, http_cpu, http_s, orders),
        record("placement_nats_mean_ms", statistics.fmean(direct) * 1000, "ms", False),
        record(
            "placement_gateway_mean_ms",
            statistics.fmean(through) * 1000,
            "ms",
            False,
            "placement_nats_mean_ms",
        ),
        record("placement_gateway_in_app_mean_ms", in_app * 1000, "ms", False),
        record(
            "placement_gateway_outside_app_mean_ms",
            (statistics.fmean(through) - in_app) * 1000,
            "ms",
            False,
        ),
        record(
            "placement_nats_1_client_p50_ms", statistics.median(alone_direct) * 1000, "ms", False
        ),
        record(
            "placement_gateway_1_client_p50_ms",
            statistics.median(alone_through) * 1000,
            "ms",
            False,
            "placement_nats_1_client_p50_ms",
        ),
        record("fill_log_to_bus_p50_ms", statistics.median(relayed) * 1000, "ms", False),
        record("fill_log_to_bus_p99_ms", _percentile(relayed, 0.99) * 1000, "ms", False),
        record(
            "ws_fanout_1000_clients_fill_p50_ms",
            statistics.median(delays) * 1000,
            "ms",
            False,
            "fill_log_to_bus_p50_ms",
        ),
        record(
            "ws_fanout_1000_clients_fill_p99_ms",
            _percentile(delays, 0.99) * 1000,
            "ms",
            False,
            "fill_log_to_bus_p99_ms",
        ),
        record(
            "ws_fanout_1000_clients_gateway_added_p50_ms",
            statistics.median(added) * 1000,
            "ms",
            False,
        ),
        record(
            "ws_fanout_1000_clients_gateway_added_p99_ms",
            _percentile(added, 0.99) * 1000,
            "ms",
            False,
        ),
    ]


if __name__ == "__main__":
    run_alone(run)
