"""Serial lanes: one key's items strictly in order, different keys side by side."""

from __future__ import annotations

import asyncio

from papertape.common.lanes import by_key, in_lanes


def test_items_are_split_by_key_each_keys_in_their_order() -> None:
    items = ["a1", "b1", "a2", "c1", "b2", "a3"]
    assert by_key(items, lambda item: item[0]) == {
        "a": ["a1", "a2", "a3"],
        "b": ["b1", "b2"],
        "c": ["c1"],
    }


async def test_one_keys_items_run_one_after_the_other_and_keys_run_at_once() -> None:
    running: dict[str, int] = {}
    most_at_once = 0
    done: list[str] = []

    async def handle(item: str) -> None:
        nonlocal most_at_once
        key = item[0]
        running[key] = running.get(key, 0) + 1
        assert running[key] == 1, f"two items of {key} at once"
        most_at_once = max(most_at_once, sum(running.values()))
        # Later items of a key finish sooner: only the lane keeps them in order.
        await asyncio.sleep(0.01 / int(item[1:]))
        running[key] -= 1
        done.append(item)

    items = [f"{key}{n}" for n in range(1, 5) for key in "abc"]
    await in_lanes(items, lambda item: item[0], handle)
    for key in "abc":
        assert [item for item in done if item[0] == key] == [f"{key}{n}" for n in range(1, 5)]
    assert most_at_once == 3


async def test_no_items_handle_nothing() -> None:
    async def handle(item: str) -> None:
        raise AssertionError(item)

    await in_lanes([], lambda item: item, handle)
