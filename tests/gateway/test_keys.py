"""API keys on the real log: issued and revoked as events, stored as a hash, seen by replicas."""

from __future__ import annotations

import asyncio

import pytest

from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.contract.events.apikeys import API_KEYS_STREAM, ApiScope
from papertape.contract.ids import AccountId
from papertape.gateway.access.keys import KeyStore, digest

pytestmark = pytest.mark.integration


async def test_a_key_is_issued_and_revoked_as_events_and_the_log_keeps_only_its_hash(
    fresh_database: str,
) -> None:
    log = await PostgresEventLog.connect(fresh_database, role="papertape_service")
    try:
        store, replica = KeyStore(log), KeyStore(log)
        key, issued = await store.issue(AccountId("acc"), [ApiScope.TRADE], label="bot")
        assert await store.authenticate(key) == issued
        assert await replica.authenticate(key) == issued  # an unknown id makes it read the log
        assert await store.authenticate(key[:-1] + ("x" if key[-1] != "x" else "y")) is None
        stored = [r async for batch in log.read_stream(API_KEYS_STREAM) for r in batch]
        assert [r.type for r in stored] == ["api_key_issued"]
        assert key not in stored[0].data
        assert digest(key) in stored[0].data

        await replica.revoke(issued.key_id, reason="leaked")
        assert await replica.authenticate(key) is None
        await store.refresh()
        assert await store.authenticate(key) is None
        types = [r.type async for batch in log.read_stream(API_KEYS_STREAM) for r in batch]
        assert types == ["api_key_issued", "api_key_revoked"]
    finally:
        await log.close()


async def test_two_stores_issuing_at_once_both_land_in_the_stream(fresh_database: str) -> None:
    log = await PostgresEventLog.connect(fresh_database, role="papertape_service")
    try:
        first, second = KeyStore(log), KeyStore(log)
        await first.issue(None, [ApiScope.ADMIN])
        await second.issue(None, [ApiScope.READ])  # behind by one: reads, then appends
        assert await log.stream_version(API_KEYS_STREAM) == 2
        assert len((await first.refresh(), first.keys())[1]) == 2
    finally:
        await log.close()


async def test_one_store_issuing_and_revoking_at_once_with_refreshes_loses_no_version(
    fresh_database: str,
) -> None:
    """Concurrent requests on one gateway: an append in flight and a refresh that reads it
    (an unknown key's lookup) must leave the store at the stream's version, so the next
    append is not refused forever (it was: a 500 on POST /keys under Schemathesis)."""
    log = await PostgresEventLog.connect(fresh_database, role="papertape_service")
    try:
        store = KeyStore(log)
        issued = await asyncio.gather(
            *(store.issue(AccountId(f"acc-{n}"), [ApiScope.READ]) for n in range(12)),
            *(store.refresh() for _ in range(12)),
        )
        keys = [found for found in issued if isinstance(found, tuple)]
        await asyncio.gather(*(store.revoke(record.key_id) for _key, record in keys[:6]))
        assert store.version == await log.stream_version(API_KEYS_STREAM) == 18
        await store.issue(None, [ApiScope.ADMIN])  # and the store still appends
        assert store.version == 19
    finally:
        await log.close()
