"""Accounts rebuilt from the log alone, as of a global position, a stream version or a time."""

from __future__ import annotations

from datetime import datetime

import msgspec

from papertape.common.eventlog import EventLog
from papertape.contract.events.account import account_stream
from papertape.trading.account import INITIAL_STATE, AccountState
from papertape.trading.account.stored import apply_stored


class AccountAsOf(msgspec.Struct, frozen=True, kw_only=True):
    """An account's state after its events up to ``position`` (its ``version``-th event)."""

    state: AccountState
    version: int
    position: int


async def replay_account(
    log: EventLog,
    account_id: str,
    *,
    to_position: int | None = None,
    to_version: int | None = None,
    start: AccountAsOf | None = None,
) -> AccountAsOf:
    """A fresh replay of the account's stream from its first event (no snapshot), or on from
    ``start``, an earlier replay of this audit."""
    state, version, position = INITIAL_STATE, 0, 0
    if start is not None:
        state, version, position = start.state, start.version, start.position
    batches = log.read_stream(
        account_stream(account_id),
        from_version=version + 1,
        to_position=to_position,
        to_version=to_version,
    )
    async for batch in batches:
        for recorded in batch:
            state = apply_stored(state, recorded.data)
            version, position = recorded.stream_version, recorded.position
    return AccountAsOf(state=state, version=version, position=position)


async def position_at(log: EventLog, when: datetime) -> int:
    """The last global position recorded at or before ``when`` (0 when none was).

    The log stamps ``recorded_at`` under its head lock, so times rise with positions and a
    binary search over single-event reads finds the boundary in O(log n) round trips.
    """
    low, high = 0, await log.head_position()
    while low < high:
        middle = (low + high + 1) // 2
        if (await _recorded_at(log, middle)) <= when:
            low = middle
        else:
            high = middle - 1
    return low


async def _recorded_at(log: EventLog, position: int) -> datetime:
    async for batch in log.read_all(position, limit=1):
        if batch:
            return batch[0].recorded_at
    raise LookupError(f"no event at position {position}")
