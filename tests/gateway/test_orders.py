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
        working = await _working(http, "trader")
        assert [o["order_id"] for o in working] == [limit_id]
        cancelled = await http.delete(f"/api/v1/accounts/trader/orders/{limit_id}")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["events"][0]["data"]["type"] == "order_cancelled.v1"
        assert await _working(http, "trader") == []
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
        working = await _working(http, "retrier")

    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    first = next(a for a in answers if a.status_code == 201).json()
    assert all(a.json()["events"] == first["events"] for a in [*answers, again])
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [o["client_order_id"] for o in working] == ["mine-1"]


async def _working(http: Any, account: str) -> list[dict[str, Any]]:
    """The account's working orders (the order list filtered by status)."""
    answer = await http.get(f"/api/v1/accounts/{account}/orders", params={"status": "working"})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


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
            working = await _working(http, "mover")
            roles = sorted(o["role"] for o in working)
            return working if roles == ["stop_loss", "take_profit"] else None

        before = await until(children_working)
        moved = await http.patch(
            f"/api/v1/accounts/mover/positions/{BTC}/exits", json={"stop_loss": "95"}
        )
        assert moved.status_code == 200, moved.text
        after = await _working(http, "mover")

    old_stop = next(o for o in before if o["role"] == "stop_loss")
    assert moved.json()["cancelled"] == [old_stop["order_id"]]
    stops = [o for o in after if o["order_type"] == "stop"]
    assert [(Decimal(o["stop_price"]), o["reduce_only"]) for o in stops] == [(Decimal(95), True)]
    assert [o["role"] for o in after if o["order_type"] == "limit"] == ["take_profit"]


async def test_every_order_is_listed_with_filters_and_pages_and_one_shows_its_fills(
    stack: Stack,
) -> None:
    key = await stack.account("lister")
    await stack.quote(BTC, "99.99", "100.01")
    path = "/api/v1/accounts/lister/orders"
    async with stack.client(key) as http:
        await until(lambda: _marked(http, "lister"))  # one order placed and cancelled
        bought = await http.post(path, json={"symbol": BTC, "side": "buy", "quantity": "2"})
        assert bought.status_code == 201, bought.text
        market_id = bought.json()["events"][0]["data"]["order_id"]

        async def filled() -> Any:
            await stack.quote(BTC, "99.99", "100.01")
            detail = (await http.get(f"{path}/{market_id}")).json()
            return detail if detail["status"] == "filled" else None

        detail = await until(filled)
        resting = {"symbol": BTC, "side": "buy", "quantity": "1", "order_type": "limit"}
        working = await http.post(path, json={**resting, "limit_price": "20"})
        assert working.status_code == 201, working.text
        refused = await http.post(path, json={**resting, "limit_price": "20", "quantity": "1e9"})
        assert refused.status_code == 422, refused.text
        everything = (await http.get(path)).json()
        by_status = {
            status: [
                o["order_id"]
                for o in (await http.get(path, params={"status": status})).json()["items"]
            ]
            for status in ("working", "filled", "cancelled", "rejected")
        }
        limits = (await http.get(path, params={"order_type": "limit", "side": "buy"})).json()
        sells = (await http.get(path, params={"side": "sell"})).json()
        first = (await http.get(path, params={"limit": 2})).json()
        rest = (await http.get(path, params={"limit": 2, "cursor": first["next_cursor"]})).json()
        later = (await http.get(path, params={"since": detail["order"]["placed_at"]})).json()
        naive = await http.get(path, params={"since": "2026-01-01T00:00:00"})
        unknown = await http.get(f"{path}/no-such-order")

    assert everything["total"] == 4
    statuses = [o["status"] for o in everything["items"]]
    assert statuses == ["rejected", "working", "filled", "cancelled"]  # newest first
    assert by_status["filled"] == [market_id]
    assert len(by_status["working"]) == len(by_status["cancelled"]) == 1
    assert len(by_status["rejected"]) == 1
    assert limits["total"] == 2  # the probe and the resting limit (a refusal has no type)
    assert sells["items"] == []
    assert [o["order_id"] for o in first["items"] + rest["items"]] == [
        o["order_id"] for o in everything["items"]
    ]
    assert rest["next_cursor"] is None
    assert later["total"] == 3
    assert naive.status_code == 400
    assert naive.json()["field"] == "since"
    assert unknown.status_code == 404, unknown.text
    assert Decimal(detail["order"]["filled_quantity"]) == 2
    assert detail["order"]["fills"] == len(detail["fills"]) >= 1
    assert Decimal(detail["order"]["average_price"]) > 0
