"""Background tasks stop even when one swallows its first cancellation."""

from __future__ import annotations

import asyncio
import logging

from papertape.common.tasks import periodically, stop_tasks


async def test_a_task_that_swallows_a_cancellation_is_cancelled_again() -> None:
    swallowed = 0

    async def stubborn_loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed == 0:  # what Python 3.11's wait_for can do to a cancellation
                    swallowed += 1
                    asyncio.current_task().uncancel()  # type: ignore[union-attr]
                    continue
                raise

    task = asyncio.create_task(stubborn_loop())
    await asyncio.sleep(0)
    await stop_tasks([task])
    assert task.cancelled()
    assert swallowed == 1


async def test_finished_and_failed_tasks_are_fine() -> None:
    async def fail() -> None:
        raise ValueError("already failed")

    done = asyncio.create_task(asyncio.sleep(0))
    failed = asyncio.create_task(fail())
    await asyncio.sleep(0.01)
    await stop_tasks([done, failed])
    assert done.done()
    assert failed.done()


async def test_a_periodic_action_that_fails_is_logged_counted_and_run_again() -> None:
    runs: list[str] = []
    failures = 0

    async def close_bars() -> None:
        runs.append("run")
        if len(runs) in (2, 3):
            raise RuntimeError("the store is away")

    def count() -> None:
        nonlocal failures
        failures += 1

    task = asyncio.create_task(
        periodically(
            0.01,
            close_bars,
            what="closing bars",
            log=logging.getLogger("test"),
            on_failure=count,
            pauses=(0.01, 0.02),
        )
    )
    for _ in range(200):
        if len(runs) >= 6:
            break
        await asyncio.sleep(0.01)
    await stop_tasks([task])
    assert len(runs) >= 6  # it went on after two failures in a row
    assert failures == 2
