"""A client that stops reading is cut off after its buffer, over real sockets, while fills flow;
the clients that keep reading get every fill, in order, within bounds."""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets
from bench.wsclient import fill_report
from websockets.exceptions import ConnectionClosed

from papertape.common.bus.publishing import publish
from tests.gateway.stack import BTC, Stack, running_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BUFFER = 20
FILLS = 120
CHANNELS = ("fills", "orders", "positions", "account")
NOISE = "ETHUSD"
QUOTES_PER_FILL = 40
BOUND_S = 5.0
"""The most a reading client may wait for a fill (a loaded machine runs the stack too)."""


@pytest_asyncio.fixture(scope="module")
async def stack(nats_url: str, postgres_server_url: str) -> AsyncIterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="papertape-gateway-") as folder:
        extra = {"PAPERTAPE_WS_BUFFER": str(BUFFER), "PAPERTAPE_RATE_PER_SECOND": "0"}
        async with running_stack(nats_url, postgres_server_url, Path(folder), extra) as running:
            yield running


async def _subscribed(ws: Any, *channels: str) -> None:
    assert json.loads(await ws.recv())["type"] == "connection_confirmed"
    for channel in channels:
        await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
    subscribed = 0
    while subscribed < len(channels):
        subscribed += json.loads(await ws.recv())["type"] == "subscribed"


async def _until_closed(ws: Any) -> tuple[dict[str, Any], ConnectionClosed]:
    """The last message a socket got before it was closed, and how it was closed."""
    last: dict[str, Any] = {}
    async with asyncio.timeout(30):
        while True:
            try:
                last = json.loads(await ws.recv())
            except ConnectionClosed as closed:
                return last, closed


async def test_a_client_that_stops_reading_is_closed_and_the_others_keep_up(
    stack: Stack,
) -> None:
    key = await stack.account("flow", cash="100000000")
    headers = {"Authorization": f"Bearer {key}"}
    async with stack.client(key) as http:
        placed = await http.post(
            "/api/v1/accounts/flow/orders",
            json={
                "symbol": BTC,
                "side": "buy",
                "quantity": str(FILLS + 1),
                "order_type": "limit",
                "limit_price": "100",
                "order_id": "flow-fills",
            },
        )
        assert placed.status_code == 201, placed.text
    # The slow client: a small receive window, and a client library that stops reading the
    # socket once one frame waits, so the gateway's writes back up to its buffer.
    host, port = stack.url.removeprefix("http://").split(":")
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect((host, int(port)))
    slow = await websockets.connect(
        stack.ws_url, additional_headers=headers, sock=raw, max_queue=1, ping_interval=None
    )
    fast = [await websockets.connect(stack.ws_url, additional_headers=headers) for _ in range(2)]
    await _subscribed(slow, *CHANNELS)
    await slow.send(json.dumps({"type": "subscribe", "channel": "prices", "symbol": NOISE}))
    for ws in fast:
        await _subscribed(ws, "fills")
    published: dict[str, float] = {}
    received: list[list[tuple[str, int, float]]] = [[] for _ in fast]

    async def read(n: int) -> None:
        while len(received[n]) < FILLS:
            message = json.loads(await fast[n].recv())
            if message["type"] == "trade_executed":
                at = time.perf_counter()
                received[n].append((message["event"]["fill_id"], message["stream_version"], at))

    readers = [asyncio.create_task(read(n)) for n in range(len(fast))]
    js = stack.nc.jetstream()
    subject = stack.subjects.execution_report("flow", "order_fill_reported")
    for n in range(1, FILLS + 1):
        report = fill_report("flow", "flow-fills", n, FILLS + 1)
        published[report.data.report_id] = time.perf_counter()
        await publish(js, subject, report, msg_id=report.data.report_id)
        for _ in range(QUOTES_PER_FILL):  # a symbol nobody trades: only the slow one follows it
            await stack.quote(NOISE, "10.00", "10.01")
        await asyncio.sleep(0.01)
    await asyncio.wait_for(asyncio.gather(*readers), 120)
    # Now the slow client reads again: what the socket held, the reason, then the close.
    last, closed = await _until_closed(slow)
    async with stack.client(stack.admin) as http:
        metrics = (await http.get("/metrics")).text
    for ws in fast:
        await ws.close()

    assert closed.rcvd is not None
    assert (closed.rcvd.code, closed.rcvd.reason) == (4008, "too slow: buffer full")
    assert (last["type"], last["code"], last["fatal"]) == ("error", "slow_client", True)
    assert "papertape_ws_slow_clients_total 1.0" in metrics
    for seen in received:
        assert [fill for fill, _, _ in seen] == list(published)  # every fill, in order
        versions = [version for _, version, _ in seen]
        assert versions == sorted(versions)
        delays = [at - published[fill] for fill, _, at in seen]
        assert max(delays) < BOUND_S, max(delays)
