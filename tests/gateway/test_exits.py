"""Moving a position's exits over real HTTP: one decision of the account, which the venue follows.

The account cancels the old exits and places the new ones as one command (``MoveExits``): a
move it refuses leaves the old stop working, in the account and at the venue.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from papertape.contract import codec
from papertape.contract.events.envelope import Reply, Request
from papertape.contract.events.execution import GetWorkingOrders, WorkingOrders
from papertape.contract.ids import AccountId, Actor
from tests.gateway.stack import BTC, Stack
from tests.gateway.test_orders import until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BRACKET = {"symbol": BTC, "side": "buy", "quantity": "1", "stop_loss": "90", "take_profit": "120"}


async def _protected(stack: Stack, http: httpx.AsyncClient, account: str) -> list[dict[str, Any]]:
    """A long BTC position whose bracket's stop-loss and take-profit work; the working orders."""

    async def placed() -> Any:
        await stack.quote(BTC, "99.99", "100.01")
        answer = await http.post(f"/api/v1/accounts/{account}/orders", json=BRACKET)
        return answer if answer.status_code == 201 else None

    await until(placed)

    async def children_working() -> Any:
        await stack.quote(BTC, "99.99", "100.01")
        working = await _working(http, account)
        held = (await http.get(f"/api/v1/accounts/{account}/positions")).json()
        roles = sorted(o["role"] for o in working)
        return working if held and roles == ["stop_loss", "take_profit"] else None

    working: list[dict[str, Any]] = await until(children_working)
    return working


async def _working(http: httpx.AsyncClient, account: str) -> list[dict[str, Any]]:
    answer = await http.get(f"/api/v1/accounts/{account}/orders", params={"status": "working"})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def _at_the_venue(stack: Stack, account: str) -> set[str]:
    """The orders execution is working for the account."""
    request = Request(
        request_id=f"q-{uuid.uuid4().hex}",
        issued_at=datetime.now(UTC),
        actor=Actor("test"),
        body=GetWorkingOrders(account_id=AccountId(account)),
    )
    answer = await stack.nc.request(
        stack.subjects.execution_query("get_working_orders"), codec.encode(request), timeout=5
    )
    reply = msgspec.json.decode(answer.data, type=Reply[WorkingOrders])
    assert reply.ok, reply
    assert reply.result is not None
    return set(reply.result.orders.get(AccountId(account), []))


def _stop(orders: list[dict[str, Any]]) -> dict[str, Any]:
    (stop,) = [o for o in orders if o["role"] == "stop_loss" or o["order_type"] == "stop"]
    return stop


async def test_a_move_the_account_refuses_leaves_the_old_stop_working(stack: Stack) -> None:
    """A halted account refuses the new stop, so it keeps the old one: cancelling it first, as
    separate commands did, left the position with no stop at all."""
    key = await stack.account("halted")
    async with stack.client(key) as http:
        before = await _protected(stack, http, "halted")
        halted = await http.post("/api/v1/accounts/halted/halt", json={"reason": "desk closed"})
        assert halted.status_code in (200, 201), halted.text
        moved = await http.patch(
            f"/api/v1/accounts/halted/positions/{BTC}/exits",
            json={"stop_loss": "95", "take_profit": "110"},
        )
        assert moved.status_code == 422, moved.text
        assert moved.json()["code"] == "trading_halted", moved.text
        after = await _working(http, "halted")
        assert after == before
        assert Decimal(_stop(after)["stop_price"]) == 90
        venue = await until(lambda: _venue_has(stack, "halted", {o["order_id"] for o in before}))
        assert _stop(before)["order_id"] in venue


async def _venue_has(stack: Stack, account: str, orders: set[str]) -> set[str] | None:
    working = await _at_the_venue(stack, account)
    return working if working == orders else None


async def test_a_moved_stop_is_the_one_the_venue_works(stack: Stack) -> None:
    key = await stack.account("moved")
    async with stack.client(key) as http:
        before = await _protected(stack, http, "moved")
        moved = await http.patch(
            f"/api/v1/accounts/moved/positions/{BTC}/exits", json={"stop_loss": "95"}
        )
        assert moved.status_code == 200, moved.text
        after = await _working(http, "moved")
    old_stop, new_stop = _stop(before), _stop(after)
    assert moved.json() == {"cancelled": [old_stop["order_id"]], "placed": [new_stop["order_id"]]}
    assert (Decimal(new_stop["stop_price"]), new_stop["reduce_only"]) == (Decimal(95), True)
    expected = {o["order_id"] for o in after}
    assert old_stop["order_id"] not in expected
    await until(lambda: _venue_has(stack, "moved", expected))
