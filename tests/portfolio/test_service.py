"""The portfolio service end to end on real NATS and PostgreSQL: commands, queries, relay."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest
from nats.aio.client import Client
from prometheus_client import generate_latest

from papertape.contract.events.account import Deposit, OpenAccount
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.portfolio import GetAccountSummary, GetActivity, ListAccounts
from papertape.contract.ids import AccountId
from papertape.contract.subjects import Subjects
from papertape.portfolio.bootstrap import Portfolio
from tests.portfolio.conftest import PortfolioClient, aapl_limit

pytestmark = pytest.mark.integration
ACC = AccountId("alice")


async def test_opening_an_account_appends_to_the_log_and_answers_its_summary(
    client: PortfolioClient,
) -> None:
    reply = await client.command(OpenAccount(account_id=ACC, name="Alice"))
    assert reply.ok, reply.error
    assert reply.result["version"] == 1
    assert reply.result["events"][0]["data"]["type"] == "account_opened.v1"
    # Stored with the trace of the span that handled the command.
    assert reply.result["events"][0]["traceparent"].startswith("00-")

    summary = await client.query("summary", GetAccountSummary(account_id=ACC))
    assert summary.ok
    assert Decimal(summary.result["cash"]) == Decimal("10000")


async def test_a_retried_request_appends_nothing_new(client: PortfolioClient) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Alice"))
    first = await client.command(
        Deposit(account_id=ACC, amount=Decimal(500)),
        request_id="0190a000-0000-7000-8000-000000000001",
    )
    again = await client.command(
        Deposit(account_id=ACC, amount=Decimal(500)),
        request_id="0190a000-0000-7000-8000-000000000001",
    )
    assert first.ok
    assert again.ok
    summary = await client.query("summary", GetAccountSummary(account_id=ACC))
    assert Decimal(summary.result["cash"]) == Decimal("10500")
    activity = await client.query("activity", GetActivity(account_id=ACC))
    assert [e["data"]["type"] for e in activity.result] == [
        "account_opened.v1",
        "funds_deposited.v1",
    ]


async def test_a_rejected_order_is_an_event_with_a_reason_code(client: PortfolioClient) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Alice"))
    reply = await client.command(aapl_limit(ACC, OrderSide.SELL, 10, 100))
    assert reply.ok
    rejected = reply.result["events"][0]["data"]
    assert rejected["type"] == "order_rejected.v1"
    assert rejected["reason_code"] == "short_selling_not_allowed"


async def test_malformed_requests_get_a_clear_error_and_a_dead_letter(
    client: PortfolioClient,
    nats_client: Client,
    subjects: Subjects,
) -> None:
    js = nats_client.jetstream()
    reply = await nats_client.request(subjects.portfolio_command(), b'{"nope": 1}', timeout=5)
    assert b"malformed_request" in reply.data
    sub = await js.subscribe(subjects.all_dead_letters(), ordered_consumer=True)
    letter = await sub.next_msg(timeout=5)
    assert b"malformed" in letter.data
    # The service keeps running.
    assert (await client.query("accounts", ListAccounts())).ok


async def test_unknown_account_query_is_refused_by_name(client: PortfolioClient) -> None:
    reply = await client.query("summary", GetAccountSummary(account_id=AccountId("nobody")))
    assert not reply.ok
    assert reply.error_code == "unknown_account"


async def test_the_relay_publishes_each_event_to_accounts_with_its_id(
    client: PortfolioClient,
    nats_client: Client,
    subjects: Subjects,
) -> None:
    opened = await client.command(OpenAccount(account_id=ACC, name="Alice"))
    await client.command(Deposit(account_id=ACC, amount=Decimal(1)))
    js = nats_client.jetstream()
    sub = await js.subscribe(subjects.account_events("alice"), ordered_consumer=True)
    first = await sub.next_msg(timeout=5)
    second = await sub.next_msg(timeout=5)
    assert first.subject == subjects.account_event("alice", "account_opened")
    assert second.subject == subjects.account_event("alice", "funds_deposited")
    assert first.headers is not None
    assert first.headers["Nats-Msg-Id"] == opened.result["events"][0]["event_id"]


async def test_restart_rebuilds_every_account_from_the_log(
    portfolio: Portfolio,
    client: PortfolioClient,
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Alice"))
    for _ in range(7):
        await client.command(Deposit(account_id=ACC, amount=Decimal(10)))
    live = portfolio.book.state("alice")
    from papertape.portfolio.accounts import AccountBook

    fresh = AccountBook(portfolio.log, portfolio.log, portfolio.clock)
    accounts, _events, _seconds = await fresh.load_all()
    assert accounts == 1
    assert fresh.state("alice") == live
    assert fresh.version("alice") == 8
    await asyncio.sleep(0)


async def test_the_service_uses_the_log_as_a_role_that_cannot_rewrite_it(
    portfolio: Portfolio, client: PortfolioClient
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Alice"))
    pool = portfolio.log.pool
    assert await pool.fetchval("SELECT current_user") == "papertape_service"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("UPDATE events SET type = 'forged'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
    owner = await pool.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'events'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # its own login: no way back
        await pool.execute(f"SET ROLE {owner}")
    assert await pool.fetchval("SELECT session_user") == "papertape_service"


async def test_account_metrics_feed_the_dashboards(
    portfolio: Portfolio, client: PortfolioClient
) -> None:
    await client.command(OpenAccount(account_id=ACC, name="Alice"))
    await client.command(aapl_limit(ACC, OrderSide.SELL, 10, 100))
    exposed = generate_latest(portfolio.runtime.metrics.registry).decode()
    assert 'papertape_account_equity{account="alice"} 10000.0' in exposed
    assert (
        'papertape_order_rejections_total{account="alice",reason="short_selling_not_allowed"} 1.0'
        in exposed
    )
