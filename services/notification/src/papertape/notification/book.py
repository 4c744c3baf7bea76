"""The rule book: every account's rules and endpoints, rebuilt from its stream, changed through it.

One writer per account: a command is decided under the account's lock against the state its
stream gives and appended with the stream's version as the optimistic-concurrency check; event
ids come from the request id, so a command sent twice finds its events in the log already.
"""

from __future__ import annotations

import asyncio
from typing import Any

from papertape.common.clock import Clock
from papertape.common.eventlog import EventLog, decode_envelope, new_event
from papertape.contract.codec import Codec
from papertape.contract.events.envelope import Envelope, Request
from papertape.contract.events.notifications import (
    NOTIFY_STREAM_PREFIX,
    NotificationCommand,
    NotificationEvent,
    notify_stream,
)
from papertape.contract.ids import (
    Actor,
    CausationId,
    CorrelationId,
    EventId,
    StreamId,
    derived_uuid7,
)
from papertape.notification.rules import AccountNotifications, decide, evolve

ACTOR = Actor("notification")
notification_events: Codec[NotificationEvent] = Codec(NotificationEvent)


class RuleBook:
    """Every account's notification set-up, with its stream's version."""

    def __init__(self, log: EventLog, clock: Clock, *, allow_private: bool) -> None:
        self._log = log
        self._clock = clock
        self._allow_private = allow_private
        self.accounts: dict[str, AccountNotifications] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def of(self, account_id: str) -> AccountNotifications:
        """An account's set-up (empty when it never set one up)."""
        return self.accounts.get(account_id) or AccountNotifications(account_id=account_id)

    async def load(self, account_id: str) -> AccountNotifications:
        """Rebuild one account from its stream."""
        state = AccountNotifications(account_id=account_id)
        async for batch in self._log.read_stream(notify_stream(account_id)):
            for recorded in batch:
                event = decode_envelope(recorded, notification_events).data
                state = evolve(state, event)
                state = AccountNotifications(
                    account_id, state.endpoints, state.rules, recorded.stream_version
                )
        self.accounts[account_id] = state
        return state

    async def load_all(self) -> tuple[int, int]:
        """Rebuild every account; (accounts, rules)."""
        for stream in await self._log.list_streams(NOTIFY_STREAM_PREFIX):
            await self.load(stream.stream_id.removeprefix(NOTIFY_STREAM_PREFIX))
        return len(self.accounts), sum(len(a.rules) for a in self.accounts.values())

    def check(self, command: NotificationCommand) -> None:
        """``Refusal`` if the command would be refused now (nothing is decided for good)."""
        decide(
            command,
            self.of(command.account_id),
            self._clock.now(),
            allow_private=self._allow_private,
        )

    async def execute(self, request: Request[NotificationCommand]) -> list[Envelope[Any]]:
        """Decide a command and append its events (``Refusal`` when it cannot be done)."""
        command = request.body
        account = command.account_id
        async with self._locks.setdefault(account, asyncio.Lock()):
            state = self.of(account)
            now = self._clock.now()
            events = decide(command, state, now, allow_private=self._allow_private)
            ms = int(now.timestamp() * 1000)
            envelopes: list[Envelope[Any]] = [
                Envelope(
                    event_id=EventId(derived_uuid7(f"{request.request_id}:{i}", ms)),
                    stream_id=StreamId(notify_stream(account)),
                    stream_version=state.version + i + 1,
                    occurred_at=now,
                    correlation_id=request.correlation_id or CorrelationId(request.request_id),
                    causation_id=CausationId(request.request_id),
                    actor=request.actor or ACTOR,
                    data=event,
                )
                for i, event in enumerate(events)
            ]
            try:
                await self._log.append(
                    notify_stream(account), state.version, [new_event(e) for e in envelopes]
                )
            except Exception:
                await self.load(account)  # someone else moved the stream: take the log's word
                raise
            for event in events:
                state = evolve(state, event)
            self.accounts[account] = AccountNotifications(
                account, state.endpoints, state.rules, state.version + len(events)
            )
            return envelopes
