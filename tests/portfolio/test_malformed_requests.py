"""Bad input never reaches the log: the real service refuses it, naming the field.

And history written before the contract's bounds (a naive time, a deposit of ``Infinity``)
still replays: the service starts on it, answers every query and the audit replay agrees.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from nats.aio.client import Client

from papertape.cli.audit.rebuilds import replay_account
from papertape.common.eventlog import Metadata, NewEvent
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.codec import encode
from papertape.contract.events.account import OpenAccount, account_stream
from papertape.contract.events.portfolio import (
    GetAccountSummary,
    GetActivity,
    GetEquityCurve,
    GetReport,
)
from papertape.contract.ids import AccountId, Actor, CorrelationId
from papertape.contract.subjects import Subjects
from papertape.portfolio.bootstrap import Portfolio
from papertape.trading.account import INITIAL_STATE, STATE_SCHEMA_VERSION
from papertape.trading.account.stored import apply_stored, encode_state
from tests.portfolio.conftest import Answer, PortfolioClient, replies

pytestmark = pytest.mark.integration
ACC = AccountId("alice")
NOW = "2024-01-02T14:30:00Z"
NAIVE = "2024-01-02T14:30:00"


async def raw_request(nc: Client, subject: str, body: dict[str, Any]) -> Answer:
    """A request as any client could send it: JSON we write by hand, not a struct."""
    request = {"request_id": "r-raw", "issued_at": NOW, "actor": "test", "body": body}
    reply = await nc.request(subject, msgspec.json.encode(request), timeout=10)
    return replies.decode(reply.data)


async def event_types(client: PortfolioClient) -> list[str]:
    activity = await client.query("activity", GetActivity(account_id=ACC))
    assert activity.ok, activity.error
    return [e["data"]["type"] for e in activity.result]


@pytest.mark.parametrize(
    "bad", ["NaN", "sNaN", "Infinity", "-Infinity", "1e30", "1e400", "-0", "-5"]
)
async def test_a_bad_deposit_is_malformed_and_never_reaches_the_log(
    client: PortfolioClient, nats_client: Client, subjects: Subjects, bad: str
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Alice"))
    body = {"type": "deposit.v1", "account_id": ACC, "amount": bad}
    reply = await raw_request(nats_client, subjects.portfolio_command(), body)
    assert reply.error_code == "malformed_request"
    assert reply.error is not None
    assert reply.error.startswith("amount must")
    assert await event_types(client) == ["account_opened.v1"]


@pytest.mark.parametrize("version", [2**31, 10**18, 10**30])
async def test_an_activity_from_a_version_past_the_logs_range_is_malformed_naming_the_field(
    client: PortfolioClient, nats_client: Client, subjects: Subjects, version: int
) -> None:
    """A stream version is a 32-bit integer in the log: a larger one reached PostgreSQL and came
    back as ``internal_error`` with its DataError's words."""
    await client.command(OpenAccount(account_id=ACC, name="Alice"))
    body = {"type": "get_activity.v1", "account_id": ACC, "from_version": version}
    reply = await raw_request(nats_client, subjects.portfolio_query("activity"), body)
    assert reply.error_code == "malformed_request", reply.error
    assert reply.error is not None
    assert "$.body.from_version" in reply.error
    assert await event_types(client) == ["account_opened.v1"]


