"""The event log on PostgreSQL (asyncpg): one ``append_events`` call per append.

Reads fetch ranges of positions or versions (both are gap-free), and ask for the next range
before handing out the current one, so the server works while the caller decodes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any, TypeVar

import asyncpg

from papertape.common.eventlog.groupcommit import GroupCommitter
from papertape.common.eventlog.migrations import apply_migrations
from papertape.common.eventlog.port import (
    ConcurrencyError,
    DuplicateEventError,
    LogHead,
    NewEvent,
    RecordedEvent,
    Snapshot,
    StreamInfo,
)

T = TypeVar("T")

NOTIFY_CHANNEL = "papertape_eventlog"
"""Every append notifies this channel, with the new head position, when it commits."""

# Columns in RecordedEvent's field order; JSON as text is what the hash chain covers.
_COLUMNS = (
    "position, stream_id, stream_version, event_id::text, type, schema_version,"
    " data::text, metadata::text, recorded_at, prev_hash, hash"
)
_BY_POSITION = (
    f"SELECT {_COLUMNS} FROM events WHERE position >= $1 AND position <= $2 ORDER BY position"
)
_BY_VERSION = (
    f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2"
    " AND stream_version <= $3 AND position <= $4 ORDER BY stream_version"
)
# The data of a range of a stream as one JSON array, built by the server: a rebuild decodes
# it with one call instead of one per row.
_DATA_BY_VERSION = (
    "SELECT count(*)::int, coalesce(max(stream_version), 0),"
    " '[' || coalesce(string_agg(data::text, ',' ORDER BY stream_version), '') || ']'"
    " FROM events WHERE stream_id = $1 AND stream_version >= $2 AND stream_version <= $3"
    " AND position <= $4"
)
_MAX = 2**63 - 1
_MAX_VERSION = 2**31 - 1
_APPEND = "SELECT actual_version, positions FROM append_events($1, $2, $3, $4, $5, $6, $7)"


def _columns(
    events: Sequence[NewEvent],
) -> tuple[list[str], list[str], list[int], list[str], list[str]]:
    """The events as the column arrays ``append_events`` and ``append_group`` take."""
    return (
        [e.event_id for e in events],
        [e.type for e in events],
        [e.schema_version for e in events],
        [e.data.decode() for e in events],
        [e.metadata.decode() for e in events],
    )


async def append_on(
    conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy,
    stream_id: str,
    expected_version: int | None,
    events: Sequence[NewEvent],
) -> list[int]:
    """Append on a given connection (inside its transaction, if one is open)."""
    if not events:
        return []
    try:
        row = await conn.fetchrow(
            _APPEND,
            stream_id,
            expected_version,
            *_columns(events),
        )
    except asyncpg.UniqueViolationError as error:
        raise DuplicateEventError(stream_id, str(error)) from error
    assert row is not None
    if row["positions"] is None:
        raise ConcurrencyError(stream_id, expected_version, row["actual_version"])
    return list(row["positions"])


_APPEND_GROUP = (
    "SELECT item, actual_version, positions FROM append_group($1, $2, $3, $4, $5, $6, $7, $8)"
    " ORDER BY item"
)


async def append_group_on(
    conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy,
    appends: Sequence[tuple[str, int | None, Sequence[NewEvent]]],
) -> list[list[int] | ConcurrencyError]:
    """Several appends in one round trip, in the caller's transaction; a conflict is returned."""
    events = [e for _, _, batch in appends for e in batch]
    try:
        rows = await conn.fetch(
            _APPEND_GROUP,
            [stream_id for stream_id, _, _ in appends],
            [expected for _, expected, _ in appends],
            [len(batch) for _, _, batch in appends],
            *_columns(events),
        )
    except asyncpg.UniqueViolationError as error:
        raise DuplicateEventError(appends[0][0], f"in a group: {error}") from error
    results: list[list[int] | ConcurrencyError] = []
    for (stream_id, expected, _), row in zip(appends, rows, strict=True):
        if row["positions"] is None:
            results.append(ConcurrencyError(stream_id, expected, row["actual_version"]))
        else:
            results.append(list(row["positions"]))
    return results


