"""Watched levels and the other streams, on real NATS and PostgreSQL beside an in-process
portfolio: drawdown beyond a rule's level once a day, the day's P&L once the day is over (the
service's clock is a fake one, moved by the test); a bot session's start and a signal at or
above a rule's confidence reach the account's socket subject, and so does the end of a session
whose start this service never saw when the event names its account."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from nats.aio.client import Client

from papertape.common.clock import FakeClock
from papertape.common.idgen import Uuid7Generator
from papertape.common.testing.examples import example_of
from papertape.contract.codec import Codec, encode
from papertape.contract.events.account import OpenAccount
from papertape.contract.events.base import message_name
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.notifications import AddRule, Happening, Notified
from papertape.contract.events.sessions import SessionStarted, SessionStatus, SessionStopped
from papertape.contract.events.signals import SignalGenerated
from papertape.contract.ids import Actor, CorrelationId, EventId, StreamId
from papertape.contract.subjects import StreamSpec, Subjects
from papertape.notification.bootstrap import NotificationService, build
from papertape.portfolio.bootstrap import Portfolio
from tests.notification.conftest import ACC, NotificationClient, settings_for
from tests.portfolio.conftest import PortfolioClient, client, portfolio  # noqa: F401

pytestmark = [pytest.mark.integration]
feed: Codec[Envelope[Notified]] = Codec(Envelope[Notified])
DAY = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
_ids = Uuid7Generator()


@pytest_asyncio.fixture
async def watching(
    nats_url: str,
    fresh_database: str,
    subjects: Subjects,
    jetstream_streams: tuple[StreamSpec, ...],
    portfolio: Portfolio,  # noqa: F811
) -> AsyncIterator[tuple[NotificationService, FakeClock]]:
    clock = FakeClock(DAY)
    settings = settings_for(nats_url, fresh_database, subjects, watch_interval_s=3600)
    service = await build(settings, clock=clock)
    serving = asyncio.create_task(service.serve())
    try:
        yield service, clock
    finally:
        service.runtime.stop()
        await serving
        await service.close()


async def told(nc: Client, subjects: Subjects) -> tuple[list[Notified], Any]:
    seen: list[Notified] = []

    async def on_message(msg: Any) -> None:
        seen.append(feed.decode(msg.data).data)

    return seen, await nc.subscribe(subjects.notify(ACC), cb=on_message)


async def settle(seen: list[Notified], count: int) -> None:
    for _ in range(200):
        if len(seen) >= count:
            break
        await asyncio.sleep(0.025)
    await asyncio.sleep(0.2)  # and nothing more


async def test_drawdown_notifies_once_a_day_and_the_days_pnl_once_it_is_over(
    watching: tuple[NotificationService, FakeClock],
    client: PortfolioClient,  # noqa: F811
    nats_client: Client,
    subjects: Subjects,
) -> None:
    service, clock = watching
    assert (await client.command(OpenAccount(account_id=ACC, name="Watched"))).ok
    notify = await NotificationClient(nats_client, subjects).until_ready()
    rule = AddRule(
        account_id=ACC,
        rule_id="risk",
        happenings=(Happening.DRAWDOWN, Happening.DAILY_PNL),
        drawdown_pct=Decimal(0),  # any drawdown at all, even none: the level is reached
    )
    assert (await notify.command(rule)).ok
    seen, subscription = await told(nats_client, subjects)
    try:
        await service.notifier.watch()
        clock.advance(timedelta(seconds=30))  # a later look, the same day: nothing new
        await service.notifier.watch()
        await settle(seen, 1)
        assert [n.happening for n in seen] == [Happening.DRAWDOWN]
        assert seen[0].details["level_pct"] == "0"

        clock.advance(timedelta(days=1))
        await service.notifier.watch()
        await service.notifier.watch()
        await settle(seen, 3)
    finally:
        await subscription.unsubscribe()
    assert sorted(n.happening for n in seen[1:]) == [Happening.DAILY_PNL, Happening.DRAWDOWN]
    daily = next(n for n in seen if n.happening is Happening.DAILY_PNL)
    assert daily.details["day"] == DAY.date().isoformat()
    assert daily.details["pnl"] == "0.00"
    assert daily.details["equity"] == daily.details["opening_equity"]


def _envelope(event: Any, stream: str) -> bytes:
    envelope = Envelope(
        event_id=EventId(_ids.new()),
        stream_id=StreamId(stream),
        stream_version=1,
        occurred_at=event.ts,
        correlation_id=CorrelationId("test"),
        actor=Actor("test"),
        data=event,
    )
    return encode(envelope)


async def test_a_session_start_and_a_sure_signal_reach_the_socket_and_an_unsure_one_does_not(
    watching: tuple[NotificationService, FakeClock],
    nats_client: Client,
    subjects: Subjects,
) -> None:
    notify = await NotificationClient(nats_client, subjects).until_ready()
    rule = AddRule(
        account_id=ACC,
        rule_id="bots",
        happenings=(Happening.SESSION_STARTED, Happening.SIGNAL),
        min_confidence=70,
    )
    assert (await notify.command(rule)).ok
    overrides = {
        "params_hash": "0123456789abcdef",
        "parameters": {"fast": 5},
        "account_id": ACC,
        "session_id": "bot-1",
    }
    started = example_of(SessionStarted, overrides)
    sure = example_of(SignalGenerated, {**overrides, "confidence": 85, "signal_id": "s-sure"})
    unsure = example_of(SignalGenerated, {**overrides, "confidence": 40, "signal_id": "s-unsure"})
    seen, subscription = await told(nats_client, subjects)
    js = nats_client.jetstream()
    try:
        subject = subjects.session_event("bot-1", message_name(SessionStarted))
        await js.publish(subject, _envelope(started, "session-bot-1"))
        for signal in (unsure, sure):
            subject = subjects.signal(signal.strategy, signal.symbol)
            await js.publish(subject, _envelope(signal, "session-bot-1"))
        await settle(seen, 2)
    finally:
        await subscription.unsubscribe()
    # Two consumers (sessions, signals): each in order, not with each other.
    assert sorted(n.happening for n in seen) == [Happening.SESSION_STARTED, Happening.SIGNAL]
    signal = next(n for n in seen if n.happening is Happening.SIGNAL)
    assert (signal.details["signal_id"], signal.details["confidence"]) == ("s-sure", "85")


async def test_a_session_end_that_names_its_account_is_told_without_its_start(
    watching: tuple[NotificationService, FakeClock],
    nats_client: Client,
    subjects: Subjects,
) -> None:
    notify = await NotificationClient(nats_client, subjects).until_ready()
    rule = AddRule(account_id=ACC, rule_id="ends", happenings=(Happening.SESSION_ENDED,))
    assert (await notify.command(rule)).ok
    # Neither session's start went by: the old event (no account) has nowhere to go.
    old = SessionStopped(session_id="old-bot", ts=DAY, status=SessionStatus.STOPPED)
    new = SessionStopped(session_id="new-bot", ts=DAY, account_id=ACC, status=SessionStatus.STOPPED)
    seen, subscription = await told(nats_client, subjects)
    js = nats_client.jetstream()
    try:
        for event in (old, new):
            subject = subjects.session_event(event.session_id, message_name(SessionStopped))
            await js.publish(subject, _envelope(event, f"session-{event.session_id}"))
        await settle(seen, 1)
    finally:
        await subscription.unsubscribe()
    assert [(n.happening, n.details["session_id"]) for n in seen] == [
        (Happening.SESSION_ENDED, "new-bot")
    ]
