"""A replica that lost its partition without knowing it yet cannot write beside the new owner:
the log's UNIQUE (stream, version) refuses its append at the version the new owner wrote, so
it decides again against the log's latest state, never against what it remembered."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import msgspec
import pytest

from papertape.common.clock import SystemClock
from papertape.common.eventlog import ConcurrencyError, new_event
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.events.account import (
    Deposit,
    FundsWithdrawn,
    OpenAccount,
    Withdraw,
    WithdrawalRejected,
    account_stream,
)
from papertape.contract.ids import AccountId, EventId
from papertape.portfolio.accounts import AccountBook
from tests.portfolio.test_book import ids, log, request

__all__ = ["log"]  # the fixture: the book's log on a fresh database

pytestmark = pytest.mark.integration
ACC = AccountId("fenced")


async def test_the_stale_owner_decides_again_against_what_the_new_owner_wrote(
    log: PostgresEventLog, fresh_database: str
) -> None:
    stale = AccountBook(log, log, SystemClock())  # the owner that lost the partition
    await stale.execute(request(OpenAccount(account_id=ACC, name="Fenced")))
    await stale.execute(request(Deposit(account_id=ACC, amount=Decimal(1000))))
    new_owner = AccountBook(log, log, SystemClock())
    await new_owner.load_all()  # took the partition over: rebuilt from the log
    taken = await new_owner.execute(request(Withdraw(account_id=ACC, amount=Decimal(8000))))
    assert isinstance(taken.envelopes[0].data, FundsWithdrawn)

    # The stale book still holds 11,000 in cash (10,000 at opening): 5,000 passes against it,
    # not against the 3,000 the log holds.
    assert stale.state(ACC).cash == Decimal(11_000)
    late = await stale.execute(request(Withdraw(account_id=ACC, amount=Decimal(5000))))

    assert isinstance(late.envelopes[0].data, WithdrawalRejected), late.envelopes
    assert late.version == 4
    conn = await asyncpg.connect(fresh_database)
    try:
        versions = await conn.fetch(
            "SELECT stream_version, type FROM events WHERE stream_id = $1 ORDER BY position",
            account_stream(ACC),
        )
    finally:
        await conn.close()
    assert [(r["stream_version"], r["type"]) for r in versions] == [
        (1, "account_opened"),
        (2, "funds_deposited"),
        (3, "funds_withdrawn"),
        (4, "withdrawal_rejected"),
    ]


async def test_an_append_at_a_version_already_written_is_refused(log: PostgresEventLog) -> None:
    book = AccountBook(log, log, SystemClock())
    await book.execute(request(OpenAccount(account_id=ACC, name="Fenced")))
    deposited = await book.execute(request(Deposit(account_id=ACC, amount=Decimal(5))))
    # Another deposit, decided by a stale owner at version 1 (its own event id: no retry).
    stale = msgspec.structs.replace(deposited.envelopes[0], event_id=EventId(ids.new()))

    with pytest.raises(ConcurrencyError):
        await log.append(account_stream(ACC), 1, [new_event(stale)])
