"""A backtest's log as a file: the engine's envelopes hash-chained as the event log chains them,
written as ``audit export`` writes JSON Lines, and read back for ``audit verify`` and ``replay``.

The recorded time of each event is its market time (never earlier than the event before), so
the same backtest writes the same bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import msgspec

from papertape.cli.audit.exports import ExportedEvent, export_jsonl
from papertape.common.eventlog import InMemoryEventLog, RecordedEvent, new_event
from papertape.contract.events.envelope import Envelope

_lines = msgspec.json.Decoder(ExportedEvent)


class LogFileError(ValueError):
    """A line of a log file that is not an exported event (the message names the line)."""


async def chained(envelopes: Sequence[Envelope[Any]]) -> InMemoryEventLog:
    """The envelopes appended in order to a log whose recorded times are their market times."""
    clock = _MarketClock()
    log = InMemoryEventLog(clock)
    for stream, group in groupby(envelopes, key=lambda e: e.stream_id):
        batch = list(group)
        clock.now = batch[0].occurred_at
        await log.append(stream, batch[0].stream_version - 1, [new_event(e) for e in batch])
    return log


class _MarketClock:
    def __init__(self) -> None:
        self.now = datetime(1970, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def write_log(envelopes: Sequence[Envelope[Any]], path: Path) -> int:
    """Write the log as JSON Lines; how many events."""

    async def write() -> int:
        log = await chained(envelopes)
        with path.open("wb") as out:
            return await export_jsonl(log, out)

    return asyncio.run(write())


def _recorded(lines: Iterable[bytes], path: Path) -> Iterator[RecordedEvent]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            line_event = _lines.decode(line)
            yield RecordedEvent(
                line_event.position,
                line_event.stream_id,
                line_event.stream_version,
                line_event.event_id,
                line_event.type,
                line_event.schema_version,
                bytes(line_event.data).decode(),
                bytes(line_event.metadata).decode(),
                line_event.recorded_at,
                bytes.fromhex(line_event.prev_hash),
                bytes.fromhex(line_event.hash),
            )
        except (msgspec.DecodeError, ValueError) as error:
            raise LogFileError(f"{path}: line {number}: {error}") from error


def read_log(path: Path) -> InMemoryEventLog:
    """A log file (``audit export``'s format) as a log, its stored hashes kept for checking."""
    with path.open("rb") as handle:
        return InMemoryEventLog.of_recorded(_recorded(handle, path))
