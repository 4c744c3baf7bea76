"""Bot sessions through the gateway: start, status, signals, pause, resume, stop, and who may.

The gateway runs with portfolio, execution and the signal service as processes; the test
publishes the bars a session's strategy reads, as market-data would.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets

from tests.gateway.stack import SERVICES, Stack, running_stack
from tests.signals.test_service import bar, publish_bar

pytestmark = [pytest.mark.integration]


@pytest_asyncio.fixture(scope="module")
async def stack(nats_url: str, postgres_server_url: str) -> AsyncIterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="papertape-gateway-") as folder:
        async with running_stack(
            nats_url, postgres_server_url, Path(folder), services=("signals", *SERVICES)
        ) as running:
            yield running


@pytest_asyncio.fixture(scope="module")
async def keys(stack: Stack) -> dict[str, str]:
    """Trade keys of alice and bob, and a read key of alice."""
    alice, bob = await stack.account("alice"), await stack.account("bob")
    async with stack.client(stack.admin) as http:
        issued = await http.post("/api/v1/keys", json={"account_id": "alice", "scopes": ["read"]})
        assert issued.status_code == 201, issued.text
    return {"alice": alice, "bob": bob, "alice_read": str(issued.json()["key"])}


def start_body(session_id: str, account_id: str = "alice") -> dict[str, Any]:
    return {
        "session_id": session_id,
        "account_id": account_id,
        "strategy": "donchian_breakout",
        "parameters": {"period": 5, "exit_period": 3, "atr_period": 3, "volatility_period": 3},
        "symbols": ["AAPL"],
        "overrides": {"min_confidence": 0, "sizing": "fixed_quantity", "quantity": "3"},
    }


async def signals_of(http: httpx.AsyncClient, session_id: str, count: int) -> dict[str, Any]:
    """The session's signal page once it holds ``count`` signals (within 30 s)."""
    for _ in range(300):
        page = await http.get("/api/v1/signals", params={"session_id": session_id})
        assert page.status_code == 200, page.text
        if page.json()["total"] >= count:
            return dict(page.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"{session_id} never had {count} signals")


async def test_strategies_are_listed_with_their_parameter_schemas(
    stack: Stack, keys: dict[str, str]
) -> None:
    async with stack.client(keys["alice_read"]) as http:
        answer = await http.get("/api/v1/strategies")
    assert answer.status_code == 200, answer.text
    by_name = {s["name"]: s for s in answer.json()}
    assert "donchian_breakout" in by_name
    donchian = by_name["donchian_breakout"]
    assert "period" in str(donchian["parameters_schema"])
    assert "period" in donchian["defaults"]


async def test_a_session_started_through_the_gateway_signals_pauses_resumes_and_stops(
    stack: Stack, keys: dict[str, str]
) -> None:
    async with stack.client(keys["alice"]) as http:
        started = await http.post("/api/v1/sessions", json=start_body("gw-bot-1"))
        assert started.status_code == 201, started.text
        assert started.json()["status"] == "RUNNING"
        assert started.json()["account_id"] == "alice"
        for i in range(4):
            await publish_bar(stack.nc, stack.subjects, bar(i, "100.00"))
        page = await signals_of(http, "gw-bot-1", 4)
        assert all(s["session_id"] == "gw-bot-1" for s in page["signals"])
        times = [s["ts"] for s in page["signals"]]
        assert times == sorted(times, reverse=True)  # newest first
        paged = await http.get("/api/v1/signals", params={"session_id": "gw-bot-1", "limit": 1})
        assert len(paged.json()["signals"]) == 1
        assert paged.json()["total"] >= 4
        none = await http.get(
            "/api/v1/signals", params={"session_id": "gw-bot-1", "min_confidence": 100}
        )
        assert none.status_code == 200
        assert all(s["confidence"] >= 100 for s in none.json()["signals"])
        status = await http.get("/api/v1/sessions/gw-bot-1")
        assert status.status_code == 200
        assert sum(status.json()["signals"].values()) >= 4
        paused = await http.post("/api/v1/sessions/gw-bot-1/pause", json={"reason": "lunch"})
        assert paused.status_code == 201, paused.text
        assert paused.json()["status"] == "PAUSED"
        resumed = await http.post("/api/v1/sessions/gw-bot-1/resume")
        assert resumed.status_code == 201, resumed.text
        assert resumed.json()["status"] == "RUNNING"
        listed = await http.get("/api/v1/sessions", params={"account_id": "alice"})
        assert [v["session_id"] for v in listed.json()] == ["gw-bot-1"]
        compared = await http.get("/api/v1/sessions/compare", params={"session_ids": "gw-bot-1"})
        assert compared.status_code == 200
        assert len(compared.json()) == 1
        calibration = await http.get("/api/v1/signals/calibration")
        assert calibration.status_code == 200, calibration.text
        stopped = await http.post("/api/v1/sessions/gw-bot-1/stop", json={"reason": "done"})
        assert stopped.status_code == 201, stopped.text
        assert stopped.json()["status"] == "STOPPED"
        again = await http.post("/api/v1/sessions/gw-bot-1/resume")
        assert again.status_code == 422, again.text
        assert set(again.json()) == {"code", "message", "field"}
        unknown = await http.get("/api/v1/sessions/no-such-bot")
        assert unknown.status_code == 404
        assert unknown.json()["code"] == "unknown_session"


