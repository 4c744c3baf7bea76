"""The path an event takes to the people it concerns (also what ``bench`` measures).

Decode the event, make its notifications (``happenings``), find the targets the account's rules
name (``rules.targets``), store one delivery per endpoint (idempotent: ids derive from the
notification and the endpoint) and wake the dispatcher, then publish the notification on
``notify.<account>`` for the gateway's sockets. Only then is the event acknowledged, so a crash
before the deliveries are stored sees the event again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import msgspec
from nats.aio.client import Client

from papertape.common.clock import Clock
from papertape.contract.codec import Codec, encode, upcast
from papertape.contract.events.account import AccountEvent, OrderFilledV2, OrderPlaced
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.execution import ExecutionReport
from papertape.contract.events.notifications import Happening, Notified, notify_stream
from papertape.contract.events.sessions import SessionEvent, SessionStarted
from papertape.contract.events.signals import SignalEvent, SignalGenerated
from papertape.contract.ids import (
    Actor,
    CausationId,
    CorrelationId,
    EventId,
    StreamId,
    derived_uuid7,
    uuid7_time_or,
)
from papertape.contract.subjects import Subjects
from papertape.notification import happenings
from papertape.notification.book import RuleBook
from papertape.notification.dispatcher import Dispatcher
from papertape.notification.portfolio import SUMMARY_QUERY, PortfolioAway, account_summary
from papertape.notification.rules import Targets, drawdown_rules, target_of, targets
from papertape.notification.store import DeliveryStore, NewDelivery

ACTOR = Actor("notification")
account_events: Codec[Envelope[AccountEvent]] = Codec(Envelope[AccountEvent])
execution_reports: Codec[Envelope[ExecutionReport]] = Codec(Envelope[ExecutionReport])
signal_events: Codec[Envelope[SignalEvent]] = Codec(Envelope[SignalEvent])
session_events: Codec[Envelope[SessionEvent]] = Codec(Envelope[SessionEvent])


ROLES_KEPT = 100_000
"""Orders whose bracket role is kept in memory (the table keeps them all)."""


@dataclass
class Outbox:
    """What a batch of events makes: notifications with their targets, roles to remember."""

    notifications: list[tuple[Notified, Targets]] = field(default_factory=list)
    roles: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, notified: Notified, to: Targets) -> None:
        if to:
            self.notifications.append((notified, to))


def delivery_id(notification_id: str, account_id: str, endpoint_id: str) -> str:
    """A delivery's id: the same notification to the same endpoint is always the same one."""
    ms = uuid7_time_or(notification_id, 0)
    return derived_uuid7(f"{notification_id}:{account_id}:{endpoint_id}", ms)


