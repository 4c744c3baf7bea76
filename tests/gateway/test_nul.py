"""A NUL in any string a caller sends is refused at the edge with 400 naming the field, never a
500 from the database; the account is left as it was and keeps serving.

PostgreSQL stores no NUL (text and jsonb refuse ``\\u0000``): before the codec refused it, an
order id holding one reached portfolio's append and came back as a 500 carrying the database's
own words. Tried here from outside, as a client would: through the gateway (bodies, a path) and
straight to portfolio over NATS.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from papertape.contract.codec import Codec
from papertape.contract.events.envelope import Reply
from papertape.contract.events.portfolio import CommandResult
from tests.gateway.stack import BTC, Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ORDER = {"symbol": BTC, "side": "buy", "quantity": "1", "order_type": "limit", "limit_price": "1"}
replies: Codec[Reply[CommandResult]] = Codec(Reply[CommandResult])


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/accounts/nul/orders", {**ORDER, "order_id": "o\x001"}, "order_id"),  # lane
        ("/api/v1/accounts/nul/orders", {**ORDER, "client_order_id": "\x00"}, "client_order_id"),
        ("/api/v1/accounts/nul/orders", {**ORDER, "symbol": "BTC\x00USD"}, "symbol"),
        ("/api/v1/accounts/nul/deposit", {"amount": "1", "reference": "a\x00"}, "reference"),
        ("/api/v1/accounts/nul/halt", {"reason": "why\x00"}, "reason"),
        ("/api/v1/accounts", {"account_id": "nul2", "name": "N\x00"}, "name"),
        ("/api/v1/keys", {"account_id": "nul", "label": "\x00"}, "label"),
    ],
)
async def test_a_nul_in_a_body_is_refused_with_400_naming_the_field(
    stack: Stack, path: str, body: dict[str, Any], field: str
) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        before = await _versions(http)
        answer = await http.post(path, json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_request", answer.text
        assert answer.json()["field"] == field, answer.text
        assert "NUL" in answer.json()["message"]
        assert await _versions(http) == before  # nothing appended for it
        assert (await http.get("/api/v1/accounts/nul2")).status_code == 404


async def test_a_nul_in_a_path_is_refused_with_400_not_a_database_error(stack: Stack) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        answer = await http.get("/api/v1/accounts/nul/orders/o%001")
        assert answer.status_code == 400, answer.text
        assert "NUL" in answer.json()["message"]
        assert "Untranslatable" not in answer.text
        placed = await http.post("/api/v1/accounts/nul/orders", json=ORDER)  # still serving
        assert placed.status_code == 201, placed.text


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/accounts/nul/orders?symbol=BTC%00USD", "symbol"),
        ("/api/v1/accounts/nul/trades?symbol=%00", "symbol"),
        ("/api/v1/accounts/nul/activity?cursor=1%00", "cursor"),
        ("/api/v1/sessions?account_id=nul%00", "account_id"),
        ("/api/v1/sessions/compare?session_id=a&session_id=b%00", "session_id"),
        ("/api/v1/signals?strategy=x%00&symbol=BTCUSD", "strategy"),
        ("/api/v1/signals?symbol=%00", "symbol"),
        ("/api/v1/accounts/nul/orders?sym%00bol=x", "sym\\u0000bol"),  # an unknown one, too
        ("/api/v1/accounts/nul/orders/o%001", "order_id"),
        ("/api/v1/sessions/s%00", "session_id"),
    ],
)
async def test_a_nul_in_a_parameter_is_refused_with_400_naming_it(
    stack: Stack, path: str, field: str
) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        answer = await http.get(path)
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_request", answer.text
        assert answer.json()["field"] == field, answer.text
        assert "NUL" in answer.json()["message"]
        assert (await http.get("/api/v1/accounts/nul/orders?symbol=BTC")).status_code == 200


async def test_a_nul_in_a_parameter_is_refused_before_the_key_is_asked_for(stack: Stack) -> None:
    async with stack.client(None) as http:
        answer = await http.get("/api/v1/accounts/nul/orders?symbol=%00")
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == "symbol"


async def test_a_nul_sent_straight_to_portfolio_is_a_malformed_request_naming_it(
    stack: Stack,
) -> None:
    await _opened(stack)
    issued = datetime.now(UTC).isoformat()
    request = (
        f'{{"request_id":"r-nul","issued_at":"{issued}","actor":"test","body":{{'
        f'"type":"place_order.v1","account_id":"nul","order_id":"o\\u00002","symbol":"{BTC}",'
        '"side":"buy","quantity":"1","order_type":"limit","limit_price":"1"}}'
    )
    msg = await stack.nc.request(stack.subjects.portfolio_command(), request.encode(), timeout=10)
    reply = replies.decode(msg.data)
    assert not reply.ok
    assert reply.error_code == "malformed_request"
    assert reply.error is not None
    assert "`$.body.order_id`" in reply.error
    async with stack.client(stack.admin) as http:
        orders = (await http.get("/api/v1/accounts/nul/orders")).json()["items"]
    assert all("\x00" not in order["order_id"] for order in orders)


async def _opened(stack: Stack) -> None:
    async with stack.client(stack.admin) as http:
        if (await http.get("/api/v1/accounts/nul")).status_code == 404:
            await stack.account("nul")


async def _versions(http: Any) -> list[int]:
    activity = (await http.get("/api/v1/accounts/nul/activity")).json()
    items = activity["items"] if isinstance(activity, dict) else activity
    return [event["stream_version"] for event in items]
