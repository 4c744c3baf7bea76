"""The relay publishes the log to ACCOUNTS in order, and a crash loses and duplicates nothing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest
from nats.aio.client import Client

from papertape.common.clock import SystemClock
from papertape.common.eventlog import RecordedEvent
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.idgen import Uuid7Generator
from papertape.contract.events.account import AccountCommand, Deposit, OpenAccount
from papertape.contract.events.envelope import Request
from papertape.contract.ids import AccountId, Actor
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.portfolio.accounts import AccountBook
from papertape.portfolio.bootstrap import Portfolio
from papertape.portfolio.relay import AccountRelay
from tests.portfolio.conftest import PortfolioClient

pytestmark = pytest.mark.integration
ids = Uuid7Generator()


class RelayCrashed(Exception):
    """Raised to simulate a process dying mid-batch."""


async def write_events(book: AccountBook, accounts: int, deposits: int) -> int:
    for a in range(accounts):
        account = AccountId(f"acc-{a}")
        commands: list[AccountCommand] = [OpenAccount(account_id=account, name=f"A{a}")]
        commands += [Deposit(account_id=account, amount=Decimal(d + 1)) for d in range(deposits)]
        for command in commands:
            await book.execute(
                Request(
                    request_id=ids.new(),
                    issued_at=datetime.now(UTC),
                    actor=Actor("test"),
                    body=command,
                )
            )
    return accounts * (deposits + 1)


async def stream_messages(nc: Client, subjects: Subjects) -> list[tuple[str, str]]:
    js = nc.jetstream()
    info = await js.stream_info(subjects.stream("ACCOUNTS"))
    total = info.state.messages
    sub = await js.subscribe(subjects.all_account_events(), ordered_consumer=True)
    seen = []
    for _ in range(total):
        msg = await sub.next_msg(timeout=5)
        assert msg.headers is not None
        seen.append((msg.subject, msg.headers["Nats-Msg-Id"]))
    await sub.unsubscribe()
    return seen


async def test_a_relay_killed_mid_batch_resumes_without_loss_or_duplicates(
    fresh_database: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    log = await PostgresEventLog.connect(fresh_database)
    try:
        book = AccountBook(log, log, SystemClock())
        written = await write_events(book, accounts=4, deposits=9)
        js = nats_client.jetstream()

        crashing = AccountRelay(fresh_database, js, subjects, batch_size=16)
        original = crashing._handle
        published_before_crash = 0

        async def handle_then_die(batch: list[RecordedEvent], conn: asyncpg.Connection) -> None:
            nonlocal published_before_crash
            await original(batch[:10], conn)  # half the batch reaches JetStream …
            published_before_crash += 10
            raise RelayCrashed  # … and the process dies before its checkpoint moves

        crashing.runner.subscription = crashing.runner.subscription.__class__(
            name=crashing.runner.subscription.name,
            handler=handle_then_die,
            delivery=crashing.runner.subscription.delivery,
            batch_size=16,
        )
        with pytest.raises(RelayCrashed):
            await crashing.catch_up()
        assert published_before_crash == 10

        resumed = AccountRelay(fresh_database, js, subjects, batch_size=16)
        await resumed.catch_up()

        seen = await stream_messages(nats_client, subjects)
        event_ids = [msg_id for _subject, msg_id in seen]
        assert len(seen) == written
        assert len(set(event_ids)) == written
        async for batch in log.read_all():
            expected = [r.event_id for r in batch]
        assert event_ids == expected  # log order, hence per-account order
    finally:
        await log.close()


async def test_the_service_resumes_its_relay_after_a_failure(
    portfolio: Portfolio, client: PortfolioClient, nats_client: Client, subjects: Subjects
) -> None:
    relay = portfolio.relay
    assert relay is not None
    subscription = relay.runner.subscription
    failures = 0

    async def fail_once(batch: list[RecordedEvent], conn: asyncpg.Connection) -> None:
        nonlocal failures
        if failures == 0:
            failures += 1
            raise ConnectionError("NATS went away")
        await subscription.handler(batch, conn)

    relay.runner.subscription = dataclasses.replace(subscription, handler=fail_once)
    opened = await client.command(OpenAccount(account_id=AccountId("carol"), name="Carol"))

    sub = await nats_client.jetstream().subscribe(
        subjects.account_events("carol"), ordered_consumer=True
    )
    msg = await sub.next_msg(timeout=15)
    assert msg.headers is not None
    assert msg.headers["Nats-Msg-Id"] == opened.result["events"][0]["event_id"]
    assert failures == 1
    restarts = portfolio.runtime.metrics.handled.labels("portfolio", "relay", "restart")
    assert restarts._value.get() == 1
