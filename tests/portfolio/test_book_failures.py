"""The book when an append fails in a way that says nothing (the connection dropped after
COMMIT) and when a snapshot fails after an append that held: what callers hear, what is kept."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from papertape.common.clock import SystemClock
from papertape.common.eventlog import SnapshotPolicy
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.events.account import (
    Deposit,
    FundsWithdrawn,
    OpenAccount,
    Withdraw,
    WithdrawalRejected,
    account_stream,
)
from papertape.contract.ids import AccountId
from papertape.portfolio.accounts import AccountBook
from tests.portfolio.test_book import log, request

pytestmark = pytest.mark.integration
__all__ = ["log"]  # the fixture: the book's log on a fresh database


class CommitsThenDrops:
    """The log, whose appends commit and then, while ``failing``, raise as a lost connection."""

    def __init__(self, log: PostgresEventLog) -> None:
        self.log = log
        self.failing = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.log, name)

    async def append(self, stream: str, expected: int | None, events: Sequence[Any]) -> list[int]:
        positions = await self.log.append(stream, expected, events)
        if self.failing:
            raise ConnectionResetError("connection lost after COMMIT")
        return positions


class SnapshotsAway:
    """A snapshot store that is down."""

    def __init__(self, log: PostgresEventLog) -> None:
        self.log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self.log, name)

    async def save_snapshot(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionResetError("snapshot store away")


async def test_a_retry_after_an_append_that_held_but_failed_is_answered_as_the_log_has_it(
    log: PostgresEventLog,
) -> None:
    flaky = CommitsThenDrops(log)
    book = AccountBook(flaky, log, SystemClock())
    account = AccountId("alice")
    await book.execute(request(OpenAccount(account_id=account, name="A")))
    first, second = (request(Withdraw(account_id=account, amount=Decimal(6_000))) for _ in "12")

    flaky.failing = True
    answers = await asyncio.gather(
        book.execute(first), book.execute(second), return_exceptions=True
    )
    flaky.failing = False
    assert all(isinstance(a, ConnectionResetError) for a in answers), answers
    stored = [e async for batch in log.read_stream(account_stream(account)) for e in batch]
    assert [e.type for e in stored] == ["account_opened", "funds_withdrawn", "withdrawal_rejected"]

    # Only the second is retried: the log rejected it, so must its answer and the book.
    retried = await book.execute(second)
    assert not any(isinstance(e.data, FundsWithdrawn) for e in retried.envelopes)
    assert book.version(account) == 3
    assert book.state(account).cash == Decimal(4_000)
    rejected = [e for e in stored if e.type == "withdrawal_rejected"]
    assert retried.positions == [rejected[0].position]
    again = await book.execute(request(Deposit(account_id=account, amount=Decimal(1))))
    assert again.version == 4
    assert not any(isinstance(e.data, WithdrawalRejected) for e in again.envelopes)


async def test_a_snapshot_that_fails_after_the_append_leaves_every_caller_answered(
    log: PostgresEventLog,
) -> None:
    book = AccountBook(log, SnapshotsAway(log), SystemClock(), policy=SnapshotPolicy(every=3))
    account = AccountId("bob")
    await book.execute(request(OpenAccount(account_id=account, name="B")))

    deposits = [request(Deposit(account_id=account, amount=Decimal(1))) for _ in range(4)]
    answers = await asyncio.gather(*(book.execute(d) for d in deposits))

    assert [a.version for a in answers] == [2, 3, 4, 5]
    assert book.version(account) == 5
    assert book.state(account).cash == Decimal(10_004)
    assert await log.stream_version(account_stream(account)) == 5


class RefusesOnce:
    """The log, whose next append fails as a refused connection (nothing committed)."""

    def __init__(self, log: PostgresEventLog) -> None:
        self.log = log
        self.refusals = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.log, name)

    async def append(self, stream: str, expected: int | None, events: Sequence[Any]) -> list[int]:
        if self.refusals > 0:
            self.refusals -= 1
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        return await self.log.append(stream, expected, events)


async def test_commands_behind_one_the_database_refused_fail_with_it_untried(
    log: PostgresEventLog,
) -> None:
    account = AccountId("carol")
    await AccountBook(log, log, SystemClock()).execute(
        request(OpenAccount(account_id=account, name="C"))
    )
    refusing = RefusesOnce(log)
    book = AccountBook(refusing, log, SystemClock())  # not loaded: one command at a time
    refusing.refusals = 1
    deposits = [request(Deposit(account_id=account, amount=Decimal(n))) for n in (1, 2, 3)]

    answers = await asyncio.gather(*(book.execute(d) for d in deposits), return_exceptions=True)

    # Decided now, the second and third would be in the log before the first is retried.
    assert all(isinstance(a, ConnectionRefusedError) for a in answers), answers
    assert await log.stream_version(account_stream(account)) == 1
    for deposit in deposits:  # retried in their order, they go in in that order
        await book.execute(deposit)
    stored = [e async for batch in log.read_stream(account_stream(account)) for e in batch]
    assert [json.loads(e.data)["amount"] for e in stored[1:]] == ["1", "2", "3"]
