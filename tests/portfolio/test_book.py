"""The account book on PostgreSQL: concurrent accounts share commits, retries append nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import pytest_asyncio

from papertape.common.clock import SystemClock
from papertape.common.eventlog import SnapshotPolicy
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.idgen import Uuid7Generator
from papertape.contract.events.account import (
    AccountCommand,
    Deposit,
    FundsDeposited,
    FundsWithdrawn,
    OpenAccount,
    Withdraw,
    WithdrawalRejected,
    account_stream,
)
from papertape.contract.events.envelope import Request
from papertape.contract.ids import AccountId, Actor
from papertape.portfolio.accounts import AccountBook, Decided
from papertape.trading.account import STATE_SCHEMA_VERSION

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


async def opened(log: PostgresEventLog, name: str) -> tuple[AccountBook, AccountId]:
    """A book on ``log`` with the account ``name`` opened (10,000 of cash)."""
    book = AccountBook(log, log, SystemClock())
    account = AccountId(name)
    await book.execute(request(OpenAccount(account_id=account, name=name)))
    return book, account


async def test_concurrent_commands_on_one_account_are_decided_in_order_in_fewer_appends(
    log: PostgresEventLog,
) -> None:
    book, account = await opened(log, "alice")
    assert log.committer is not None
    appends_before = log.committer.appends

    amounts = [Decimal(n) for n in range(1, 21)]
    decided = await asyncio.gather(
        *(book.execute(request(Deposit(account_id=account, amount=a))) for a in amounts)
    )

    assert [d.version for d in decided] == list(range(2, 22))  # in the order they were given
    assert [d.state.cash for d in decided] == [
        Decimal(10_000) + sum(amounts[: n + 1]) for n in range(len(amounts))
    ]
    positions = [p for d in decided for p in d.positions]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(amounts)
    assert log.committer.appends - appends_before < len(amounts)  # queued ones went together
    stored = [e async for batch in log.read_stream("account-alice") for e in batch]
    assert [e.position for e in stored[1:]] == positions


async def test_a_refused_command_among_queued_ones_leaves_the_others_applied(
    log: PostgresEventLog,
) -> None:
    book, account = await opened(log, "bob")

    first, refused, deposit = await asyncio.gather(
        book.execute(request(Withdraw(account_id=account, amount=Decimal(6_000)))),
        book.execute(request(Withdraw(account_id=account, amount=Decimal(6_000)))),
        book.execute(request(Deposit(account_id=account, amount=Decimal(5)))),
    )

    assert isinstance(first.envelopes[0].data, FundsWithdrawn)
    # Decided against what the first left (4,000), not against the state before the turn.
    assert isinstance(refused.envelopes[0].data, WithdrawalRejected)
    assert isinstance(deposit.envelopes[0].data, FundsDeposited)
    assert deposit.state.cash == Decimal(4_005) == book.state(account).cash
    assert await log.stream_version("account-bob") == 4


async def test_a_request_given_twice_at_once_is_decided_once(log: PostgresEventLog) -> None:
    book, account = await opened(log, "carol")
    deposit = request(Deposit(account_id=account, amount=Decimal(7)))
    other = request(Deposit(account_id=account, amount=Decimal(1)))

    first, again, then = await asyncio.gather(
        book.execute(deposit), book.execute(deposit), book.execute(other)
    )

    assert len(first.envelopes) == 1
    assert again.envelopes == []
    assert again.positions == first.positions
    assert len(then.envelopes) == 1
    assert book.state(account).cash == Decimal(10_008)
    assert await log.stream_version("account-carol") == 3


async def test_a_retried_request_queued_with_new_ones_appends_only_the_new(
    log: PostgresEventLog,
) -> None:
    book, account = await opened(log, "dave")
    deposit = request(Deposit(account_id=account, amount=Decimal(7)))
    first = await book.execute(deposit)

    new, again, newer = await asyncio.gather(
        book.execute(request(Deposit(account_id=account, amount=Decimal(1)))),
        book.execute(deposit),
        book.execute(request(Deposit(account_id=account, amount=Decimal(2)))),
    )

    assert again.envelopes == []
    assert again.positions == first.positions
    assert len(new.envelopes) == len(newer.envelopes) == 1
    assert book.state(account).cash == Decimal(10_010)
    assert await log.stream_version("account-dave") == 4


class HeldSnapshots:
    """The log as the snapshot store, whose saves wait until ``release`` is set."""

    def __init__(self, log: PostgresEventLog) -> None:
        self.log = log
        self.release = asyncio.Event()
        self.started = 0

    async def save_snapshot(self, stream_id: str, version: int, schema: int, state: bytes) -> None:
        self.started += 1
        await self.release.wait()
        await self.log.save_snapshot(stream_id, version, schema, state)

    async def load_snapshot(self, stream_id: str, schema: int) -> object:
        return await self.log.load_snapshot(stream_id, schema)


async def test_a_snapshot_is_saved_off_the_turn_and_a_rebuild_starts_from_it(
    log: PostgresEventLog,
) -> None:
    held = HeldSnapshots(log)
    book = AccountBook(log, held, SystemClock(), policy=SnapshotPolicy(every=3))  # type: ignore[arg-type]
    account = AccountId("snap")
    await book.execute(request(OpenAccount(account_id=account, name="S")))
    for _ in range(6):  # due twice while the first save is held: the turns do not wait for it
        await asyncio.wait_for(
            book.execute(request(Deposit(account_id=account, amount=Decimal(1)))), 5
        )
    assert held.started == 1  # one save in flight; the later one waits as the latest only
    assert await log.load_snapshot(account_stream(account), STATE_SCHEMA_VERSION) is None

    held.release.set()
    await book.snapshots_saved()
    assert held.started == 2  # the first due, then the latest (not one per due turn)
    snapshot = await log.load_snapshot(account_stream(account), STATE_SCHEMA_VERSION)
    assert snapshot is not None
    assert snapshot.version == book.version(account) - 1  # the last due: 6 of 7

    rebuilt = AccountBook(log, log, SystemClock())
    await rebuilt.load_all()
    assert rebuilt.state(account) == book.state(account)
