"""Bad input from outside, as an attacker or a buggy client sends it: refused with a 4xx that
names the field, and nothing it meant to change is changed.

Found by trying the write routes over real HTTP: a misspelt field of a body that is a contract
struct (limits, a cost schedule, a session, a notification rule) was ignored, so a PUT set the
field it meant back to its default; a JSON number past a float's range (``1e400``) was refused
naming no field; an order off the tick or the lot was refused naming none; an expiry given in
another offset was kept in the log in that offset; an order id holding ``/`` was placed, and then
could be neither read nor cancelled (no path parameter carries a ``/``).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.gateway.stack import BTC, Stack
from tests.gateway.test_orders import until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACCOUNT = "/api/v1/accounts/bad"
ORDER = {"symbol": BTC, "side": "buy", "quantity": "1", "order_type": "limit", "limit_price": "99"}
OPEN_BIG = '{"account_id":"b2","name":"b","initial_cash":1e400}'
SESSION = {"session_id": "s1", "account_id": "bad", "strategy": "donchian_breakout"}


async def _opened(stack: Stack) -> None:
    async with stack.client(stack.admin) as http:
        if (await http.get(ACCOUNT)).status_code == 404:
            await stack.account("bad")


async def _versions(http: httpx.AsyncClient) -> list[int]:
    activity = (await http.get(f"{ACCOUNT}/activity")).json()
    return [event["stream_version"] for event in activity["items"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", f"{ACCOUNT}/limits", {"max_position_percent": "50"}, "max_position_percent"),
        ("PUT", f"{ACCOUNT}/costs", {"assetclasses": {"crypto": {"bps": "5"}}}, "assetclasses"),
        ("PUT", f"{ACCOUNT}/costs", {"instruments": {BTC: {"bsp": "5"}}}, "bsp"),
        (
            "POST",
            "/api/v1/sessions",
            {**SESSION, "symbols": [BTC], "overrides": {"quantiy": "3"}},
            "quantiy",
        ),
        ("POST", "/api/v1/sessions", {**SESSION, "symbol": BTC, "symbols": [BTC]}, "symbol"),
        (
            "PUT",
            "/api/v1/notifications/bad/rules/r1",
            {"happenings": ["fill"], "endpoint": ["hook"]},
            "endpoint",
        ),
        (
            "PUT",
            "/api/v1/notifications/bad/endpoints/hook",
            {"kind": "webhook", "url": "https://example.com/h", "secrett": "x" * 16},
            "secrett",
        ),
    ],
)
async def test_an_unknown_field_of_a_body_is_refused_naming_it(
    stack: Stack, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        before = await _versions(http)
        answer = await http.request(method, path, json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_request", answer.text
        assert answer.json()["field"] == field, answer.text
        assert await _versions(http) == before  # the limits and costs are as they were


async def test_a_body_of_the_contracts_own_shape_still_sets_what_it_names(stack: Stack) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        limits = await http.put(f"{ACCOUNT}/limits", json={"max_position_pct": "50"})
        assert limits.status_code == 200, limits.text
        assert (await http.get(f"{ACCOUNT}/limits")).json()["max_position_pct"] == "50.00"
        schedule = {"instruments": {BTC: {"bps": "5", "slippage_bps": "1"}}}
        costs = await http.put(f"{ACCOUNT}/costs", json=schedule)
        assert costs.status_code == 200, costs.text
        terms = (await http.get(f"{ACCOUNT}/costs")).json()["instruments"][BTC]
        assert (terms["bps"], terms["slippage_bps"]) == ("5", "1")


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "POST",
            f"{ACCOUNT}/orders",
            '{"symbol":"BTCUSD","side":"buy","quantity":1e400}',
            "quantity",
        ),
        ("POST", f"{ACCOUNT}/deposit", '{"amount":1e400}', "amount"),
        ("POST", "/api/v1/accounts", OPEN_BIG, "initial_cash"),
        ("PUT", f"{ACCOUNT}/limits", '{"max_position_pct":-1e400}', "max_position_pct"),
        ("PUT", f"{ACCOUNT}/costs", '{"instruments":{"BTCUSD":{"bps":1e400}}}', "bps"),
    ],
)
async def test_a_number_past_a_floats_range_is_refused_naming_the_field(
    stack: Stack, method: str, path: str, body: str, field: str
) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        before = await _versions(http)
        answer = await http.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == field, answer.text
        assert "1E+400" in answer.json()["message"], answer.text
        assert await _versions(http) == before
        assert (await http.get("/api/v1/accounts/b2")).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"limit_price": "99.001"}, "limit_price"),
        ({"quantity": "0.0000001"}, "quantity"),
        ({"stop_loss": "99"}, "stop_loss"),
        ({"take_profit": "98"}, "take_profit"),
        ({"time_in_force": "gtd", "expire_at": "2020-01-01T00:00:00Z"}, "expire_at"),
    ],
)
async def test_an_order_the_account_refuses_for_one_field_names_it(
    stack: Stack, change: dict[str, str], field: str
) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        answer = await http.post(f"{ACCOUNT}/orders", json={**ORDER, **change})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid_order", answer.text
    assert answer.json()["field"] == field, answer.text


async def test_an_expiry_given_in_another_offset_is_logged_in_utc(stack: Stack) -> None:
    await _opened(stack)
    order = {**ORDER, "time_in_force": "gtd", "expire_at": "2030-01-01T10:00:00+14:00"}
    async with stack.client(stack.admin) as http:
        placed = await http.post(f"{ACCOUNT}/orders", json=order)
        assert placed.status_code == 201, placed.text
        event = placed.json()["events"][0]["data"]
        assert event["expire_at"] == "2029-12-31T20:00:00Z"
        activity = (await http.get(f"{ACCOUNT}/activity")).json()["items"]
        logged = [e["data"] for e in activity if e["data"].get("order_id") == event["order_id"]]
        assert logged[0]["expire_at"] == "2029-12-31T20:00:00Z"


@pytest.mark.parametrize("order_id", ["a/b", "a\nb", "/"])
async def test_an_order_id_no_path_can_carry_is_refused(stack: Stack, order_id: str) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        before = await _versions(http)
        answer = await http.post(f"{ACCOUNT}/orders", json={**ORDER, "order_id": order_id})
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == "order_id", answer.text
        assert await _versions(http) == before


async def test_an_order_id_with_dots_or_letters_beyond_ascii_is_read_and_cancelled_by_path(
    stack: Stack,
) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        placed = await http.post(f"{ACCOUNT}/orders", json={**ORDER, "order_id": "a.b-ü"})
        assert placed.status_code == 201, placed.text
        assert (await http.get(f"{ACCOUNT}/orders/a.b-%C3%BC")).status_code == 200
        assert (await http.delete(f"{ACCOUNT}/orders/a.b-%C3%BC")).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", f"{ACCOUNT}/deposit"), ("POST", f"{ACCOUNT}/orders"), ("PUT", f"{ACCOUNT}/limits")],
)
async def test_a_request_without_the_body_it_needs_is_told_so(
    stack: Stack, method: str, path: str
) -> None:
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        answer = await http.request(method, path, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == "the request has no body: a JSON object is expected"


@pytest.mark.parametrize(
    ("exits", "field"),
    [
        ({"stop_loss": "200"}, "stop_loss"),
        ({"stop_loss": "100"}, "stop_loss"),
        ({"take_profit": "50"}, "take_profit"),
        ({"stop_loss": "95", "take_profit": "95"}, "take_profit"),
    ],
)
async def test_an_exit_moved_to_the_wrong_side_of_the_mark_is_refused(
    stack: Stack, exits: dict[str, str], field: str
) -> None:
    """A long's stop-loss above the market is no exit: the next quote would close the position."""
    await _opened(stack)
    await stack.quote(BTC, "100", "100")
    async with stack.client(stack.admin) as http:
        if not (await http.get(f"{ACCOUNT}/positions")).json():
            bought = {"symbol": BTC, "side": "buy", "quantity": "1", "stop_loss": "90"}
            assert (await http.post(f"{ACCOUNT}/orders", json=bought)).status_code == 201
        await until(lambda: _held(stack, http))
        working = (await http.get(f"{ACCOUNT}/orders?status=working")).json()["items"]
        answer = await http.patch(f"{ACCOUNT}/positions/{BTC}/exits", json=exits)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "invalid_order", answer.text
        assert answer.json()["field"] == field, answer.text
        assert (await http.get(f"{ACCOUNT}/orders?status=working")).json()["items"] == working
        moved = await http.patch(f"{ACCOUNT}/positions/{BTC}/exits", json={"stop_loss": "95"})
        assert moved.status_code == 200, moved.text  # the right side moves as before


