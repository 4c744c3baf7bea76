"""The WebSocket through a real connection: account channels in stream order, what a
reconnecting client missed, prices, requests."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest
import websockets

from tests.gateway.stack import BTC, Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _limit(price: str, client_order_id: str) -> dict[str, Any]:
    return {
        "symbol": BTC,
        "side": "buy",
        "quantity": "1",
        "order_type": "limit",
        "limit_price": price,
        "client_order_id": client_order_id,
    }


async def _next(ws: Any, kind: str, seconds: float = 20) -> dict[str, Any]:
    """The next message of type ``kind`` (others, like marks, pass by)."""
    async with asyncio.timeout(seconds):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] == kind:
                return message


async def test_a_reconnecting_client_gets_the_events_it_missed_in_order(stack: Stack) -> None:
    key = await stack.account("socket")
    headers = {"Authorization": f"Bearer {key}"}
    async with stack.client(key) as http:
        async with websockets.connect(stack.ws_url, additional_headers=headers) as ws:
            confirmed = json.loads(await ws.recv())
            assert (confirmed["type"], confirmed["account_id"]) == (
                "connection_confirmed",
                "socket",
            )
            await ws.send(json.dumps({"type": "subscribe", "channel": "orders"}))
            await _next(ws, "subscribed")
            placed = await http.post("/api/v1/accounts/socket/orders", json=_limit("10", "a"))
            assert placed.status_code == 201, placed.text
            seen = await _next(ws, "order_update")
            assert seen["event"]["client_order_id"] == "a"
            last = seen["stream_version"]
        # Offline: three more orders, and a cancel.
        missed = []
        for name in ("b", "c", "d"):
            answer = await http.post("/api/v1/accounts/socket/orders", json=_limit("11", name))
            missed.append(answer.json()["events"][0]["data"]["order_id"])
        await http.delete(f"/api/v1/accounts/socket/orders/{missed[0]}")
        async with websockets.connect(stack.ws_url, additional_headers=headers) as ws:
            await _next(ws, "connection_confirmed")
            await ws.send(
                json.dumps({"type": "subscribe", "channel": "orders", "since_version": last})
            )
            replayed = [await _next(ws, "order_update") for _ in range(4)]
            subscribed = await _next(ws, "subscribed")
            # And then the live stream goes on from there, without a repeat.
            await http.post("/api/v1/accounts/socket/orders", json=_limit("12", "e"))
            live = await _next(ws, "order_update")

    kinds = [(m["event"]["type"], m["event"]["order_id"]) for m in replayed]
    assert kinds == [
        ("order_placed.v1", missed[0]),
        ("order_placed.v1", missed[1]),
        ("order_placed.v1", missed[2]),
        ("order_cancelled.v1", missed[0]),
    ]
    versions = [m["stream_version"] for m in replayed]
    assert versions == sorted(versions)
    assert versions[0] > last
    assert subscribed["version"] == versions[-1]
    assert live["stream_version"] > versions[-1]
    assert live["event"]["client_order_id"] == "e"


async def test_the_account_channel_starts_with_a_snapshot_and_requests_are_answered(
    stack: Stack,
) -> None:
    key = await stack.account("snapshot", cash="5000")
    headers = {"Authorization": f"Bearer {key}"}
    async with websockets.connect(stack.ws_url, additional_headers=headers) as ws:
        await _next(ws, "connection_confirmed")
        await ws.send(json.dumps({"type": "subscribe", "channel": "account"}))
        snapshot = await _next(ws, "initial_snapshot")
        assert snapshot["summary"]["cash"] == "5000.00"
        assert snapshot["positions"] == snapshot["open_orders"] == snapshot["recent_trades"] == []
        for request, answer in (
            ("request_portfolio_update", "portfolio_update"),
            ("request_trade_history", "trade_history"),
            ("request_open_positions", "open_positions"),
            ("request_performance_metrics", "performance_update"),
        ):
            await ws.send(json.dumps({"type": request, "account_id": "snapshot"}))
            assert (await _next(ws, answer))["account_id"] == "snapshot"
        await ws.send(json.dumps({"type": "ping", "nonce": "n1"}))
        assert (await _next(ws, "pong"))["nonce"] == "n1"
        await ws.send(json.dumps({"type": "subscribe", "channel": "orders", "account_id": "a.b"}))
        refusal = await _next(ws, "error")
        assert refusal["field"] == "account_id"


async def test_prices_of_a_subscribed_symbol_arrive_as_price_updates(stack: Stack) -> None:
    key = await stack.account("watcher")
    headers = {"Authorization": f"Bearer {key}"}
    async with websockets.connect(stack.ws_url, additional_headers=headers) as ws:
        await _next(ws, "connection_confirmed")
        await ws.send(json.dumps({"type": "subscribe", "channel": "prices", "symbol": BTC}))
        await _next(ws, "subscribed")
        await stack.quote(BTC, "101.00", "101.02")
        update = await _next(ws, "price_update")
    assert (update["symbol"], update["quote"]["bid"]) == (BTC, "101.00")


async def test_a_fill_arrives_as_trade_executed_and_a_close_as_trade_closed(stack: Stack) -> None:
    key = await stack.account("filler")
    headers = {"Authorization": f"Bearer {key}"}
    market = {"symbol": BTC, "side": "buy", "quantity": "1"}
    async with (
        stack.client(key) as http,
        websockets.connect(stack.ws_url, additional_headers=headers) as ws,
    ):
        await _next(ws, "connection_confirmed")
        for channel in ("fills", "positions"):
            await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
            await _next(ws, "subscribed")
        for _ in range(100):  # portfolio has a mark once a quote has reached it
            await stack.quote(BTC, "99.99", "100.01")
            placed = await http.post("/api/v1/accounts/filler/orders", json=market)
            if placed.status_code == 201:
                break
            await asyncio.sleep(0.1)
        assert placed.status_code == 201, placed.text

        async def quoting() -> None:
            while True:
                await stack.quote(BTC, "99.99", "100.01")
                await asyncio.sleep(0.2)

        quotes = asyncio.create_task(quoting())
        try:
            executed = await _next(ws, "trade_executed")
            position = await _next(ws, "position_updated")
            closing = await http.post(f"/api/v1/accounts/filler/positions/{BTC}/close", json={})
            assert closing.status_code == 201, closing.text
            closed = await _next(ws, "trade_closed")
        finally:
            quotes.cancel()

    assert executed["event"]["side"] == "buy"
    assert (position["symbol"], Decimal(position["quantity"])) == (BTC, Decimal(1))
    assert closed["trade"]["exit_reason"] == "manual"
    assert closed["stream_version"] > executed["stream_version"]
