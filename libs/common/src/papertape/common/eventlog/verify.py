"""Audit the log: the hash chain is intact, positions are gap-free, versions contiguous,
recorded times never run backwards, the head row agrees with the last event and no row lies
beyond it, and every anchor taken outside the database still matches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from papertape.common.eventlog.anchors import Anchor
from papertape.common.eventlog.hashchain import GENESIS_HASH, event_hash
from papertape.common.eventlog.port import EventLog, LogHead, RecordedEvent


class Verification(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of an audit: how far it got and, on failure, the first bad position."""

    checked: int
    head_position: int
    anchors_checked: int = 0
    first_bad_position: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when every event checked out."""
        return self.first_bad_position is None


class _Chain:
    """What the walk has seen so far: the next position, the last hash, time and versions."""

    def __init__(self, formula2_from: int) -> None:
        self.formula2_from = formula2_from
        self.expected = 1
        self.prev_hash = GENESIS_HASH
        self.last: RecordedEvent | None = None
        self.versions: dict[str, int] = {}

    def fault(self, event: RecordedEvent) -> str | None:
        """Why this event does not continue the chain, or None when it does."""
        if event.position != self.expected:
            return f"position gap: expected {self.expected}, found {event.position}"
        if event.prev_hash != self.prev_hash:
            return "previous hash does not match the chain"
        formula2 = event.position >= self.formula2_from
        digest = event_hash(
            self.prev_hash,
            event.position,
            event.stream_id,
            event.stream_version,
            event.event_id,
            event.type,
            event.schema_version,
            event.data,
            event.metadata,
            event.recorded_at if formula2 else None,
        )
        if digest != event.hash:
            return "hash does not match the event's contents"
        if self.last is not None and event.recorded_at < self.last.recorded_at:
            return "recorded time runs backwards"
        expected_version = self.versions.get(event.stream_id, 0) + 1
        if event.stream_version != expected_version:
            return (
                f"stream {event.stream_id!r} version gap: expected {expected_version},"
                f" found {event.stream_version}"
            )
        return None

    def take(self, event: RecordedEvent) -> None:
        """Move past a sound event."""
        self.versions[event.stream_id] = event.stream_version
        self.prev_hash = event.hash
        self.last = event
        self.expected += 1


def _head_fault(head: LogHead, chain: _Chain) -> tuple[int, str] | None:
    """The head row against the walked chain: (first bad position, reason) or None."""
    if head.last_stored > head.position:
        return head.position + 1, f"a row lies beyond the head {head.position}"
    if chain.expected - 1 != head.position:
        return chain.expected, f"the log ends before its head {head.position}"
    if head.hash != chain.prev_hash:
        return max(head.position, 1), "the head's hash does not match the last event"
    return None


def _anchor_fault(
    anchors: Sequence[Anchor], hashes: dict[int, bytes], last: int
) -> tuple[int, str] | None:
    """The lowest anchor the log no longer matches: (first bad position, reason) or None."""
    for anchor in sorted(anchors, key=lambda a: a.position):
        if anchor.position > last:
            return last + 1, f"the log ends before the anchor at {anchor.position}"
        if hashes.get(anchor.position, GENESIS_HASH).hex() != anchor.hash:
            return anchor.position, f"the hash at {anchor.position} does not match its anchor"
    return None


async def verify_log(
    log: EventLog,
    *,
    anchors: Sequence[Anchor] = (),
    batch_size: int = 5_000,
    advance: Callable[[int], object] | None = None,
) -> Verification:
    """Check every event from the first; stops at the first fault and reports its position.

    ``anchors`` (heads recorded outside the database) must each still match the log.
    ``advance`` is told how many events each batch held (a progress bar, for one).
    """
    head = await log.head()
    chain = _Chain(await log.hash_formula_from())
    wanted = {anchor.position for anchor in anchors}
    hashes: dict[int, bytes] = {}
    last = max(head.position, head.last_stored)
    async for batch in log.read_all(1, to_position=last, batch_size=batch_size):
        for event in batch:
            reason = chain.fault(event)
            if reason is not None:
                return Verification(
                    checked=chain.expected - 1,
                    head_position=head.position,
                    first_bad_position=chain.expected,
                    reason=reason,
                )
            if event.position in wanted:
                hashes[event.position] = event.hash
            chain.take(event)
        if advance is not None:
            advance(len(batch))
    faults = [_anchor_fault(anchors, hashes, chain.expected - 1), _head_fault(head, chain)]
    found = min((fault for fault in faults if fault is not None), default=None)
    if found is not None:
        return Verification(
            checked=min(chain.expected, found[0]) - 1,
            head_position=head.position,
            anchors_checked=len(anchors),
            first_bad_position=found[0],
            reason=found[1],
        )
    return Verification(
        checked=head.position, head_position=head.position, anchors_checked=len(anchors)
    )
