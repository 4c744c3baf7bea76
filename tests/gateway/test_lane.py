"""The placement lane answers as the route would: the same refusals in the one error shape, one
token of the key's rate limit per request, and the request counted in the metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.gateway.stack import Stack, scratch_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BTC = "BTCUSD"
ORDER = {"symbol": BTC, "side": "buy", "quantity": "1", "order_type": "limit", "limit_price": "1"}


@pytest_asyncio.fixture(scope="module")
async def stack(nats_url: str, postgres_server_url: str) -> AsyncIterator[Stack]:
    """A gateway that lets a key make 12 requests at once and 1 a second after that."""
    limits = {"PAPERTAPE_RATE_PER_SECOND": "1", "PAPERTAPE_RATE_BURST": "12"}
    async with scratch_stack(nats_url, postgres_server_url, limits) as running:
        yield running


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"side": "sideways"}, "side"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"surprise": 1}, "surprise"),
        ({"symbol": None}, "symbol"),
    ],
)
async def test_a_placement_the_lane_cannot_convert_is_refused_naming_the_field(
    stack: Stack, change: dict[str, Any], field: str
) -> None:
    async with stack.client(stack.admin) as http:
        answer = await http.post("/api/v1/accounts/anyone/orders", json={**ORDER, **change})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"
    assert answer.json()["field"] == field, answer.text


async def test_a_placement_body_that_is_not_json_is_refused_with_400(stack: Stack) -> None:
    async with stack.client(stack.admin) as http:
        answer = await http.post(
            "/api/v1/accounts/anyone/orders",
            content=b"\x00",
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"


async def test_a_placement_is_refused_without_a_key_and_with_another_accounts_key(
    stack: Stack,
) -> None:
    other = await stack.account("other")
    async with stack.client() as http:
        missing = await http.post("/api/v1/accounts/owner/orders", json=ORDER)
    async with stack.client(other) as http:
        foreign = await http.post("/api/v1/accounts/owner/orders", json=ORDER)
        malformed = await http.post("/api/v1/accounts/owner/orders", json={"side": "buy"})
    assert missing.status_code == 401, missing.text
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert foreign.status_code == 403, foreign.text
    assert foreign.json()["code"] == "forbidden"
    assert malformed.status_code == 403, malformed.text  # the key is checked before the body


async def test_a_placement_the_account_refuses_keeps_the_accounts_code(stack: Stack) -> None:
    key = await stack.account("poor", cash="10")
    async with stack.client(key) as http:
        answer = await http.post(
            "/api/v1/accounts/poor/orders", json={**ORDER, "quantity": "5", "limit_price": "100"}
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "max_position_size", answer.text  # 500 of 10 in equity


async def test_a_malformed_placement_takes_one_token_of_the_keys_rate_limit(stack: Stack) -> None:
    key = await stack.account("counted")
    async with stack.client(key) as http:
        # 12 tokens: 8 malformed bodies (handed on to the route) and 4 placements; a request
        # handed on that took a second token would leave the last placements without one.
        malformed = [
            await http.post("/api/v1/accounts/counted/orders", json={**ORDER, "side": "up"})
            for _ in range(8)
        ]
        placed = [
            await http.post(
                "/api/v1/accounts/counted/orders", json={**ORDER, "order_id": f"counted-{n}"}
            )
            for n in range(4)
        ]
        metrics = (await http.get("/metrics")).text
    assert [a.status_code for a in malformed] == [400] * 8, [a.text for a in malformed]
    assert [a.status_code for a in placed] == [201] * 4, [a.text for a in placed]
    assert 'route="/api/v1/accounts/{account_id}/orders",status="201"' in metrics