@pytest.mark.parametrize(
    "body",
    [
        {"type": "apply_fill.v1", "fill_id": "f", "order_id": "o", "price": "1", "quantity": "1"},
        {"type": "apply_mark.v1", "symbol": "AAPL", "price": "101"},
        {"type": "expire_order.v1", "order_id": "o"},
    ],
)
async def test_a_naive_time_is_malformed_and_the_equity_curve_still_answers(
    client: PortfolioClient, nats_client: Client, subjects: Subjects, body: dict[str, Any]
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Alice"))
    naive = {**body, "account_id": ACC, "ts": NAIVE}
    reply = await raw_request(nats_client, subjects.portfolio_command(), naive)
    assert reply.error_code == "malformed_request"
    assert reply.error is not None
    assert "timezone" in reply.error
    assert "$.body.ts" in reply.error
    curve = await client.query("equity_curve", GetEquityCurve(account_id=ACC))
    assert curve.ok, curve.error
    since = {"type": "get_equity_curve.v1", "account_id": ACC, "since": NAIVE}
    naive_query = await raw_request(nats_client, subjects.portfolio_query("equity_curve"), since)
    assert naive_query.error_code == "malformed_request"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"quantity": "1.5"}, "quantity"),
        ({"quantity": "1.0000000000000000000000000000001"}, "quantity"),
        ({"limit_price": "100.001"}, "limit_price"),
        ({"stop_loss": "95.0001"}, "stop_loss"),
        (
            {"order_type": "trailing_stop", "limit_price": None, "trail_amount": "0.001"},
            "trail_amount",
        ),
    ],
)
async def test_off_the_lot_or_the_tick_is_an_invalid_order_naming_the_field(
    client: PortfolioClient,
    nats_client: Client,
    subjects: Subjects,
    fields: dict[str, Any],
    named: str,
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Alice"))
    order = {
        "type": "place_order.v1",
        "account_id": ACC,
        "order_id": "o-1",
        "symbol": "AAPL",
        "side": "buy",
        "quantity": "1",
        "order_type": "limit",
        "limit_price": "100",
        **fields,
    }
    reply = await raw_request(nats_client, subjects.portfolio_command(), order)
    assert reply.ok, reply.error
    [rejected] = [e["data"] for e in reply.result["events"]]
    assert rejected["type"] == "order_rejected.v1"
    assert rejected["reason_code"] == "invalid_order"
    assert rejected["message"].startswith(named)


async def test_a_request_id_reused_for_another_command_is_refused_by_name(
    client: PortfolioClient,
) -> None:
    request_id = "0190a000-0000-7000-8000-0000000000aa"
    opened = await client.command(OpenAccount(account_id=ACC, name="Alice"), request_id)
    assert opened.ok
    reused = await client.command(
        OpenAccount(account_id=AccountId("bob"), name="Bob"), request_id=request_id
    )
    assert reused.error_code == "duplicate_request"
    assert reused.error is not None
    assert request_id in reused.error


# --- history written by the old code ---------------------------------------------------------

OLD = AccountId("old")


def _old_event(event_id: str, data: dict[str, Any]) -> NewEvent:
    metadata = Metadata(
        occurred_at=datetime(2024, 1, 2, 14, 30, tzinfo=UTC),
        correlation_id=CorrelationId(event_id),
        actor=Actor("old-code"),
    )
    return NewEvent(
        event_id=event_id,
        type=data["type"].split(".")[0],
        schema_version=1,
        data=msgspec.json.encode(data),
        metadata=encode(metadata),
    )


@pytest_asyncio.fixture
async def old_history(fresh_database: str) -> AsyncIterator[None]:
    """What the code before the bounds stored: a naive time, a deposit of Infinity, and a
    snapshot taken after it."""
    log = await PostgresEventLog.connect(fresh_database)
    opened: dict[str, Any] = {
        "type": "account_opened.v1",
        "account_id": OLD,
        "ts": NAIVE,
        "name": "Old",
        "base_currency": "USD",
        "initial_cash": "1000",
        "allow_short": False,
        "margin_requirement": "0.5",
    }
    infinite: dict[str, Any] = {
        "type": "funds_deposited.v1",
        "account_id": OLD,
        "ts": NAIVE,
        "amount": "Infinity",
    }
    fine: dict[str, Any] = {
        "type": "funds_deposited.v1",
        "account_id": OLD,
        "ts": NOW,
        "amount": "100",
    }
    ids = ["0190a000-0000-7000-8000-00000000000" + str(i) for i in range(1, 4)]
    events = [_old_event(i, d) for i, d in zip(ids, (opened, infinite, fine), strict=True)]
    await log.append(account_stream(OLD), 0, events)
    # The old code's snapshot after these events: its cash is the Infinity deposit's.
    state = INITIAL_STATE
    for new in events:
        state = apply_stored(state, new.data)
    snapshot = msgspec.json.decode(encode_state(state))
    snapshot["cash"] = "Infinity"
    await log.save_snapshot(
        account_stream(OLD), 3, STATE_SCHEMA_VERSION, msgspec.json.encode(snapshot)
    )
    await log.close()
    yield


async def test_a_log_holding_old_unbounded_events_still_starts_replays_and_answers(
    old_history: None, portfolio: Portfolio, client: PortfolioClient
) -> None:
    state = portfolio.book.state(OLD)  # rebuilt at start from the old log
    assert state.is_open
    assert state.cash == Decimal(1100)  # the Infinity deposit was voided on read
    for name, query in (
        ("summary", GetAccountSummary(account_id=OLD)),
        ("equity_curve", GetEquityCurve(account_id=OLD, since=datetime(2024, 1, 1, tzinfo=UTC))),
        ("report", GetReport(account_id=OLD)),
    ):
        answer = await client.query(name, query)
        assert answer.ok, (name, answer.error)
    activity = await client.query("activity", GetActivity(account_id=OLD))
    voided = activity.result[1]["data"]
    assert voided["type"] == "command_rejected.v1"
    assert voided["reason_code"] == "invalid_history"
    assert voided["command"] == "funds_deposited.v1"
    audited = await replay_account(portfolio.log, OLD)
    assert audited.state == state
