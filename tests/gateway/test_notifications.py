"""Notifications through the gateway, over real HTTP, with portfolio, execution and the
notification service as processes: an account's key sets its rules and endpoints (and no other
account's), an order placed through the gateway that fills reaches the account's webhook,
signed; an operator reads every account's dead letters."""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

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
            extra={"PAPERTAPE_POLL_INTERVAL_S": "0.2"},
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

        assert [d["status"] for d in await until(recorded)] == ["delivered"]

    async with stack.client(stack.admin) as admin:
        rules = await admin.get("/api/v1/notifications/alice/rules")
        assert [r["rule_id"] for r in rules.json()] == ["fills"]
        letters = await admin.get("/api/v1/notifications/dead-letters")
        assert (letters.status_code, letters.json()) == (200, [])