async def _read_ahead(
    fetch: Callable[[int], Awaitable[T]],
    first: int,
    last: int,
    step: int,
    is_full: Callable[[T], bool],
) -> AsyncGenerator[T, None]:
    """Fetch the ranges starting at ``first``, ``first + step`` … up to ``last``, each one
    while the consumer handles the one before; stop after a range that is not full."""
    pending: asyncio.Future[T] | None = (
        asyncio.ensure_future(fetch(first)) if first <= last else None
    )
    start = first
    try:
        while pending is not None:
            result = await pending
            pending = None
            start += step
            if is_full(result) and start <= last:
                pending = asyncio.ensure_future(fetch(start))
                await asyncio.sleep(0)  # let the next query go out before we hand this one over
            yield result
    finally:
        if pending is not None:
            await pending  # the connection must be idle before it returns to the pool


async def _pipelined(
    query: asyncpg.prepared_stmt.PreparedStatement,
    first: int,
    last: int,
    size: int,
    prefix: tuple[Any, ...],
    suffix: tuple[Any, ...],
) -> AsyncGenerator[list[RecordedEvent], None]:
    """Rows ``[first, last]`` (by position or version) in batches of ``size``, read ahead."""

    def fetch(start: int) -> Awaitable[list[Any]]:
        return query.fetch(*prefix, start, min(start + size - 1, last), *suffix)

    ranges = _read_ahead(fetch, first, last, size, lambda rows: len(rows) == size)
    async with aclosing(ranges) as batches:
        async for rows in batches:
            if rows:
                yield [RecordedEvent(*row) for row in rows]


