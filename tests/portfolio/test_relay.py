"""The relay publishes the log to ACCOUNTS in order, and a crash loses and duplicates nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import msgspec
import pytest
from nats.aio.client import Client

from papertape.common.clock import SystemClock
from papertape.common.eventlog import Metadata, NewEvent, RecordedEvent
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.idgen import Uuid7Generator
from papertape.contract.codec import encode
from papertape.contract.events.account import AccountCommand, Deposit, OpenAccount
from papertape.contract.events.envelope import DeadLetter, Request
from papertape.contract.ids import AccountId, Actor, CorrelationId
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


POISONED = {"account-bad.acct", "account-ghost", "account-big"}


def _raw(event_id: str, type_: str, data: Mapping[str, object]) -> NewEvent:
    metadata = Metadata(
        occurred_at=datetime(2026, 1, 2, tzinfo=UTC),
        correlation_id=CorrelationId(event_id),
        actor=Actor("old-code"),
    )
    return NewEvent(
        event_id=event_id,
        type=type_,
        schema_version=1,
        data=msgspec.json.encode(data),
        metadata=encode(metadata),
    )


async def test_an_event_the_relay_can_never_publish_is_quarantined_once_and_the_rest_go_on(
    fresh_database: str,
    nats_client: Client,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    """What older code or a superuser left in the log: a stream id that is no subject token,
    a type no code knows, an event larger than NATS takes. Each is set aside with its reason;
    the good events around them are published in order; a restarted relay sets none aside
    again."""
    log = await PostgresEventLog.connect(fresh_database)
    try:
        book = AccountBook(log, log, SystemClock())
        await write_events(book, accounts=1, deposits=1)
        opened = {
            "type": "account_opened.v1",
            "account_id": "x",
            "ts": "2026-01-02T00:00:00Z",
            "name": "X",
            "base_currency": "USD",
            "initial_cash": "1000",
            "allow_short": False,
            "margin_requirement": "0.5",
        }
        await log.append("account-bad.acct", None, [_raw(ids.new(), "account_opened", opened)])
        await log.append("account-ghost", None, [_raw(ids.new(), "no_such_event", {"a": 1})])
        big = {
            "type": "funds_deposited.v1",
            "account_id": "big",
            "ts": "2026-01-02T00:00:00Z",
            "amount": "1",
            "reference": "x" * 1_200_000,
        }
        await log.append("account-big", None, [_raw(ids.new(), "funds_deposited", big)])
        later = AccountBook(log, log, SystemClock())
        await write_events(later, accounts=2, deposits=1)  # acc-0 is there: acc-1 is new
        js = nats_client.jetstream()
        relay = AccountRelay(fresh_database, js, subjects, batch_size=2)
        await relay.catch_up()
        again = AccountRelay(fresh_database, js, subjects, batch_size=2)
        await again.catch_up()
        published = [subject for subject, _ in await stream_messages(nats_client, subjects)]
        letters = await dead_letters(nats_client, subjects)
        good = [
            r.stream_id.removeprefix("account-")
            async for batch in log.read_all()
            for r in batch
            if r.stream_id not in POISONED
        ]
    finally:
        await log.close()
    assert [subject.split(".")[-2] for subject in published] == good
    assert good[-1] == "acc-1"  # the events after the poison ones went out too
    assert relay.quarantined == 3
    assert again.quarantined == 0
    assert sorted(letter.error_type for letter in letters) == sorted(
        ["ValueError", "ValidationError", "MaxPayloadError"]
    ), [letter.reason for letter in letters]
    assert all(letter.reason.startswith("quarantined: ") for letter in letters)


async def dead_letters(nc: Client, subjects: Subjects) -> list[DeadLetter]:
    js = nc.jetstream()
    info = await js.stream_info(subjects.stream("DEADLETTER"))
    sub = await js.subscribe(subjects.all_dead_letters(), ordered_consumer=True)
    letters = []
    for _ in range(info.state.messages):
        msg = await sub.next_msg(timeout=5)
        letters.append(msgspec.json.decode(msg.data, type=DeadLetter))
    await sub.unsubscribe()
    return letters
