"""The delivery log read a page at a time on real PostgreSQL: newest first, each delivery on
exactly one page, dead letters paged alike, and one delivery read on its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import pytest_asyncio

from papertape.contract.events.notifications import DeliveryStatus, EndpointKind, Happening
from papertape.notification.store import Attempt, DeliveryStore, NewDelivery, Outcome
from tests.notification.conftest import ACC

pytestmark = [pytest.mark.integration]

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


def new(n: int, account: str = ACC) -> NewDelivery:
    return NewDelivery(
        delivery_id=f"{account}-d{n:02}",
        account_id=account,
        endpoint_id="hook",
        kind=EndpointKind.WEBHOOK,
        target="https://hooks.example.com/h",
        notification_id=f"n{n}",
        happening=Happening.FILL,
        payload=b"{}",
    )


@pytest_asyncio.fixture
async def store(fresh_database: str) -> AsyncIterator[DeliveryStore]:
    opened = await DeliveryStore.open(fresh_database)
    try:
        yield opened
    finally:
        await opened.close()


async def pages(
    store: DeliveryStore, *, dead_only: bool = False, limit: int = 3
) -> list[list[str]]:
    """Every page of ACC's deliveries, each asked with the last id of the page before."""
    found: list[list[str]] = []
    before: str | None = None
    while True:
        page = await store.views(account_id=ACC, dead_only=dead_only, limit=limit, before=before)
        if not page:
            return found
        found.append([d.delivery_id for d in page])
        before = page[-1].delivery_id


async def test_pages_of_the_delivery_log_hold_every_delivery_once_newest_first(
    store: DeliveryStore,
) -> None:
    for n in range(5):  # one insert each: each created after the one before
        await store.enqueue([new(n)], budget=3, now=NOW)
    await store.enqueue([new(n) for n in range(5, 8)], budget=3, now=NOW)  # one insert
    await store.enqueue([new(0, "acc-other")], budget=3, now=NOW)
    newest_first = [d.delivery_id for d in await store.views(account_id=ACC, limit=100)]
    assert len(newest_first) == 8
    assert newest_first[3:] == [f"{ACC}-d{n:02}" for n in (4, 3, 2, 1, 0)]
    read = await pages(store)
    assert [len(p) for p in read] == [3, 3, 2]
    assert [d for p in read for d in p] == newest_first


async def test_dead_letters_are_paged_alike_and_one_is_read_with_its_attempts(
    store: DeliveryStore,
) -> None:
    for n in range(6):
        await store.enqueue([new(n)], budget=1, now=NOW)
    stored = [await store.get(f"{ACC}-d{n:02}") for n in range(6)]
    failed = Attempt(ok=False, status_code=500, latency_ms=Decimal(3), error="http 500")
    outcomes = [
        Outcome(delivery=d, attempt=failed, at=NOW, retry_at=None)
        for d in stored[::2]
        if d is not None
    ]
    assert await store.record(outcomes) == [DeliveryStatus.DEAD] * 3
    assert await pages(store, dead_only=True, limit=2) == [
        [f"{ACC}-d04", f"{ACC}-d02"],
        [f"{ACC}-d00"],
    ]
    one = await store.view(f"{ACC}-d02")
    assert one is not None
    assert one.status is DeliveryStatus.DEAD
    assert [(a.status_code, a.error) for a in one.history] == [(500, "http 500")]
    assert await store.view("no-such-delivery") is None
    assert await store.views(account_id=ACC, before="no-such-delivery") == []
