"""Account histories written straight to the event log, and the command line run in a thread."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from papertape.cli.__main__ import main
from papertape.common.eventlog import EventLog, new_event
from papertape.contract.events.account import (
    AccountEvent,
    AccountOpened,
    FundsDeposited,
    FundsWithdrawn,
    account_stream,
)
from papertape.contract.events.envelope import Envelope
from papertape.contract.ids import AccountId, Actor, CorrelationId, EventId, StreamId

T0 = datetime(2025, 1, 6, 14, 30, tzinfo=UTC)


def opened(account_id: str, cash: str = "10000") -> AccountOpened:
    return AccountOpened(
        account_id=AccountId(account_id),
        ts=T0,
        name=account_id.title(),
        base_currency="USD",
        initial_cash=Decimal(cash),
        allow_short=False,
        margin_requirement=Decimal("0.5"),
    )


def deposited(account_id: str, amount: str, minutes: int = 1) -> FundsDeposited:
    return FundsDeposited(
        account_id=AccountId(account_id), ts=T0 + timedelta(minutes=minutes), amount=Decimal(amount)
    )


def withdrawn(account_id: str, amount: str, minutes: int = 2) -> FundsWithdrawn:
    return FundsWithdrawn(
        account_id=AccountId(account_id), ts=T0 + timedelta(minutes=minutes), amount=Decimal(amount)
    )


async def record(log: EventLog, account_id: str, *events: AccountEvent) -> list[int]:
    """Append events to the account's stream (after whatever it holds); their positions."""
    stream = account_stream(account_id)
    version = await log.stream_version(stream)
    envelopes = [
        new_event(
            Envelope(
                event_id=EventId(str(uuid.uuid4())),
                stream_id=StreamId(stream),
                stream_version=version + index + 1,
                occurred_at=event.ts,
                correlation_id=CorrelationId(f"c-{account_id}"),
                actor=Actor("test"),
                data=event,
            )
        )
        for index, event in enumerate(events)
    ]
    return await log.append(stream, version, envelopes)


async def papertape(*argv: str) -> int:
    """Run the ``papertape`` command line (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(main, list(argv))
