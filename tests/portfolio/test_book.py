"""The account book on PostgreSQL: concurrent accounts share commits, retries append nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import pytest_asyncio

from papertape.common.clock import SystemClock
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.idgen import Uuid7Generator
from papertape.contract.events.account import AccountCommand, Deposit, OpenAccount
from papertape.contract.events.envelope import Request
from papertape.contract.ids import AccountId, Actor
from papertape.portfolio.accounts import AccountBook, Decided

pytestmark = pytest.mark.integration
ids = Uuid7Generator()


def request(command: AccountCommand, request_id: str | None = None) -> Request[AccountCommand]:
    return Request(
        request_id=request_id or ids.new(),
        issued_at=datetime.now(UTC),
        actor=Actor("test"),
        body=command,
    )


@pytest_asyncio.fixture
async def log(fresh_database: str) -> AsyncIterator[PostgresEventLog]:
    opened = await PostgresEventLog.connect(fresh_database)
    try:
        yield opened
    finally:
        await opened.close()


async def test_concurrent_commands_on_many_accounts_each_report_their_own_events(
    log: PostgresEventLog,
) -> None:
    book = AccountBook(log, log, SystemClock())
    accounts = [AccountId(f"acc-{n}") for n in range(20)]

    opened = await asyncio.gather(
        *(book.execute(request(OpenAccount(account_id=a, name=a))) for a in accounts)
    )
    deposited = await asyncio.gather(
        *(book.execute(request(Deposit(account_id=a, amount=Decimal(5)))) for a in accounts)
    )

    for decided in (*opened, *deposited):
        assert isinstance(decided, Decided)
        assert len(decided.envelopes) == 1
    assert {d.version for d in deposited} == {2}
    assert log.committer is not None
    assert log.committer.transactions < 2 * len(accounts)  # appends shared commits
    assert all(book.state(a).cash == Decimal(10_005) for a in accounts)


async def test_a_request_retried_after_a_restart_appends_nothing(log: PostgresEventLog) -> None:
    book = AccountBook(log, log, SystemClock())
    account = AccountId("alice")
    await book.execute(request(OpenAccount(account_id=account, name="Alice")))
    deposit = request(Deposit(account_id=account, amount=Decimal(7)))
    first = await book.execute(deposit)

    restarted = AccountBook(log, log, SystemClock())
    await restarted.load_all()
    again = await restarted.execute(deposit)

    assert len(first.envelopes) == 1
    assert again.envelopes == []
    assert again.positions == first.positions
    assert restarted.state(account).cash == Decimal(10_007)
    assert await log.stream_version("account-alice") == 2
