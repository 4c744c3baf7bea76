"""Dead letters through the gateway: the operator reads every service's, newest first, with the
reasons; nobody else may."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.gateway.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def letters(http: httpx.AsyncClient, count: int, **params: Any) -> dict[str, Any]:
    """The answer once it holds ``count`` letters (the service dead-letters asynchronously)."""
    for _ in range(100):
        answer = await http.get("/api/v1/deadletters", params=params)
        assert answer.status_code == 200, answer.text
        if len(answer.json()["letters"]) >= count:
            return dict(answer.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} dead letters")


async def test_the_operator_reads_the_dead_letters_of_every_service_with_their_reasons(
    stack: Stack,
) -> None:
    for index in range(3):
        payload = f'{{"nope": "<b>{index}</b>"}}'.encode()
        reply = await stack.nc.request(stack.subjects.portfolio_command(), payload, timeout=10)
        assert b"malformed_request" in reply.data
    async with stack.client(stack.admin) as http:
        page = await letters(http, 3)
        newest = page["letters"][0]
        assert newest["service"] == "portfolio"
        assert newest["subject"] == stack.subjects.portfolio_command()
        assert newest["reason"].startswith("malformed")
        assert newest["payload"] == '{"nope": "<b>2</b>"}'
        sequences = [letter["sequence"] for letter in page["letters"]]
        assert sequences == sorted(sequences, reverse=True)
        assert page["stored"] >= 3
        one = await http.get("/api/v1/deadletters", params={"limit": 1})
        assert [letter["sequence"] for letter in one.json()["letters"]] == sequences[:1]
        others = await http.get("/api/v1/deadletters", params={"service": "execution"})
        assert others.status_code == 200
        assert all(letter["service"] == "execution" for letter in others.json()["letters"])
        bad = await http.get("/api/v1/deadletters", params={"service": "no.such"})
        assert bad.status_code == 400, bad.text
        assert bad.json()["field"] == "service"


async def test_an_accounts_key_may_not_read_dead_letters(stack: Stack) -> None:
    key = await stack.account("letters")
    async with stack.client(key) as http:
        answer = await http.get("/api/v1/deadletters")
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "forbidden"
