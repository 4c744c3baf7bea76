"""What the gateway refuses before a service sees it: too many requests, too large a body,
malformed input (naming the field); and what it answers when a service is silent: 503."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.gateway.stack import Stack, scratch_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest_asyncio.fixture(scope="module")
async def stack(nats_url: str, postgres_server_url: str) -> AsyncIterator[Stack]:
    """A gateway that lets a key make 10 requests at once and 2 a second after that."""
    limits = {"PAPERTAPE_RATE_PER_SECOND": "2", "PAPERTAPE_RATE_BURST": "10"}
    async with scratch_stack(nats_url, postgres_server_url, limits) as running:
        yield running


async def test_a_key_over_its_rate_gets_429_with_retry_after(stack: Stack) -> None:
    key = await stack.account("hasty")
    async with stack.client(key) as http:
        answers = await asyncio.gather(*(http.get("/api/v1/accounts/hasty") for _ in range(20)))
    statuses = [a.status_code for a in answers]
    limited = [a for a in answers if a.status_code == 429]
    assert 10 <= statuses.count(200) <= 12, statuses
    assert len(limited) >= 8, statuses
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert limited[0].json()["code"] == "rate_limited"


async def test_a_body_over_the_cap_is_refused_with_413(stack: Stack) -> None:
    async with stack.client(stack.admin) as http:
        answer = await http.post(
            "/api/v1/accounts", json={"account_id": "big", "name": "x" * 100_000}
        )
    assert answer.status_code == 413, answer.text
    assert answer.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"account_id": "ok", "name": "x", "initial_cash": "-1"}, "initial_cash"),
        ({"account_id": "no.dots", "name": "x"}, "account_id"),
        ({"account_id": "ok", "name": "x", "initial_cash": "NaN"}, "initial_cash"),
        ({"account_id": "ok", "name": "x", "surprise": 1}, "surprise"),
        ({"name": "x"}, "account_id"),
    ],
)
async def test_a_malformed_body_is_refused_with_400_naming_the_field(
    stack: Stack, body: dict[str, object], field: str
) -> None:
    async with stack.client(stack.admin) as http:
        answer = await http.post("/api/v1/accounts", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"
    assert answer.json()["field"] == field, answer.text


async def test_a_service_that_does_not_answer_gives_503_with_retry_after(stack: Stack) -> None:
    async with stack.client(stack.admin) as http:
        answer = await http.get("/api/v1/market/instruments")  # market-data is not running
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "service_unavailable"
    assert int(answer.headers["Retry-After"]) >= 1
