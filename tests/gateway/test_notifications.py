"""Notifications through the gateway, over real HTTP, with portfolio, execution and the
notification service as processes: an account's key sets its rules and endpoints (and no other
account's), an order placed through the gateway that fills reaches the account's webhook,
signed, and its log is read a page at a time; an operator reads every account's dead letters;
notifications reach the account's sockets (the ``notifications`` channel) in order, and no
other account's."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets

from tests.gateway.stack import BTC, SERVICES, Stack, running_stack
from tests.gateway.test_orders import _marked, until
from tests.notification.conftest import SignedReceiver

pytestmark = [pytest.mark.integration]


@pytest_asyncio.fixture(scope="module")
async def stack(nats_url: str, postgres_server_url: str) -> AsyncIterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="papertape-gateway-") as folder:
        async with running_stack(
            nats_url,
            postgres_server_url,
            Path(folder),
            services=("notification", *SERVICES),
            # The tests' webhook receivers are on loopback: allowed here, refused by default.
            extra={"PAPERTAPE_POLL_INTERVAL_S": "0.2", "PAPERTAPE_ALLOW_PRIVATE_TARGETS": "true"},
        ) as running:
            yield running


async def test_an_accounts_key_sets_its_notifications_and_a_fill_reaches_its_webhook(
    stack: Stack,
) -> None:
    alice, bob = await stack.account("alice"), await stack.account("bob")
    receiver = SignedReceiver()
    async with receiver.server, stack.client(alice) as http, stack.client(bob) as other:
        base = "/api/v1/notifications/alice"
        hook = {"kind": "webhook", "url": f"{receiver.server.url}/hook"}
        added = await http.put(f"{base}/endpoints/hook", json=hook)
        assert added.status_code == 200, added.text
        receiver.secret = added.json()["secret"]
        rule = {"happenings": ["fill"], "endpoints": ["hook"]}
        set_rule = await http.put(f"{base}/rules/fills", json=rule)
        assert set_rule.status_code == 200, set_rule.text
        assert set_rule.json()["happenings"] == ["fill"]

        assert (await other.put(f"{base}/rules/fills", json=rule)).status_code == 403
        assert (await other.get(f"{base}/rules")).status_code == 403
        assert (await other.get("/api/v1/notifications/dead-letters")).status_code == 403
        listed = await http.get(f"{base}/endpoints")
        assert [e["secret"] for e in listed.json()] == [None]
        bad = await http.put(f"{base}/endpoints/x", json={"kind": "webhook", "url": "gopher://x"})
        assert bad.status_code == 400
        assert bad.json()["field"] == "url"
        unknown = await http.put(f"{base}/rules/r2", json={**rule, "endpoints": ["nope"]})
        assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_endpoint")

        await stack.quote(BTC, "99.99", "100.01")
        await until(lambda: _marked(http, "alice"))
        placed = await http.post(
            "/api/v1/accounts/alice/orders", json={"symbol": BTC, "side": "buy", "quantity": "1"}
        )
        assert placed.status_code == 201, placed.text

        async def delivered() -> Any:
            await stack.quote(BTC, "99.99", "100.01")
            return receiver.accepted or None

        await until(delivered)
        body = json.loads(receiver.accepted[0].body)
        assert body["notification"]["happening"] == "fill"
        assert body["notification"]["details"]["symbol"] == BTC

        async def recorded() -> Any:
            log = (await http.get(f"{base}/deliveries")).json()
            return log if log and log[0]["status"] != "pending" else None

        log = await until(recorded)
        assert [d["status"] for d in log] == ["delivered"]
        older = await http.get(f"{base}/deliveries", params={"before": log[0]["delivery_id"]})
        assert (older.status_code, older.json()) == (200, [])  # the next page: none older

    async with stack.client(stack.admin) as admin:
        rules = await admin.get("/api/v1/notifications/alice/rules")
        assert [r["rule_id"] for r in rules.json()] == ["fills"]
        letters = await admin.get("/api/v1/notifications/dead-letters")
        assert (letters.status_code, letters.json()) == (200, [])
        paged = await admin.get(
            "/api/v1/notifications/dead-letters", params={"before": "d", "limit": 5}
        )
        assert (paged.status_code, paged.json()) == (200, [])
        # A control character never reaches the store (PostgreSQL cannot hold a NUL): a 400.
        for path in (
            "/api/v1/notifications/dead-letters",
            "/api/v1/notifications/alice/deliveries",
        ):
            nul = await admin.get(path, params={"before": "d\x00e"})
            assert (nul.status_code, nul.json()["field"]) == (400, "before"), nul.text


async def _subscribed(ws: Any, channel: str) -> None:
    await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
    while (answer := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "subscribed":
        assert answer["type"] != "error", answer
    assert answer["channel"] == channel


async def _read(ws: Any, into: list[dict[str, Any]]) -> None:
    async for text in ws:
        into.append(json.loads(text))


async def test_notifications_reach_the_accounts_sockets_in_order_and_no_other_accounts(
    stack: Stack,
) -> None:
    carol, dave = await stack.account("carol"), await stack.account("dave")
    rule = {"happenings": ["fill"], "websocket": True}
    for account, key in (("carol", carol), ("dave", dave)):
        async with stack.client(key) as http:
            answer = await http.put(f"/api/v1/notifications/{account}/rules/live", json=rule)
            assert answer.status_code == 200, answer.text
    seen: dict[str, list[dict[str, Any]]] = {"carol": [], "dave": []}
    async with (
        websockets.connect(
            stack.ws_url, additional_headers={"Authorization": f"Bearer {carol}"}
        ) as carol_ws,
        websockets.connect(
            stack.ws_url, additional_headers={"Authorization": f"Bearer {dave}"}
        ) as dave_ws,
        stack.client(carol) as http,
    ):
        for ws in (carol_ws, dave_ws):
            assert json.loads(await ws.recv())["type"] == "connection_confirmed"
            await _subscribed(ws, "notifications")
        await _subscribed(carol_ws, "fills")
        readers = [
            asyncio.create_task(_read(carol_ws, seen["carol"])),
            asyncio.create_task(_read(dave_ws, seen["dave"])),
        ]
        try:
            await stack.quote(BTC, "99.99", "100.01")
            await until(lambda: _marked(http, "carol"))
            for n in range(3):
                placed = await http.post(
                    "/api/v1/accounts/carol/orders",
                    json={"symbol": BTC, "side": "buy", "quantity": str(n + 1)},
                )
                assert placed.status_code == 201, placed.text

            def of(account: str, kind: str) -> list[dict[str, Any]]:
                return [m for m in seen[account] if m["type"] == kind]

            async def all_notified() -> bool:
                await stack.quote(BTC, "99.99", "100.01")
                return (
                    len(of("carol", "notification")) >= 3
                    and len(of("carol", "trade_executed")) >= 3
                )

            await until(all_notified)
            await asyncio.sleep(0.5)  # anything late or stray would have arrived by now
        finally:
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    notes = of("carol", "notification")
    fills = of("carol", "trade_executed")
    assert len(notes) == 3, notes
    assert {n["account_id"] for n in notes} == {"carol"}
    assert [n["notification"]["happening"] for n in notes] == ["fill"] * 3
    # In the account's order: the same order as its fills on the fills channel.
    assert [n["notification"]["details"]["fill_id"] for n in notes] == [
        f["event"]["fill_id"] for f in fills
    ]
    assert [n["notification"]["details"]["quantity"] for n in notes] == [
        f["event"]["quantity"] for f in fills
    ]
    assert all(n["notification_id"] == n["notification"]["notification_id"] for n in notes)
    assert of("dave", "notification") == []  # carol's notifications never reach dave's socket
