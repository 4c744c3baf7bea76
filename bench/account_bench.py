"""Rebuilding one real account from 1,000,000 events: the portfolio's start-up path end to end.

Read (server-built JSON arrays), decode into typed account events, and the real, pure
``evolve`` of the account domain (cash, equity points, high-water mark …) for every event:
what a portfolio replica pays per account when it starts without a snapshot.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.records import Measurement
from papertape.common.clock import SystemClock
from papertape.common.eventlog import NewEvent, new_event
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.events.account import (
    AccountEvent,
    AccountOpened,
    FundsDeposited,
    account_stream,
)
from papertape.contract.events.envelope import Envelope
from papertape.contract.ids import AccountId, Actor, CorrelationId, EventId, StreamId

EVENTS = int(os.environ.get("BENCH_REBUILD_EVENTS", "1000000"))
ACCOUNT = AccountId("bench")
T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def account_events(start: int, count: int) -> list[NewEvent]:
    """Events ``start`` .. ``start + count - 1`` of the bench account (0 opens it)."""
    made = []
    for n in range(start, start + count):
        ts = T0 + timedelta(seconds=n)
        data: AccountEvent = (
            AccountOpened(
                account_id=ACCOUNT,
                ts=ts,
                name="bench",
                base_currency="USD",
                initial_cash=Decimal(10_000),
                allow_short=False,
                margin_requirement=Decimal("0.5"),
            )
            if n == 0
            else FundsDeposited(account_id=ACCOUNT, ts=ts, amount=Decimal("1.25"), reference="b")
        )
        made.append(
            new_event(
                Envelope(
                    event_id=EventId(str(uuid.uuid4())),
                    stream_id=StreamId(account_stream(ACCOUNT)),
                    stream_version=n + 1,
                    occurred_at=ts,
                    correlation_id=CorrelationId("bench"),
                    actor=Actor("bench"),
                    data=data,
                )
            )
        )
    return made


async def run(dsn: str) -> list[Measurement]:
    """Load EVENTS account events into one stream, then rebuild the account (no snapshot)."""
    # Imported here: the bench may import services (it is not a library); nothing else does.
    from papertape.portfolio.accounts import AccountBook

    log = await PostgresEventLog.connect(dsn, migrate=False, max_size=2)  # migrated already
    try:
        for start in range(0, EVENTS, 10_000):
            await log.append(
                account_stream(ACCOUNT), start, account_events(start, min(10_000, EVENTS - start))
            )
        await log.pool.execute("VACUUM ANALYZE events")
        book = AccountBook(log, log, SystemClock())
        started = time.perf_counter()
        rebuilt = await book.load(ACCOUNT)
        seconds = time.perf_counter() - started
    finally:
        await log.close()
    assert rebuilt.version == EVENTS, (rebuilt.version, EVENTS)
    assert rebuilt.state.cash == Decimal(10_000) + Decimal("1.25") * (EVENTS - 1)
    return [Measurement("portfolio.rebuild_account_real_evolve", EVENTS / seconds, "events/s")]
