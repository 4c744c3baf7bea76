"""A recorded account and bot session read from the event log (the database, or a log file)."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from papertape.cli import endpoints
from papertape.cli.backtests.logs import read_log
from papertape.common.eventlog import EventLog
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.codec import Codec, upcast
from papertape.contract.events.account import AccountEvent, account_stream
from papertape.contract.events.sessions import SessionEvent, SessionStarted, session_stream
from papertape.contract.events.signals import SignalEvent
from papertape.trading.account.stored import event_codec

session_codec: Codec[SessionEvent | SignalEvent] = Codec(SessionEvent | SignalEvent)


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A session's stream (may be empty) and its account's stream, as recorded."""

    session: list[Any]
    account: list[AccountEvent]

    @property
    def started(self) -> SessionStarted | None:
        return next((e for e in self.session if isinstance(e, SessionStarted)), None)


@asynccontextmanager
async def opened_log(args: argparse.Namespace) -> AsyncIterator[EventLog]:
    """``--log FILE`` when given, else the event log's database."""
    if args.log is not None:
        yield read_log(args.log)
        return
    log = await PostgresEventLog.connect(
        endpoints.database_url(args), min_size=1, max_size=2, migrate=False
    )
    try:
        yield log
    finally:
        await log.close()


async def _stream(log: EventLog, stream: str) -> list[str]:
    return [r.data async for batch in log.read_stream(stream) for r in batch]


async def recorded_run(log: EventLog, *, session: str | None, account: str | None) -> RecordedRun:
    """The session's events and its account's (``account`` when no session is named)."""
    events: list[Any] = []
    if session is not None:
        events = [session_codec.decode(d) for d in await _stream(log, session_stream(session))]
        started = next((e for e in events if isinstance(e, SessionStarted)), None)
        if started is None:
            raise ValueError(f"--session {session!r}: no such session in the log")
        account = account or started.account_id
    if account is None:
        raise ValueError("--session or --account: which recorded run to compare")
    data = await _stream(log, account_stream(account))
    if not data:
        raise ValueError(f"--account {account!r}: no such account in the log")
    return RecordedRun(events, [upcast(event_codec.decode(d)) for d in data])
