"""A pipelined pull consumer: a key's messages in stream order across batches, no key waiting
for another's, a bound on what is in flight, and a failure that fails the consumer."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import pytest

from papertape.common.bus.pipeline import KeyedPipeline


@dataclass
class FakeMsg:
    subject: str
    n: int


def _key(subject: str) -> str:
    return subject.split(".")[1]


class Handler:
    """Notes each message's start and end; a message waits for its release when asked to."""

    def __init__(self, hold: set[int] | None = None) -> None:
        self.started: list[int] = []
        self.ended: list[int] = []
        self.releases: dict[int, asyncio.Event] = {n: asyncio.Event() for n in hold or set()}

    async def __call__(self, raw: Any) -> None:
        self.started.append(raw.n)
        if raw.n in self.releases:
            await self.releases[raw.n].wait()
        else:
            await asyncio.sleep(random.random() / 1000)
        self.ended.append(raw.n)


def _msgs(*pairs: tuple[str, int]) -> list[Any]:
    return [FakeMsg(f"exec.{key}.r", n) for key, n in pairs]


async def _settle() -> None:
    await asyncio.sleep(0.02)  # longer than any unheld message takes


async def test_a_key_waits_for_its_own_earlier_batch_and_no_other_key_does() -> None:
    handler = Handler(hold={1})
    pipeline = KeyedPipeline(handler, _key, limit=100)
    await pipeline.handle(_msgs(("a", 1), ("b", 2)))
    await _settle()
    await pipeline.handle(_msgs(("a", 3), ("b", 4), ("c", 5)))
    await _settle()
    assert {4, 5} <= set(handler.ended)  # b and c went on while a's 1 is held
    assert 3 not in handler.started  # a's next waits for a's earlier batch
    handler.releases[1].set()
    await _settle()
    await asyncio.sleep(0.01)
    assert handler.started.index(1) < handler.started.index(3)
    assert handler.ended.index(1) < handler.started.index(3)
    await pipeline.cancel()


async def test_one_keys_messages_of_a_batch_start_together_in_order() -> None:
    handler = Handler(hold={1, 2})
    pipeline = KeyedPipeline(handler, _key, limit=100)
    await pipeline.handle(_msgs(("a", 1), ("a", 2), ("b", 3)))
    await _settle()
    assert handler.started[:2] == [1, 2]  # neither waits for the other (one mailbox turn)
    await pipeline.cancel()


@pytest.mark.parametrize("seed", range(20))
async def test_each_keys_order_holds_whatever_the_timing(seed: int) -> None:
    """Batches of random keys, a small bound (handle waits for room mid-batch): every key's
    messages start and end in stream order."""
    random.seed(seed)
    handler = Handler()
    pipeline = KeyedPipeline(handler, _key, limit=random.choice([1, 2, 5, 50]))
    n = 0
    sent: dict[str, list[int]] = {}
    for _ in range(15):
        batch = []
        for _ in range(random.randint(1, 12)):
            n += 1
            key = random.choice("abcd")
            batch.append((key, n))
            sent.setdefault(key, []).append(n)
        await pipeline.handle(_msgs(*batch))
    async with asyncio.timeout(5):
        while len(handler.ended) < n:  # noqa: ASYNC110 - the handler's own pace
            await asyncio.sleep(0.001)
    for numbers in sent.values():
        assert [m for m in handler.started if m in numbers] == numbers
    await pipeline.cancel()


async def test_no_more_than_the_limit_is_in_flight() -> None:
    handler = Handler(hold={1, 2, 3})
    pipeline = KeyedPipeline(handler, _key, limit=2)
    blocked = asyncio.create_task(pipeline.handle(_msgs(("a", 1), ("b", 2), ("c", 3))))
    await _settle()
    assert not blocked.done()  # the batch waits for room for its third
    assert handler.started == [1, 2]  # what had room started meanwhile
    handler.releases[1].set()
    handler.releases[2].set()
    await asyncio.wait_for(blocked, 1)
    await _settle()
    assert sorted(handler.started) == [1, 2, 3]
    await pipeline.cancel()


async def test_a_failed_message_fails_the_consumer() -> None:
    async def failing(raw: Any) -> None:
        raise ConnectionError("the connection went away while acknowledging")

    pipeline = KeyedPipeline(failing, _key, limit=10)
    await pipeline.handle(_msgs(("a", 1)))
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(asyncio.shield(pipeline.failed), 1)
    with pytest.raises(ConnectionError):
        await pipeline.handle(_msgs(("a", 2)))
    await pipeline.cancel()


async def test_a_stop_cancels_what_is_in_flight() -> None:
    handler = Handler(hold={1, 2})
    pipeline = KeyedPipeline(handler, _key, limit=10)
    await pipeline.handle(_msgs(("a", 1)))
    await pipeline.handle(_msgs(("a", 2)))  # waiting for a's 1
    await _settle()
    await asyncio.wait_for(pipeline.cancel(), 1)
    assert (handler.started, handler.ended) == ([1], [])
