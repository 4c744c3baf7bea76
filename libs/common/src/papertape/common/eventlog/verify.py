"""Audit the log: the hash chain is intact, positions are gap-free, versions contiguous."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from papertape.common.eventlog.hashchain import GENESIS_HASH, event_hash
from papertape.common.eventlog.port import EventLog, RecordedEvent


class Verification(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of an audit: how far it got and, on failure, the first bad position."""

    checked: int
    head_position: int
    first_bad_position: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when every event checked out."""
        return self.first_bad_position is None


def _fault(
    event: RecordedEvent, expected_position: int, prev_hash: bytes, versions: dict[str, int]
) -> str | None:
    if event.position != expected_position:
        return f"position gap: expected {expected_position}, found {event.position}"
    if event.prev_hash != prev_hash:
        return "previous hash does not match the chain"
    digest = event_hash(
        prev_hash,
        event.position,
        event.stream_id,
        event.stream_version,
        event.event_id,
        event.type,
        event.schema_version,
        event.data,
        event.metadata,
    )
    if digest != event.hash:
        return "hash does not match the event's contents"
    expected_version = versions.get(event.stream_id, 0) + 1
    if event.stream_version != expected_version:
        return (
            f"stream {event.stream_id!r} version gap: expected {expected_version},"
            f" found {event.stream_version}"
        )
    return None


async def verify_log(
    log: EventLog, *, batch_size: int = 5_000, advance: Callable[[int], object] | None = None
) -> Verification:
    """Check every event from the first; stops at the first fault and reports its position.

    ``advance`` is told how many events each batch held (a progress bar, for one).
    """
    head = await log.head_position()
    prev_hash = GENESIS_HASH
    versions: dict[str, int] = {}
    expected = 1
    async for batch in log.read_all(1, to_position=head, batch_size=batch_size):
        for event in batch:
            reason = _fault(event, expected, prev_hash, versions)
            if reason is not None:
                return Verification(
                    checked=expected - 1,
                    head_position=head,
                    first_bad_position=expected,
                    reason=reason,
                )
            versions[event.stream_id] = event.stream_version
            prev_hash = event.hash
            expected += 1
        if advance is not None:
            advance(len(batch))
    if expected - 1 != head:
        return Verification(
            checked=expected - 1,
            head_position=head,
            first_bad_position=expected,
            reason=f"the log ends before its head {head}",
        )
    return Verification(checked=head, head_position=head)