async def _held(stack: Stack, http: httpx.AsyncClient) -> bool:
    """The account holds BTC marked at 100 (a quote each time: execution fills on the next)."""
    await stack.quote(BTC, "100", "100")
    positions = (await http.get(f"{ACCOUNT}/positions")).json()
    return bool(positions) and positions[0]["mark"] == "100.00"


async def test_a_cost_entry_for_no_symbol_is_refused(stack: Stack) -> None:
    """A schedule's instrument key is a symbol (1-200 characters), not 10,000 in the log."""
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        before = await _versions(http)
        schedule = {"instruments": {"X" * 201: {"bps": "5"}}}
        answer = await http.put(f"{ACCOUNT}/costs", json=schedule)
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == "instruments", answer.text
        assert await _versions(http) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/accounts", {"account_id": "esc1", "name": "a\nb\tc\x1b[31m"}, "name"),
        ("/api/v1/accounts", {"account_id": "esc2", "name": "gnp\u202eusd"}, "name"),
        ("/api/v1/keys", {"account_id": "bad", "label": "\x1b]0;pwn\x07"}, "label"),
        (f"{ACCOUNT}/deposit", {"amount": "1", "reference": "line\nbreak"}, "reference"),
        (f"{ACCOUNT}/halt", {"reason": "\x1b[2J"}, "reason"),
    ],
)
async def test_a_name_or_label_that_would_print_as_something_else_is_refused(
    stack: Stack, path: str, body: dict[str, Any], field: str
) -> None:
    # A terminal escape or a bidirectional override kept in the log would be replayed into an
    # auditor's terminal or the dashboard as something other than what it is.
    await _opened(stack)
    async with stack.client(stack.admin) as http:
        before = await _versions(http)
        answer = await http.post(path, json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == field, answer.text
        assert await _versions(http) == before
        if path == "/api/v1/accounts":
            assert (await http.get(f"{path}/{body['account_id']}")).status_code == 404
        fine = await http.post(
            f"{ACCOUNT}/deposit", json={"amount": "1", "reference": "ünïcode ok"}
        )
        assert fine.status_code in (200, 201), fine.text


@pytest.mark.parametrize(
    ("exits", "field"),
    [
        ({"stop_loss": "95.001"}, "stop_loss"),
        ({"take_profit": "105.001"}, "take_profit"),
        ({"stop_loss": "95", "take_profit": "105.001"}, "take_profit"),
    ],
)
async def test_an_exit_moved_off_the_tick_is_refused_naming_the_requests_field(
    stack: Stack, exits: dict[str, str], field: str
) -> None:
    """The refusal names the field the caller sent, not the exit order's ``stop_price`` or
    ``limit_price``, and the exits being moved are still working."""
    await _opened(stack)
    await stack.quote(BTC, "100", "100")
    async with stack.client(stack.admin) as http:
        if not (await http.get(f"{ACCOUNT}/positions")).json():
            bought = {"symbol": BTC, "side": "buy", "quantity": "1", "stop_loss": "90"}
            assert (await http.post(f"{ACCOUNT}/orders", json=bought)).status_code == 201
        await until(lambda: _held(stack, http))
        working = (await http.get(f"{ACCOUNT}/orders?status=working")).json()["items"]
        answer = await http.patch(f"{ACCOUNT}/positions/{BTC}/exits", json=exits)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "invalid_order", answer.text
        assert answer.json()["field"] == field, answer.text
        assert answer.json()["message"].startswith(f"{field} {exits[field]} "), answer.text
        assert (await http.get(f"{ACCOUNT}/orders?status=working")).json()["items"] == working
