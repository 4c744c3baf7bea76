"""Serial lanes: work on different keys runs concurrently, work on one key strictly in order.

An account's commands and reports must be applied in the order they came, but two accounts
never wait for each other: a batch is split by key (the account), each key's items run one
after the other, the keys side by side, so their appends share a group commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def by_key(items: Iterable[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    """The items per key, each key's in their original order."""
    lanes: dict[str, list[T]] = {}
    for item in items:
        lanes.setdefault(key(item), []).append(item)
    return lanes


async def in_lanes(
    items: Iterable[T], key: Callable[[T], str], handle: Callable[[T], Awaitable[object]]
) -> None:
    """Handle every item: one key's in order, different keys concurrently."""

    async def lane(queue: list[T]) -> None:
        for item in queue:
            await handle(item)

    lanes = by_key(items, key)
    if len(lanes) == 1:
        await lane(next(iter(lanes.values())))
    elif lanes:
        await asyncio.gather(*(lane(queue) for queue in lanes.values()))
