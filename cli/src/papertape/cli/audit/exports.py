"""``audit export``: events of the log as JSON Lines, one envelope per line, in position order.

Each line holds the stored columns; ``data`` and ``metadata`` are embedded exactly as stored
(the text the hash covers), hashes are hex. Re-serialising ``data`` and ``metadata`` with
PostgreSQL's ``jsonb`` text rules reproduces the bytes ``event_hash`` needs.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection
from contextlib import aclosing
from datetime import datetime
from typing import IO

import msgspec

from papertape.cli.output import Advance
from papertape.common.eventlog import EventLog, RecordedEvent


class ExportedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One line of an export."""

    position: int
    stream_id: str
    stream_version: int
    event_id: str
    type: str
    schema_version: int
    recorded_at: datetime
    data: msgspec.Raw
    metadata: msgspec.Raw
    prev_hash: str
    hash: str


_encoder = msgspec.json.Encoder()


def exported(recorded: RecordedEvent) -> ExportedEvent:
    """The export line of one stored event."""
    return ExportedEvent(
        position=recorded.position,
        stream_id=recorded.stream_id,
        stream_version=recorded.stream_version,
        event_id=recorded.event_id,
        type=recorded.type,
        schema_version=recorded.schema_version,
        recorded_at=recorded.recorded_at,
        data=msgspec.Raw(recorded.data.encode()),
        metadata=msgspec.Raw(recorded.metadata.encode()),
        prev_hash=recorded.prev_hash.hex(),
        hash=recorded.hash.hex(),
    )


async def selected(
    log: EventLog,
    *,
    streams: Collection[str] = (),
    from_position: int = 1,
    to_position: int | None = None,
) -> AsyncGenerator[list[RecordedEvent], None]:
    """Batches of the log's events in a position range, only of ``streams`` when given.

    One stream is read by its own index; several are picked out of the whole log, which keeps
    their events interleaved in log order.
    """
    wanted = set(streams)
    if len(wanted) == 1:
        reader = log.read_stream(next(iter(wanted)), to_position=to_position)
        wanted = set()  # the reader chose already; only the start position is left to apply
    else:
        reader = log.read_all(from_position, to_position=to_position)
    async with aclosing(reader) as batches:
        async for batch in batches:
            chosen = [
                r
                for r in batch
                if r.position >= from_position and (not wanted or r.stream_id in wanted)
            ]
            if chosen:
                yield chosen


async def export_jsonl(
    log: EventLog,
    out: IO[bytes],
    *,
    streams: Collection[str] = (),
    from_position: int = 1,
    to_position: int | None = None,
    advance: Advance | None = None,
) -> int:
    """Write the selected events as JSON Lines; how many were written."""
    written = 0
    batches = selected(log, streams=streams, from_position=from_position, to_position=to_position)
    async for batch in batches:
        for recorded in batch:
            out.write(_encoder.encode(exported(recorded)) + b"\n")
        written += len(batch)
        if advance is not None:
            advance(len(batch))
    out.flush()
    return written