async def test_another_accounts_key_is_refused_on_every_session_route(
    stack: Stack, keys: dict[str, str]
) -> None:
    async with stack.client(keys["alice"]) as http:
        started = await http.post("/api/v1/sessions", json=start_body("gw-bot-2"))
        assert started.status_code == 201, started.text
    calls = [
        ("post", "/api/v1/sessions", start_body("gw-bot-3")),
        ("get", "/api/v1/sessions/gw-bot-2", None),
        ("get", "/api/v1/sessions?account_id=alice", None),
        ("get", "/api/v1/sessions/compare?session_ids=gw-bot-2", None),
        ("get", "/api/v1/signals?session_id=gw-bot-2", None),
        ("get", "/api/v1/signals", None),
        ("post", "/api/v1/sessions/gw-bot-2/pause", {}),
        ("post", "/api/v1/sessions/gw-bot-2/resume", None),
        ("post", "/api/v1/sessions/gw-bot-2/stop", {}),
    ]
    async with stack.client(keys["bob"]) as bob, stack.client() as anonymous:
        for method, path, body in calls:
            refused = await bob.request(method, path, json=body)
            assert refused.status_code == 403, (path, refused.text)
            assert refused.json()["code"] == "forbidden"
            missing = await anonymous.request(method, path, json=body)
            assert missing.status_code == 401, (path, missing.text)
        mine = await bob.get("/api/v1/sessions")
        assert mine.status_code == 200
        assert mine.json() == []
    async with stack.client(keys["alice"]) as http:
        status = await http.get("/api/v1/sessions/gw-bot-2")
        assert status.json()["status"] == "RUNNING"  # bob's pause and stop changed nothing


async def test_a_read_key_reads_sessions_but_may_not_start_or_control_them(
    stack: Stack, keys: dict[str, str]
) -> None:
    async with stack.client(keys["alice"]) as http:
        started = await http.post("/api/v1/sessions", json=start_body("gw-bot-4"))
        assert started.status_code == 201, started.text
    async with stack.client(keys["alice_read"]) as http:
        assert (await http.get("/api/v1/sessions/gw-bot-4")).status_code == 200
        refused = await http.post("/api/v1/sessions", json=start_body("gw-bot-5"))
        assert refused.status_code == 403, refused.text
        paused = await http.post("/api/v1/sessions/gw-bot-4/pause", json={})
        assert paused.status_code == 403, paused.text
    async with stack.client(stack.admin) as http:
        every = await http.get("/api/v1/sessions")
        assert {"gw-bot-2", "gw-bot-4"} <= {v["session_id"] for v in every.json()}


async def test_a_malformed_start_is_refused_naming_the_field(
    stack: Stack, keys: dict[str, str]
) -> None:
    body = {**start_body("gw-bot-6"), "symbols": []}
    async with stack.client(keys["alice"]) as http:
        answer = await http.post("/api/v1/sessions", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"
    assert answer.json()["field"] == "symbols"


async def test_a_start_on_an_account_never_opened_is_404_naming_the_account(
    stack: Stack, keys: dict[str, str]
) -> None:
    async with stack.client(stack.admin) as http:  # the operator's key reaches every account
        refused = await http.post("/api/v1/sessions", json=start_body("gw-ghost", "ghost"))
        assert refused.status_code == 404, refused.text
        assert refused.json()["code"] == "unknown_account"
        assert "'ghost'" in refused.json()["message"]
        unknown = await http.get("/api/v1/sessions/gw-ghost")  # nothing was recorded
        assert unknown.status_code == 404, unknown.text
        assert unknown.json()["code"] == "unknown_session"


async def _next(ws: Any, kind: str, session_id: str | None = None) -> dict[str, Any]:
    """The next message of type ``kind`` (of ``session_id``, if given; others pass by)."""
    async with asyncio.timeout(30):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] == kind and session_id in (None, message.get("session_id")):
                return message