class PostgresEventLog:
    """EventLog, SnapshotStore and CheckpointStore over an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, *, group_commit: bool = True) -> None:
        self.pool = pool
        self.committer = GroupCommitter(pool, append_on, append_group_on) if group_commit else None
        self._on_commit: Callable[[float, int], None] | None = None

    def observe(self, observer: Callable[[float, int], None]) -> None:
        """Tell ``observer`` each append transaction's seconds and appends (group size)."""
        self._on_commit = observer
        if self.committer is not None:
            self.committer.on_commit = observer

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        migrate: bool = True,
        group_commit: bool = True,
        role: str | None = None,
    ) -> PostgresEventLog:
        """Open a pool (applying pending migrations first, unless told not to).

        With ``role`` (e.g. ``papertape_service``) every connection logs in as that role, which
        may only read and append: the log's owner migrates, the service cannot rewrite. It is a
        login of its own, not ``SET ROLE`` on the owner's session, which ``RESET ROLE`` undoes.
        """
        if migrate:
            await apply_migrations(dsn)
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, user=role or None
        )
        return cls(pool, group_commit=group_commit)

    async def close(self, grace_s: float = 5.0) -> None:
        """Close the pool; connections still held after ``grace_s`` (an abandoned read) are cut."""
        try:
            await asyncio.wait_for(self.pool.close(), grace_s)
        except TimeoutError:
            self.pool.terminate()

    async def append(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> list[int]:
        """Append atomically; returns the positions (the original ones when retried).

        Concurrent appends share transactions (group commit); each returns after its own
        events are committed.
        """
        if self.committer is not None:
            return await self.committer.append(stream_id, expected_version, events)
        started = time.perf_counter()
        async with self.pool.acquire() as conn:
            positions = await append_on(conn, stream_id, expected_version, events)
        if self._on_commit is not None:
            self._on_commit(time.perf_counter() - started, 1)
        return positions

    async def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        to_position: int | None = None,
        batch_size: int = 1_000,
    ) -> AsyncGenerator[list[RecordedEvent], None]:
        """The stream's events in version order, in batches, optionally as of a position."""
        last = _MAX_VERSION if to_version is None else to_version
        until = _MAX if to_position is None else to_position
        async with self.pool.acquire() as conn:
            query = await conn.prepare(_BY_VERSION)
            first = max(from_version, 1)
            batches = _pipelined(query, first, last, batch_size, (stream_id,), (until,))
            async for batch in batches:
                yield batch

    async def read_stream_data(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_position: int | None = None,
        batch_size: int = 10_000,
    ) -> AsyncGenerator[tuple[int, str], None]:
        """(last version, JSON array of the events' data) per batch, in version order."""
        until = _MAX if to_position is None else to_position
        async with self.pool.acquire() as conn:
            query = await conn.prepare(_DATA_BY_VERSION)

            def fetch(start: int) -> Awaitable[Any]:
                return query.fetchrow(stream_id, start, start + batch_size - 1, until)

            first = max(from_version, 1)
            ranges = _read_ahead(
                fetch, first, _MAX_VERSION, batch_size, lambda r: r[0] == batch_size
            )
            async with aclosing(ranges) as rows:
                async for count, last, blob in rows:
                    if count:
                        yield last, blob

    async def read_all(
        self,
        from_position: int = 1,
        *,
        limit: int | None = None,
        to_position: int | None = None,
        batch_size: int = 1_000,
    ) -> AsyncGenerator[list[RecordedEvent], None]:
        """Every event from ``from_position`` in position order, in batches."""
        first = max(from_position, 1)
        last = await self.head_position()
        if to_position is not None:
            last = min(last, to_position)
        if limit is not None:
            last = min(last, first + limit - 1)
        async with self.pool.acquire() as conn:
            query = await conn.prepare(_BY_POSITION)
            async for batch in _pipelined(query, first, last, batch_size, (), ()):
                yield batch

    async def head_position(self) -> int:
        """The last position (0 when the log is empty)."""
        return int(await self.pool.fetchval("SELECT position FROM log_head"))

    async def head(self) -> LogHead:
        """The head row as stored, and the highest stored position (for the audit to compare)."""
        row = await self.pool.fetchrow(
            "SELECT h.position, h.hash, coalesce((SELECT max(position) FROM events), 0) AS last"
            " FROM log_head h"
        )
        assert row is not None
        return LogHead(position=row["position"], hash=bytes(row["hash"]), last_stored=row["last"])

    async def hash_formula_from(self) -> int:
        """The first position hashed with formula 2 (the recorded time included)."""
        return int(
            await self.pool.fetchval("SELECT from_position FROM hash_formulas WHERE formula = 2")
        )

    async def stream_version(self, stream_id: str) -> int:
        """The stream's last version (0 when it does not exist)."""
        version = await self.pool.fetchval(
            "SELECT stream_version FROM events WHERE stream_id = $1"
            " ORDER BY stream_version DESC LIMIT 1",
            stream_id,
        )
        return int(version or 0)

    async def list_streams(self, prefix: str = "") -> list[StreamInfo]:
        """Every stream whose id starts with ``prefix``, with its version, sorted by id."""
        rows = await self.pool.fetch(
            "SELECT stream_id, max(stream_version) AS version FROM events"
            " WHERE starts_with(stream_id, $1) GROUP BY stream_id ORDER BY stream_id",
            prefix,
        )
        return [StreamInfo(row["stream_id"], row["version"]) for row in rows]

    async def save_snapshot(
        self, stream_id: str, version: int, state_schema_version: int, state: bytes
    ) -> None:
        """Keep the state as of ``version`` (replaces an older snapshot of that schema)."""
        await self.pool.execute(
            "INSERT INTO snapshots (stream_id, state_schema_version, version, state)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (stream_id, state_schema_version) DO UPDATE"
            " SET version = excluded.version, state = excluded.state, taken_at = clock_timestamp()"
            " WHERE snapshots.version <= excluded.version",
            stream_id,
            state_schema_version,
            version,
            state,
        )

    async def load_snapshot(self, stream_id: str, state_schema_version: int) -> Snapshot | None:
        """The latest snapshot taken with this state schema version, if any."""
        row = await self.pool.fetchrow(
            "SELECT version, state FROM snapshots"
            " WHERE stream_id = $1 AND state_schema_version = $2",
            stream_id,
            state_schema_version,
        )
        if row is None:
            return None
        return Snapshot(stream_id, row["version"], state_schema_version, bytes(row["state"]))

    async def load_checkpoint(self, name: str) -> int:
        """The last position the subscriber handled (0 when it never ran)."""
        return await load_checkpoint_on(self.pool, name)

    async def save_checkpoint(self, name: str, position: int) -> None:
        """Record that the subscriber handled everything up to ``position``."""
        await save_checkpoint_on(self.pool, name, position)


async def load_checkpoint_on(conn: Any, name: str) -> int:
    """A subscriber's checkpoint, read on a given connection or pool."""
    position = await conn.fetchval("SELECT position FROM checkpoints WHERE name = $1", name)
    return int(position or 0)


async def save_checkpoint_on(conn: Any, name: str, position: int) -> None:
    """Move a subscriber's checkpoint on a given connection (inside its transaction, if any)."""
    await conn.execute(
        "INSERT INTO checkpoints (name, position) VALUES ($1, $2) ON CONFLICT (name)"
        " DO UPDATE SET position = excluded.position, updated_at = clock_timestamp()",
        name,
        position,
    )
