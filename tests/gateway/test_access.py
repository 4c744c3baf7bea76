"""Keys keep accounts apart: on every route and WebSocket channel, a missing or revoked key
gets 401, another account's key (or a key without the scope) 403."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from tests.gateway.stack import BTC, Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PUBLIC = {"/health", "/ready", "/metrics"}
BODIES: dict[str, Any] = {
    "/api/v1/accounts": {"account_id": "zed", "name": "Zed"},
    "/api/v1/keys": {"account_id": "owner", "scopes": ["read"]},
    "deposit": {"amount": "1"},
    "withdraw": {"amount": "1"},
    "orders": {"symbol": BTC, "side": "buy", "quantity": "1"},
    "limits": {},
    "costs": {},
    "exits": {"stop_loss": "1"},
}
ACCOUNT_CHANNELS = ("orders", "fills", "positions", "account", "signals", "sessions")


def _routes(schema: dict[str, Any]) -> list[tuple[str, str]]:
    """Every guarded (method, path) of the OpenAPI document."""
    return [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if path not in PUBLIC and operation.get("security")
    ]


def _concrete(path: str, account: str) -> str:
    return (
        path.replace("{account_id}", account)
        .replace("{order_id}", "no-such-order")
        .replace("{symbol}", BTC)
        .replace("{key_id}", "0000000000000000")
        .replace("{session_id}", "no-such-session")
    )


def _body(path: str) -> Any:
    return BODIES.get(path) or BODIES.get(path.rsplit("/", 1)[-1], {})


async def test_every_route_refuses_a_missing_key_a_revoked_key_and_another_accounts_key(
    stack: Stack,
) -> None:
    owner = await stack.account("owner")
    other = await stack.account("other")
    async with stack.client(stack.admin) as admin:
        schema = (await admin.get("/schema/openapi.json")).json()
        revoked = (await admin.post("/api/v1/keys", json={"account_id": "owner"})).json()
        gone = await admin.delete(f"/api/v1/keys/{revoked['key_id']}")
        assert gone.json()["revoked"] is True
    routes = _routes(schema)
    assert len(routes) >= 30, routes
    async with stack.client() as anonymous, stack.client(revoked["key"]) as stale:
        for method, path in routes:
            url = _concrete(path, "owner")
            for client in (anonymous, stale):
                answer = await client.request(
                    method, url, json=_body(path) if method != "GET" else None
                )
                assert answer.status_code == 401, (method, url, answer.text)
                assert answer.json()["code"] == "unauthorized"
    async with stack.client(other) as intruder:
        for method, path in routes:
            if "{account_id}" not in path:
                continue
            url = _concrete(path, "owner")
            answer = await intruder.request(
                method, url, json=_body(path) if method != "GET" else None
            )
            assert answer.status_code == 403, (method, url, answer.text)
            assert answer.json()["code"] == "forbidden"
    async with stack.client(owner) as trader:
        # A trade key may not do what needs admin: open accounts, fund them, manage keys.
        for method, path in (
            ("POST", "/api/v1/accounts"),
            ("POST", "/api/v1/accounts/owner/deposit"),
            ("GET", "/api/v1/keys"),
        ):
            answer = await trader.request(
                method, path, json=_body(path) if method != "GET" else None
            )
            assert answer.status_code == 403, (method, path, answer.text)
        listed = (await trader.get("/api/v1/accounts")).json()
        assert [a["account_id"] for a in listed] == ["owner"]


async def test_every_websocket_channel_refuses_a_missing_key_and_another_accounts_key(
    stack: Stack,
) -> None:
    await stack.account("wsowner")
    other = await stack.account("wsother")
    for headers in ({}, {"Authorization": "Bearer pt_0000000000000000_nope"}):
        async with websockets.connect(stack.ws_url, additional_headers=headers) as ws:
            refusal = json.loads(await ws.recv())
            assert (refusal["type"], refusal["code"], refusal["fatal"]) == (
                "error",
                "unauthorized",
                True,
            )
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4401
    headers = {"Authorization": f"Bearer {other}"}
    async with websockets.connect(stack.ws_url, additional_headers=headers) as ws:
        assert json.loads(await ws.recv())["type"] == "connection_confirmed"
        requests: list[dict[str, Any]] = [
            *(
                {"type": "subscribe", "channel": c, "account_id": "wsowner"}
                for c in ACCOUNT_CHANNELS
            ),
            *(
                {"type": t, "account_id": "wsowner"}
                for t in (
                    "request_portfolio_update",
                    "request_trade_history",
                    "request_open_positions",
                    "request_performance_metrics",
                )
            ),
        ]
        for request in requests:
            await ws.send(json.dumps(request))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert (answer["type"], answer["code"]) == ("error", "forbidden"), request
        await ws.send(json.dumps({"type": "subscribe", "channel": "orders"}))
        own = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert (own["type"], own["account_id"]) == ("subscribed", "wsother")


async def test_the_openapi_document_names_every_route_with_its_errors_and_examples(
    stack: Stack,
) -> None:
    async with stack.client() as anonymous:
        schema = (await anonymous.get("/schema/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    operations = [
        (path, method, op) for path, item in schema["paths"].items() for method, op in item.items()
    ]
    for path, method, operation in operations:
        if path in PUBLIC:
            continue
        responses = operation["responses"]
        for status in ("400", "401", "403", "429", "503"):
            assert status in responses, (method, path, status)
            error = responses[status]["content"]["application/json"]["schema"]
            assert error["$ref"].endswith("/ApiError"), (method, path, status)
            assert responses[status]["content"]["application/json"].get("examples"), (path, status)
        if "requestBody" in operation and method in ("post", "put", "patch"):
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body.get("examples") or "$ref" in body, (method, path)
    placing = schema["paths"]["/api/v1/accounts/{account_id}/orders"]["post"]
    assert len(placing["requestBody"]["content"]["application/json"]["schema"]["examples"]) == 2


async def test_session_routes_answer_503_while_the_signal_service_is_silent(
    stack: Stack,
) -> None:
    # This stack runs no signal service: its routes answer 503, in the one error shape.
    trader = await stack.account("nobots")
    async with stack.client(trader) as http:
        for path in ("/api/v1/strategies", "/api/v1/sessions/any", "/api/v1/signals/calibration"):
            answer = await http.get(path)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.json()["code"] == "service_unavailable"
            assert answer.headers["Retry-After"]