async def _following(ws: Any, account_id: str, *channels: str) -> None:
    await _next(ws, "connection_confirmed")
    for channel in channels:
        await ws.send(
            json.dumps({"type": "subscribe", "channel": channel, "account_id": account_id})
        )
        await _next(ws, "subscribed")


async def test_a_sessions_decisions_and_status_reach_its_accounts_sockets_alone(
    stack: Stack, keys: dict[str, str]
) -> None:
    def headers(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[who]}"}

    async with (
        websockets.connect(stack.ws_url, additional_headers=headers("alice_read")) as alice,
        websockets.connect(stack.ws_url, additional_headers=headers("bob")) as bob,
        stack.client(keys["alice"]) as http,
    ):
        await _following(alice, "alice", "signals", "sessions")
        await _following(bob, "bob", "signals", "sessions")
        for channel in ("signals", "sessions"):  # bob's key may not follow alice's channels
            await bob.send(
                json.dumps({"type": "subscribe", "channel": channel, "account_id": "alice"})
            )
            refused = await _next(bob, "error")
            assert (refused["code"], refused["field"]) == ("forbidden", "account_id")
        # A session started after the gateway is up, so the gateway learns of it live.
        started = await http.post("/api/v1/sessions", json=start_body("ws-bot"))
        assert started.status_code == 201, started.text
        running = await _next(alice, "session_update", "ws-bot")
        await stack.quote("AAPL", "99.99", "100.01")
        for i, close in enumerate([*["100.00"] * 8, "103.00"]):
            await publish_bar(stack.nc, stack.subjects, bar(40 + i, close))
        thought = await _next(alice, "ai_thought", "ws-bot")
        alert = await _next(alice, "signal_alert", "ws-bot")
        paused = await http.post("/api/v1/sessions/ws-bot/pause", json={"reason": "tea"})
        assert paused.status_code == 201, paused.text
        pause = await _next(alice, "session_update", "ws-bot")
        await http.post("/api/v1/sessions/ws-bot/stop", json={"reason": "done"})
        stop = await _next(alice, "session_update", "ws-bot")
        # bob's sockets got none of it: the next thing he hears is the answer to his ping.
        await bob.send(json.dumps({"type": "ping", "nonce": "after"}))
        heard = json.loads(await asyncio.wait_for(bob.recv(), 10))

    assert (running["session_id"], running["account_id"], running["status"]) == (
        "ws-bot",
        "alice",
        "RUNNING",
    )
    assert running["event"]["type"] == "session_started.v1"
    assert thought["session_id"] == "ws-bot"
    assert 0 <= thought["confidence"] <= 100
    assert {"risk_score", "opportunity_score", "reasoning", "key_factors", "signal"} <= set(thought)
    assert thought["reasoning"] == thought["signal"]["reasoning"]
    assert (alert["decision"], alert["symbol"]) == ("BUY", "AAPL")
    assert alert["stop"] is not None
    assert (pause["status"], pause["event"]["reason"]) == ("PAUSED", "tea")
    assert stop["status"] == "STOPPED"
    assert stop["stream_version"] > pause["stream_version"] > running["stream_version"]
    assert (heard["type"], heard["nonce"]) == ("pong", "after")


async def test_calibration_is_of_the_keys_own_sessions_and_the_operator_sees_all(
    stack: Stack, keys: dict[str, str]
) -> None:
    # After the breakout above, bars through the stop score alice's signals (stop first).
    for i in range(6):
        await publish_bar(stack.nc, stack.subjects, bar(49 + i, "90.00"))

    def scored(reports: list[dict[str, Any]]) -> int:
        return sum(int(r["scored"]) for r in reports)

    async with stack.client(stack.admin) as http:
        for _ in range(300):
            everyone = (await http.get("/api/v1/signals/calibration")).json()
            if scored(everyone):
                break
            await asyncio.sleep(0.1)
        of_bob = (await http.get("/api/v1/signals/calibration?account_id=bob")).json()
    async with stack.client(keys["alice_read"]) as http:
        alice = (await http.get("/api/v1/signals/calibration")).json()
    async with stack.client(keys["bob"]) as http:
        bob = (await http.get("/api/v1/signals/calibration")).json()
        refused = await http.get("/api/v1/signals/calibration?account_id=alice")

    assert scored(everyone) > 0
    assert scored(alice) == scored(everyone)  # every scored signal so far is alice's
    assert scored(bob) == scored(of_bob) == 0
    assert refused.status_code == 403, refused.text
