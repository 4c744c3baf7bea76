"""A consumer stops when its stop is swallowed on the way: on Python 3.11 nats-py's fetch waits
through ``asyncio.wait_for``, which drops a cancellation that arrives just as a message does.

Before, the consumer fetched on forever and the stop (a service's, or the pipelined fetcher's)
waited for it without end: seen as a test hanging for its whole timeout on a loaded machine.
Here the race is made certain: the fetch swallows the first cancellation and returns as if a
message had come (a later one goes through, so a test that fails still ends).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from nats.aio.msg import Msg

from papertape.common.bus.batches import BatchConsumer
from papertape.common.bus.consumers import _pipelined
from papertape.common.bus.pipeline import KeyedPipeline


class SwallowingSubscription:
    """A pull subscription whose fetch swallows the first cancellation, as 3.11's
    ``wait_for`` can."""

    def __init__(self, brings: list[Msg] | None = None) -> None:
        self.fetches = 0
        self.swallowed = 0
        self.brings = brings
        """What the swallowing fetch returns (a message came with the cancel); None: it
        times out, as a fetch with nothing there does."""

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:  # noqa: ASYNC109 - nats-py's
        self.fetches += 1
        try:
            await asyncio.sleep(timeout if batch == 1 else 0)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed += 1  # the message arrived with the cancel: returned, not raised
            if self.brings is not None:
                return self.brings
        raise TimeoutError

    async def unsubscribe(self) -> None:
        pass


class SwallowingJetStream:
    def __init__(self, brings: list[Msg] | None = None) -> None:
        self.subscription = SwallowingSubscription(brings)

    async def pull_subscribe(self, *_: Any, **__: Any) -> SwallowingSubscription:
        return self.subscription


def _consumer(js: SwallowingJetStream, handle: Any) -> BatchConsumer:
    return BatchConsumer(
        js,  # type: ignore[arg-type]
        "reports.>",
        stream="EXECUTION",
        durable="swallowing",
        config=None,  # type: ignore[arg-type]
        handle=handle,
        log=logging.getLogger("test"),
        batch=8,
        linger_s=0.001,
        idle_s=0.05,
    )


@pytest.mark.parametrize("brings", [None, [Msg(None, subject="reports.a", data=b"r")]])  # type: ignore[arg-type]
async def test_a_consumer_whose_cancellation_was_swallowed_stops_at_its_next_fetch(
    brings: list[Msg] | None,
) -> None:
    """Whether the swallowing fetch timed out or brought a message: the consumer stops, and
    leaves what it fetched unhandled (unacknowledged, delivered again)."""
    handled: list[list[Msg]] = []

    async def handle(messages: list[Msg]) -> None:
        handled.append(messages)

    js = SwallowingJetStream(brings)
    running = asyncio.ensure_future(_consumer(js, handle).run())
    await asyncio.sleep(0.1)  # fetching
    running.cancel()  # once, as a stop does
    await _stopped(running)
    assert js.subscription.swallowed == 1  # the race happened, and the consumer stopped anyway
    assert handled == []


async def test_the_pipelined_fetcher_stops_though_its_cancellation_is_swallowed() -> None:
    async def each(_: Msg) -> None:
        pass

    js = SwallowingJetStream()
    pipeline = KeyedPipeline(each, lambda subject: subject, limit=16)
    running = asyncio.ensure_future(_pipelined(_consumer(js, pipeline.handle), pipeline))
    await asyncio.sleep(0.1)
    running.cancel()
    await _stopped(running)
    assert js.subscription.swallowed >= 1


async def _stopped(running: asyncio.Future[None]) -> None:
    """``running`` ends within 5 s of being cancelled once (else cancelled again, and failed)."""
    await asyncio.wait({running}, timeout=5)
    stopped = running.done()
    if not stopped:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert stopped, "a cancelled consumer went on fetching"
    assert running.cancelled()
