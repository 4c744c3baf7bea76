"""One trace follows an order across processes: gateway, portfolio, execution, portfolio again.

The gateway, portfolio and execution run as separate processes exporting spans over OTLP/HTTP
to a receiver the test runs. The test places a market order through the gateway's HTTP API
with a W3C ``traceparent`` of its own; the order is decided and appended by portfolio, relayed
to ACCOUNTS, matched and filled by execution, and the fill applied and relayed by portfolio.
Every hop carries the context in NATS headers (and the events in the log's metadata), so the
receiver sees one trace with spans of all three services, and portfolio's spans on both sides
of execution's.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.events.account import account_stream
from tests.e2e.otlp import ReceivedSpan, Receiver, otlp_receiver
from tests.e2e.test_trade_flow import until
from tests.gateway.stack import BTC, Stack, running_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]
ACCOUNT = "traced"
SERVICES = {"papertape-gateway", "papertape-portfolio", "papertape-execution"}


async def test_one_trace_follows_an_order_from_the_gateway_through_portfolio_and_execution(
    nats_url: str, postgres_server_url: str, tmp_path: Path
) -> None:
    with otlp_receiver() as receiver:
        extra = {"PAPERTAPE_TRACES_EXPORTER": "otlp", "PAPERTAPE_OTLP_ENDPOINT": receiver.url}
        async with running_stack(nats_url, postgres_server_url, tmp_path, extra) as stack:
            key = await stack.account(ACCOUNT)
            trace_id = os.urandom(16).hex()
            caller = f"00-{trace_id}-{os.urandom(8).hex()}-01"
            async with stack.client(key) as http:
                await until(lambda: _priced(stack, http))
                placed = await http.post(
                    f"/api/v1/accounts/{ACCOUNT}/orders",
                    json={"symbol": BTC, "side": "buy", "quantity": "1"},
                    headers={"traceparent": caller},
                )
                assert placed.status_code == 201, placed.text
                order_id = placed.json()["events"][0]["data"]["order_id"]
                await until(lambda: _filled(stack, http, order_id))
            spans = await until(lambda: _whole(receiver, trace_id), seconds=30)
            metadata = await _metadata(stack.env["DATABASE_URL"])

    services = {span.service for span in spans}
    assert services >= SERVICES, _describe(spans)
    gateway = [s for s in spans if s.service == "papertape-gateway"]
    assert any(s.name.startswith("POST /api/v1/accounts") for s in gateway), _describe(spans)
    assert any(s.parent_id == caller.split("-")[2] for s in gateway), "the caller's span is lost"
    # Portfolio before the venue (the order decided and relayed) and after it (the fill).
    portfolio = {s.name for s in spans if s.service == "papertape-portfolio"}
    assert any("order_placed" in name for name in portfolio), _describe(spans)
    assert any("order_filled" in name for name in portfolio), _describe(spans)
    execution = {s.name for s in spans if s.service == "papertape-execution"}
    assert any("order_placed process" in name for name in execution), _describe(spans)
    assert any("order_fill_reported" in name for name in execution), _describe(spans)
    assert any("order_fill_reported process" in name for name in portfolio), _describe(spans)
    # One tree: every span's parent is the caller's span or another span of the trace.
    ids = {s.span_id for s in spans} | {caller.split("-")[2]}
    assert all(s.parent_id in ids for s in spans), _describe(spans)
    # The log's metadata carries the same trace for the order's events.
    assert metadata["order_placed"] == trace_id
    assert metadata["order_filled"] == trace_id


async def _priced(stack: Stack, http: Any) -> bool:
    """Quotes flow (portfolio marks, execution matches): a limit far below asks nothing."""
    await stack.quote(BTC, "99.99", "100.01")
    return bool((await http.get(f"/api/v1/accounts/{ACCOUNT}")).status_code == 200)


async def _filled(stack: Stack, http: Any, order_id: str) -> bool:
    await stack.quote(BTC, "99.99", "100.01")  # the venue fills on a quote after the order
    detail = await http.get(f"/api/v1/accounts/{ACCOUNT}/orders/{order_id}")
    return bool(detail.json().get("status") == "filled")


async def _whole(receiver: Receiver, trace_id: str) -> list[ReceivedSpan] | None:
    """The trace's spans once every service's are in, with the fill relayed by portfolio and
    every parent received (each process exports its spans in batches of its own, so a child
    can arrive before its parent)."""
    spans = receiver.spans(trace_id)
    services = {s.service for s in spans}
    relayed = any("order_filled" in s.name and s.service == "papertape-portfolio" for s in spans)
    ids = {s.span_id for s in spans}
    orphans = [s for s in spans if s.parent_id not in ids]
    await asyncio.sleep(0.2)
    complete = services >= SERVICES and relayed and len(orphans) <= 1  # the caller's child
    return spans if complete else None


async def _metadata(database_url: str) -> dict[str, str]:
    """The trace id in the log's metadata of the account's order events, by event type."""
    log = await PostgresEventLog.connect(database_url, migrate=False)
    try:
        found: dict[str, str] = {}
        async for batch in log.read_stream(account_stream(ACCOUNT)):
            for recorded in batch:
                traceparent = json.loads(recorded.metadata).get("traceparent") or ""
                if recorded.type in ("order_placed", "order_filled") and traceparent:
                    found[recorded.type] = traceparent.split("-")[1]
        return found
    finally:
        await log.close()


def _describe(spans: list[ReceivedSpan]) -> str:
    return "\n".join(f"{s.service:22} {s.span_id} <- {s.parent_id} {s.name}" for s in spans)
