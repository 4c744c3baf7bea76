"""A body nested thousands deep is bad input: 400 in the one error shape, not a 500, on the
placement lane and on an ordinary route alike."""

from __future__ import annotations

import pytest

from tests.gateway.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEEP = b'{"symbol": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"


@pytest.mark.parametrize(
    "path", ["/api/v1/accounts/anyone/orders", "/api/v1/accounts/anyone/deposit"]
)
async def test_a_body_nested_too_deeply_is_refused_with_400_not_500(
    stack: Stack, path: str
) -> None:
    async with stack.client(stack.admin) as http:
        answer = await http.post(path, content=DEEP, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"
