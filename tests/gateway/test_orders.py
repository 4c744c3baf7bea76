"""Orders through real HTTP: open an account, place, fill and cancel; a retry places once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from tests.gateway.stack import BTC, Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def until(check: Any, seconds: float = 30.0) -> Any:
    for _ in range(int(seconds / 0.1)):
        if result := await check():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def test_an_account_opened_through_the_gateway_places_fills_and_cancels_orders(
    stack: Stack,
) -> None:
    key = await stack.account("trader")
    await stack.quote(BTC, "99.99", "100.01")
    async with stack.client(key) as http:
        await until(lambda: _marked(http))
        placed = await http.post(
            "/api/v1/accounts/trader/orders",
            json={"symbol": BTC, "side": "buy", "quantity": "2"},
        )
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["events"][0]["data"]["order_id"]
        await stack.quote(BTC, "99.99", "100.01")  # the venue fills on the next quote

        async def filled() -> Any:
            await stack.quote(BTC, "99.99", "100.01")
            detail = await http.get(f"/api/v1/accounts/trader/orders/{order_id}")
            return detail.json() if detail.json()["status"] == "filled" else None

        detail = await until(filled)
        assert Decimal(detail["fills"][0]["quantity"]) == 2
        positions = (await http.get("/api/v1/accounts/trader/positions")).json()
        assert [(p["symbol"], Decimal(p["quantity"])) for p in positions] == [(BTC, Decimal(2))]

        limit = await http.post(
            "/api/v1/accounts/trader/orders",
            json={
                "symbol": BTC,
                "side": "buy",
                "quantity": "1",
                "order_type": "limit",
                "limit_price": "50",
            },
        )
        assert limit.status_code == 201, limit.text
        limit_id = limit.json()["events"][0]["data"]["order_id"]
        working = (await http.get("/api/v1/accounts/trader/orders")).json()
        assert [o["order_id"] for o in working] == [limit_id]
        cancelled = await http.delete(f"/api/v1/accounts/trader/orders/{limit_id}")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["events"][0]["data"]["type"] == "order_cancelled.v1"
        assert (await http.get("/api/v1/accounts/trader/orders")).json() == []
        detail = (await http.get(f"/api/v1/accounts/trader/orders/{limit_id}")).json()
        assert detail["status"] == "cancelled"

        closed = await http.post(f"/api/v1/accounts/trader/positions/{BTC}/close", json={})
        assert closed.status_code == 201, closed.text

        async def flat() -> Any:
            await stack.quote(BTC, "99.99", "100.01")
            return (await http.get("/api/v1/accounts/trader/positions")).json() == []

        await until(flat)
        trades = (await http.get("/api/v1/accounts/trader/trades", params={"side": "buy"})).json()
        assert len(trades["items"]) == 1
        assert trades["items"][0]["exit_reason"] == "manual"
        csv = await http.get("/api/v1/accounts/trader/trades/csv")
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.count("\n") == 2


async def test_a_retried_placement_with_the_same_client_order_id_places_one_order(
    stack: Stack,
) -> None:
    key = await stack.account("retrier")
    await stack.quote(BTC, "99.99", "100.01")
    order = {
        "symbol": BTC,
        "side": "buy",
        "quantity": "1",
        "order_type": "limit",
        "limit_price": "10",
        "client_order_id": "mine-1",
    }
    async with stack.client(key) as http:
        await until(lambda: _marked(http, "retrier"))
        answers = await asyncio.gather(
            *(http.post("/api/v1/accounts/retrier/orders", json=order) for _ in range(5))
        )
        again = await http.post("/api/v1/accounts/retrier/orders", json=order)
        working = (await http.get("/api/v1/accounts/retrier/orders")).json()

    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    first = next(a for a in answers if a.status_code == 201).json()
    assert all(a.json()["events"] == first["events"] for a in [*answers, again])
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [o["client_order_id"] for o in working] == ["mine-1"]


async def _marked(http: Any, account: str = "trader") -> bool:
    """The portfolio has a price for BTC (a market order's risk check needs one)."""
    probe = await http.post(
        f"/api/v1/accounts/{account}/orders",
        json={
            "symbol": BTC,
            "side": "buy",
            "quantity": "1",
            "order_type": "limit",
            "limit_price": "1",
            "client_order_id": "probe",
        },
    )
    if probe.status_code not in (200, 201):
        return False
    order_id = probe.json()["events"][0]["data"]["order_id"]
    await http.delete(f"/api/v1/accounts/{account}/orders/{order_id}")
    return True


async def test_a_positions_stop_loss_is_moved_by_cancel_and_replace(stack: Stack) -> None:
    key = await stack.account("mover")
    order = {"symbol": BTC, "side": "buy", "quantity": "1", "stop_loss": "90", "take_profit": "120"}
    async with stack.client(key) as http:

        async def placed() -> Any:
            await stack.quote(BTC, "99.99", "100.01")
            answer = await http.post("/api/v1/accounts/mover/orders", json=order)
            return answer if answer.status_code == 201 else None

        await until(placed)

        async def children_working() -> Any:
            await stack.quote(BTC, "99.99", "100.01")
            working = (await http.get("/api/v1/accounts/mover/orders")).json()
            roles = sorted(o["role"] for o in working)
            return working if roles == ["stop_loss", "take_profit"] else None

        before = await until(children_working)
        moved = await http.patch(
            f"/api/v1/accounts/mover/positions/{BTC}/exits", json={"stop_loss": "95"}
        )
        assert moved.status_code == 200, moved.text
        after = (await http.get("/api/v1/accounts/mover/orders")).json()

    old_stop = next(o for o in before if o["role"] == "stop_loss")
    assert moved.json()["cancelled"] == [old_stop["order_id"]]
    stops = [o for o in after if o["order_type"] == "stop"]
    assert [(Decimal(o["stop_price"]), o["reduce_only"]) for o in stops] == [(Decimal(95), True)]
    assert [o["role"] for o in after if o["order_type"] == "limit"] == ["take_profit"]
