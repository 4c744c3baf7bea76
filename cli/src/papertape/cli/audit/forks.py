"""``audit fork``: a new account whose history is a copy of another's up to a position.

Each copy gets an id of its own (derived from the original's id and the new account, so a
retried fork appends nothing new), ``account_id`` rewritten, the original's time and
correlation, and ``causation_id`` = the original event's id: the lineage stays in the log.
The original stream is only read.
"""

from __future__ import annotations

import msgspec

from papertape.common.eventlog import (
    ConcurrencyError,
    EventLog,
    NewEvent,
    RecordedEvent,
    decode_envelope,
    new_event,
)
from papertape.contract.events.account import account_stream
from papertape.contract.ids import (
    AccountId,
    Actor,
    CausationId,
    EventId,
    derived_uuid7,
    uuid7_time_or,
)
from papertape.trading.account.stored import event_codec


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
    return derived_uuid7(f"{original_id}:{into}", uuid7_time_or(original_id, 0))


def forked_event(recorded: RecordedEvent, into: str, actor: Actor) -> NewEvent:
    """The copy of one stored account event for account ``into``."""
    original = decode_envelope(recorded, event_codec)
    copy = msgspec.structs.replace(
        original,
        event_id=EventId(fork_event_id(recorded.event_id, into)),
        causation_id=CausationId(recorded.event_id),
        actor=actor,
        traceparent=None,
        tracestate=None,
        data=msgspec.structs.replace(original.data, account_id=AccountId(into)),
    )
    return new_event(copy)


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
