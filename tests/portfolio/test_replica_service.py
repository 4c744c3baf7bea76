"""One portfolio replica of several partitions, in-process: it takes every free partition,
answers commands and the list of accounts across them, and stops cleanly (its partitions'
consumers and subscriptions given up, so the connection's drain is not held)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import asyncpg
import pytest
from nats.aio.client import Client

from papertape.common.clock import SystemClock
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.telemetry.metrics import ServiceMetrics
from papertape.contract.events.account import Deposit, OpenAccount
from papertape.contract.events.portfolio import ListAccounts
from papertape.contract.ids import AccountId
from papertape.contract.partitions import partition_of
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.portfolio.accounts import AccountBook
from papertape.portfolio.bootstrap import Portfolio, build
from papertape.portfolio.ownership import lock_space
from papertape.portfolio.settings import PortfolioSettings
from tests.portfolio.conftest import PortfolioClient
from tests.portfolio.test_book import request

pytestmark = pytest.mark.integration
PARTITIONS = 4
ACCOUNTS = [AccountId(f"part-{n}") for n in range(12)]


async def test_a_replica_serves_every_partition_it_owns_and_stops_cleanly(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    nats_client: Client,
) -> None:
    assert len({partition_of(a, PARTITIONS) for a in ACCOUNTS}) == PARTITIONS
    client = PortfolioClient(nats_client, subjects)
    async with replica(nats_url, fresh_database, subjects) as service:
        assert service.replica is not None
        await owning(service, list(range(PARTITIONS)))
        for account in ACCOUNTS:
            assert (await client.command(OpenAccount(account_id=account, name=account))).ok
            deposit = await client.command(Deposit(account_id=account, amount=Decimal(5)))
            assert deposit.ok, deposit
        listed = await client.query("accounts", ListAccounts())

    assert listed.ok, listed
    assert [a["account_id"] for a in listed.result] == sorted(ACCOUNTS)
    assert service.replica.owned() == [], "every partition given back at the stop"


async def test_the_list_of_accounts_is_refused_while_a_partition_has_no_one_serving_it(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    nats_client: Client,
) -> None:
    # Partition 2's lock held by a holder that serves nothing (a replica that hung).
    holder = await asyncpg.connect(fresh_database)
    await holder.execute("SELECT pg_advisory_lock($1, 2)", lock_space(subjects.namespace))
    client = PortfolioClient(nats_client, subjects)
    async with replica(nats_url, fresh_database, subjects) as service:
        await owning(service, [0, 1, 3])
        refused = await client.query("accounts", ListAccounts())
        await holder.close()  # the hung holder is gone: its lock with it
        await owning(service, list(range(PARTITIONS)))
        listed = await client.query("accounts", ListAccounts())

    assert (refused.ok, refused.error_code) == (False, "unavailable"), refused
    assert "partition 2 has no owner" in (refused.error or "")
    assert listed.ok, listed


@asynccontextmanager
async def replica(nats_url: str, database: str, subjects: Subjects) -> AsyncIterator[Portfolio]:
    settings = PortfolioSettings(
        nats_url=nats_url,
        database_url=database,
        namespace=subjects.namespace,
        metrics_port=-1,
        partitions=PARTITIONS,
        replica="only",
    )
    service = await build(settings)
    serving = asyncio.create_task(
        service.runtime.serve(on_start=service.start, on_stop=service.stop)
    )
    try:
        yield service
    finally:
        service.runtime.stop()
        await asyncio.wait_for(serving, 15)  # a stop that hangs fails here
        await service.log.close()


async def owning(service: Portfolio, partitions: list[int]) -> None:
    assert service.replica is not None
    for _ in range(200):
        if service.replica.owned() == partitions:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"owns {service.replica.owned()}, not {partitions}")


async def test_a_partition_given_up_leaves_no_state_and_no_gauges_behind(
    fresh_database: str,
) -> None:
    log = await PostgresEventLog.connect(fresh_database)
    metrics = ServiceMetrics("portfolio")
    book = AccountBook(log, log, SystemClock(), metrics=metrics)
    try:
        for account in ACCOUNTS:
            await book.execute(request(OpenAccount(account_id=account, name=account)))
        in_two = [a for a in ACCOUNTS if partition_of(a, PARTITIONS) == 2]

        book.forget_where(lambda a: partition_of(a, PARTITIONS) == 2)

        assert sorted(book.accounts()) == sorted(set(ACCOUNTS) - set(in_two))
        equity = "papertape_account_equity"
        assert metrics.registry.get_sample_value(equity, {"account": in_two[0]}) is None
        kept = next(a for a in ACCOUNTS if a not in in_two)
        assert metrics.registry.get_sample_value(equity, {"account": kept}) == 10_000
        loaded, _events, _seconds = await book.load_where(
            lambda a: partition_of(a, PARTITIONS) == 2
        )  # taken again: rebuilt from the log
        assert loaded == len(in_two)
        assert sorted(book.accounts()) == sorted(ACCOUNTS)
    finally:
        await log.close()
