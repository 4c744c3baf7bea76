"""``audit fork``: a new account whose history is a copy of another's up to a position.

Each copy gets an id of its own (derived from the original's id and the new account, so a
retried fork appends nothing new), ``account_id`` rewritten, the original's time and
correlation, and ``causation_id`` = the original event's id: the lineage stays in the log.
The original stream is only read.
"""

from __future__ import annotations

import hashlib
import uuid

import msgspec

from papertape.cli.audit.rebuilds import account_events
from papertape.common.codec import encode, upcast
from papertape.common.eventlog import (
    ConcurrencyError,
    EventLog,
    Metadata,
    NewEvent,
    RecordedEvent,
    decode_metadata,
)
from papertape.common.events.account import AccountEvent, account_stream
from papertape.common.events.base import message_name, schema_version
from papertape.common.ids import AccountId, Actor, CausationId, uuid7_from


class ForkError(Exception):
    """The fork cannot be made (nothing to copy, or the new account exists)."""


class Forked(msgspec.Struct, frozen=True, kw_only=True):
    """What a fork appended."""

    account_id: str
    source_account_id: str
    as_of_position: int
    events: int
    positions: list[int]


def fork_event_id(original_id: str, into: str) -> str:
    """A UUIDv7 with the original's time and bits from (original id, new account)."""
    parsed = uuid.UUID(original_id)
    ms = parsed.int >> 80 if parsed.version == 7 else 0
    digest = int.from_bytes(hashlib.sha256(f"{original_id}:{into}".encode()).digest()[:10], "big")
    return str(uuid7_from(ms, digest >> 68, digest))


def forked_event(recorded: RecordedEvent, into: str, actor: Actor) -> NewEvent:
    """The copy of one stored account event for account ``into``."""
    event: AccountEvent = upcast(account_events.decode(recorded.data))
    copy = msgspec.structs.replace(event, account_id=AccountId(into))
    meta = decode_metadata(recorded)
    metadata = Metadata(
        occurred_at=meta.occurred_at,
        correlation_id=meta.correlation_id,
        causation_id=CausationId(recorded.event_id),
        actor=actor,
    )
    return NewEvent(
        event_id=fork_event_id(recorded.event_id, into),
        type=message_name(type(copy)),
        schema_version=schema_version(type(copy)),
        data=encode(copy),
        metadata=encode(metadata),
    )


async def fork_account(
    log: EventLog, account_id: str, *, as_of_position: int, into: str, actor: Actor
) -> Forked:
    """Append a copy of ``account_id``'s events up to ``as_of_position`` as account ``into``."""
    if into == account_id:
        raise ForkError("an account cannot be forked into itself")
    copies: list[NewEvent] = []
    async for batch in log.read_stream(account_stream(account_id), to_position=as_of_position):
        copies.extend(forked_event(recorded, into, actor) for recorded in batch)
    if not copies:
        raise ForkError(f"account {account_id!r} has no events as of position {as_of_position}")
    try:
        positions = await log.append(account_stream(into), 0, copies)
    except ConcurrencyError as error:
        raise ForkError(f"account {into!r} exists already (version {error.actual})") from error
    return Forked(
        account_id=into,
        source_account_id=account_id,
        as_of_position=as_of_position,
        events=len(copies),
        positions=positions,
    )
