"""Accounts as the event log keeps them: stored events applied, states snapshotted.

One place for the codecs of stored account events and snapshots, shared by the portfolio's
rebuild and the audit tools' replays, so both read history the same way (upcast on read,
and repaired or voided where it predates the contract's bounds: see papertape.contract.codec).
"""

from __future__ import annotations

import msgspec

from papertape.contract.codec import Codec, HistoryCodec, upcast
from papertape.contract.events.account import AccountEvent
from papertape.contract.history import void_account_event
from papertape.trading.account.evolve import evolve
from papertape.trading.account.state import (
    AccountSnapshot,
    AccountState,
    from_snapshot,
    to_snapshot,
)

event_codec: Codec[AccountEvent] = HistoryCodec(AccountEvent, void_account_event)
event_arrays: Codec[list[AccountEvent]] = HistoryCodec(list[AccountEvent], void_account_event)
snapshot_codec: Codec[AccountSnapshot] = Codec(AccountSnapshot)


def decode_stored(data: str | bytes) -> AccountEvent:
    """One stored event (its JSON data), decoded and upcast to its current version."""
    event: AccountEvent = upcast(event_codec.decode(data))
    return event


def apply_stored(state: AccountState, data: str | bytes) -> AccountState:
    """One stored event (its JSON data, decoded and upcast) applied to a state."""
    return evolve(state, decode_stored(data))


def fold_stored(state: AccountState, events_json: str) -> AccountState:
    """A JSON array of stored events (decoded in one call, upcast) applied to a state."""
    for event in event_arrays.decode(events_json):
        state = evolve(state, upcast(event))
    return state


def encode_state(state: AccountState) -> bytes:
    """A snapshot of the state, as stored."""
    return msgspec.json.encode(to_snapshot(state))


_NON_FINITE = (b'"Infinity"', b'"-Infinity"', b'"NaN"', b'"sNaN"', b'"-NaN"', b'"-sNaN"')


def decode_state(data: bytes) -> AccountState:
    """The state a stored snapshot holds (of this state schema version).

    A snapshot holding a non-finite number was taken from an event the log now voids on read
    (see papertape.contract.codec): it is refused, and the account is replayed from the log.
    """
    if any(token in data for token in _NON_FINITE):
        raise ValueError("the snapshot holds a non-finite number: replay the log instead")
    state = from_snapshot(snapshot_codec.decode(data))
    if state is None:
        raise ValueError("snapshot of another state schema handed to decode_state")
    return state