class Notifier:
    """Turns events into deliveries and socket messages."""

    def __init__(
        self,
        book: RuleBook,
        store: DeliveryStore,
        clock: Clock,
        subjects: Subjects,
        *,
        budget: int,
        log: logging.Logger,
    ) -> None:
        self.book = book
        self.store = store
        self.clock = clock
        self.subjects = subjects
        self.budget = budget
        self.log = log
        self.nc: Client | None = None
        """Set once connected (socket messages and portfolio queries)."""
        self.dispatcher: Dispatcher | None = None
        self.roles: dict[str, str] = {}
        """Bracket roles of recent orders (``_remember_role``)."""
        self.notified = 0

    # --- the streams (a batch at a time: its deliveries are stored together) -----------------
    async def on_account_event(self, data: bytes, out: Outbox) -> None:
        envelope = account_events.decode(data)
        event = upcast(envelope.data)  # a stored v1 fill reads as the current version
        envelope = msgspec.structs.replace(envelope, data=event)
        if isinstance(event, OrderPlaced):  # its role tells a stop-loss fill from a plain one
            self._remember_role(event.order_id, event.role.value)
            out.roles.append((event.order_id, event.account_id, event.role.value))
            return
        role = None
        if isinstance(event, OrderFilledV2):
            role = self.roles.get(event.order_id) or await self.store.order_role(event.order_id)
        for notified in happenings.of_account_event(envelope, role):
            to = targets(self.book.of(notified.account_id), notified.happening)
            out.add(notified, to)

    async def on_execution_report(self, data: bytes, out: Outbox) -> None:
        envelope = execution_reports.decode(data)
        for notified in happenings.of_execution_report(envelope):
            out.add(notified, targets(self.book.of(notified.account_id), notified.happening))

    async def on_signal(self, data: bytes, out: Outbox) -> None:
        signal = signal_events.decode(data).data
        if not isinstance(signal, SignalGenerated):
            return
        state = self.book.of(signal.account_id)
        to = targets(state, Happening.SIGNAL, confidence=signal.confidence)
        out.add(happenings.of_signal(signal), to)

    async def on_session_event(self, data: bytes, out: Outbox) -> None:
        envelope = session_events.decode(data)
        event = envelope.data
        if isinstance(event, SessionStarted):
            # Kept for the events recorded before they carried their account (None there).
            await self.store.remember_session(event.session_id, event.account_id)
        account = event.account_id or await self.store.session_account(event.session_id)
        if account is None:
            return  # an old event of a session started before this service first ran
        for notified in happenings.of_session_event(envelope, account):
            out.add(notified, targets(self.book.of(account), notified.happening))

    def _remember_role(self, order_id: str, role: str) -> None:
        if len(self.roles) >= ROLES_KEPT:
            del self.roles[next(iter(self.roles))]  # the oldest: the table has it still
        self.roles[order_id] = role

    # --- the watched levels ------------------------------------------------------------------
    async def watch(self) -> None:
        """Accounts with drawdown or daily P&L rules: their summary against the rules."""
        if self.nc is None:
            return
        now = self.clock.now()
        subject = self.subjects.portfolio_query(SUMMARY_QUERY)
        for account, state in list(self.book.accounts.items()):
            daily = targets(state, Happening.DAILY_PNL)
            levels = drawdown_rules(state)
            if not daily and not levels:
                continue
            try:
                summary = await account_summary(self.nc, subject, account, now)
            except PortfolioAway as error:
                self.log.info("account %s not looked at: %s", account, error)
                continue
            if summary is None:
                continue
            day = now.date()
            for rule_id, level in levels:
                notified = happenings.of_drawdown(summary, rule_id, level, day, now)
                if notified is not None and await self.store.first_time(
                    notified.notification_id, account
                ):
                    rule_targets = targets(state, Happening.DRAWDOWN, rule_id=rule_id)
                    await self.notify(notified, rule_targets)
            opening = await self.store.day_open(account, day, summary.equity)
            if daily and opening is not None:
                yesterday = day - timedelta(days=1)
                notified = happenings.of_daily_pnl(summary, yesterday, opening, now)
                if await self.store.first_time(notified.notification_id, account):
                    await self.notify(notified, daily)

    # --- out -----------------------------------------------------------------------------------
    async def notify(self, notified: Notified, to: Targets) -> None:
        """One notification out now (the watch loop's)."""
        out = Outbox()
        out.add(notified, to)
        await self.flush(out)

    async def flush(self, out: Outbox) -> None:
        """Store what a batch remembers and its deliveries, wake the dispatcher, then tell the
        sockets. Deliveries are stored before the batch is acknowledged (the caller acks)."""
        await self.store.remember_orders(out.roles)
        deliveries = [
            NewDelivery(
                delivery_id=delivery_id(
                    notified.notification_id, notified.account_id, endpoint.endpoint_id
                ),
                account_id=notified.account_id,
                endpoint_id=endpoint.endpoint_id,
                kind=endpoint.kind,
                target=target_of(endpoint),
                notification_id=notified.notification_id,
                happening=notified.happening,
                payload=encode(notified),
            )
            for notified, to in out.notifications
            for endpoint in to.endpoints
        ]
        stored = await self.store.enqueue(deliveries, self.budget, self.clock.now())
        if stored and self.dispatcher is not None:
            self.dispatcher.wake()
        for notified, to in out.notifications:
            if to.websocket:
                await self.publish(self.envelope(notified))
        self.notified += len(out.notifications)

    def envelope(self, notified: Notified) -> Envelope[Any]:
        return Envelope(
            event_id=EventId(notified.notification_id),
            stream_id=StreamId(notify_stream(notified.account_id)),
            stream_version=0,
            occurred_at=notified.ts,
            correlation_id=CorrelationId(notified.notification_id),
            causation_id=CausationId(notified.notification_id),
            actor=ACTOR,
            data=notified,
        )

    async def publish(self, envelope: Envelope[Any]) -> None:
        """An envelope on ``notify.<account>`` (core NATS: the sockets of this moment)."""
        if self.nc is not None:
            account = envelope.data.account_id
            await self.nc.publish(self.subjects.notify(account), encode(envelope))
