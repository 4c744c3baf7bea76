"""Group commit: concurrent appends share transactions, and each writer hears its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from papertape.common.eventlog import ConcurrencyError, DuplicateEventError, NewEvent, verify_log
from papertape.common.eventlog.postgres import PostgresEventLog

pytestmark = pytest.mark.integration
MakeEvents = Callable[..., list[NewEvent]]


async def test_concurrent_appends_share_transactions_and_keep_the_chain(
    migrated_database: str, make_events: MakeEvents
) -> None:
    log = await PostgresEventLog.connect(migrated_database, migrate=False)
    try:
        writers, per_writer = 16, 10

        async def writer(index: int) -> list[int]:
            positions = []
            for version in range(per_writer):
                positions += await log.append(f"account-{index}", version, make_events(1))
            return positions

        results = await asyncio.gather(*(writer(i) for i in range(writers)))
        assert log.committer is not None
        assert log.committer.appends == writers * per_writer
        assert log.committer.transactions < writers * per_writer  # flushes were shared
        everything = sorted(p for positions in results for p in positions)
        assert everything == list(range(1, writers * per_writer + 1))
        assert (await verify_log(log)).ok
        for index in range(writers):
            assert await log.stream_version(f"account-{index}") == per_writer
    finally:
        await log.close()


async def test_a_conflict_in_a_group_fails_only_its_writer(
    migrated_database: str, make_events: MakeEvents
) -> None:
    log = await PostgresEventLog.connect(migrated_database, migrate=False)
    try:
        await log.append("account-a", 0, make_events(1))
        outcomes = await asyncio.gather(
            log.append("account-b", 0, make_events(1)),
            log.append("account-a", 0, make_events(1)),  # stale: account-a is at 1
            log.append("account-c", 0, make_events(1)),
            return_exceptions=True,
        )
        assert isinstance(outcomes[1], ConcurrencyError)
        assert outcomes[1].actual == 1
        assert not isinstance(outcomes[0], BaseException)
        assert not isinstance(outcomes[2], BaseException)
        assert (await verify_log(log)).ok
    finally:
        await log.close()


async def test_a_partial_retry_in_a_group_fails_only_its_writer(
    migrated_database: str, make_events: MakeEvents
) -> None:
    log = await PostgresEventLog.connect(migrated_database, migrate=False)
    try:
        stored = make_events(1)
        await log.append("account-a", 0, stored)
        outcomes = await asyncio.gather(
            log.append("account-b", 0, make_events(2)),
            log.append("account-a", 1, [*make_events(1), *stored]),  # reuses a stored id
            log.append("account-c", 0, make_events(1)),
            return_exceptions=True,
        )
        assert isinstance(outcomes[1], DuplicateEventError)
        assert not isinstance(outcomes[0], BaseException)
        assert not isinstance(outcomes[2], BaseException)
        assert await log.stream_version("account-b") == 2
        assert await log.stream_version("account-c") == 1
        assert await log.stream_version("account-a") == 1
        assert (await verify_log(log)).ok
    finally:
        await log.close()


async def test_an_observer_hears_each_transaction_with_its_time_and_group_size(
    migrated_database: str, make_events: MakeEvents
) -> None:
    for group_commit in (True, False):
        log = await PostgresEventLog.connect(
            migrated_database, migrate=False, group_commit=group_commit
        )
        heard: list[tuple[float, int]] = []

        def hear(seconds: float, appends: int, heard: list[tuple[float, int]] = heard) -> None:
            heard.append((seconds, appends))

        log.observe(hear)
        try:
            prefix = f"observed-{group_commit}"
            await asyncio.gather(
                *(log.append(f"{prefix}-{i}", 0, make_events(1)) for i in range(8))
            )
        finally:
            await log.close()
        assert sum(appends for _, appends in heard) == 8
        assert all(seconds > 0 for seconds, _ in heard)
        if group_commit:
            assert max(appends for _, appends in heard) > 1  # appends shared a transaction
        else:
            assert {appends for _, appends in heard} == {1}
