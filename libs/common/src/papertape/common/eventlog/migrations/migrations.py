"""The event log's migrations: the SQL files beside this module, recorded in schema_migrations."""

from __future__ import annotations

from papertape.common.migrations import MigrationSet

EVENTLOG = MigrationSet(
    package="papertape.common.eventlog.migrations", table="schema_migrations", lock_key=0x7A7EE701
)


def available_migrations() -> list[tuple[str, str]]:
    """(name, SQL) of every event-log migration, oldest first."""
    return EVENTLOG.available()


async def apply_migrations(dsn: str) -> list[str]:
    """Apply the event-log migrations this database lacks; returns their names."""
    return await EVENTLOG.apply(dsn)
