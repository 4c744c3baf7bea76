"""Background tasks: restarted when they fail, run on a period, stopped for sure.

Every background loop of every service is one of two kinds: ``restart_on_failure`` for work
that runs until it returns (a feed, the relay), ``periodically`` for work repeated every N
seconds (closing bars, persisting marks, sweeping expiries). Both log and count a failure and
try again after a pause that grows while the failures go on, so no loop stops for good.

Python 3.11's ``asyncio.wait_for`` can swallow a cancellation that arrives just as its inner
future completes (fixed in 3.12); a loop that then goes on to its next ``sleep`` never ends,
and a service waiting for it never stops. So cancellation is repeated until every task is
done, each time after a short pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

RETRY_S = 0.25


async def stop_tasks(tasks: Iterable[asyncio.Task[object]], *, attempts: int = 40) -> None:
    """Cancel ``tasks`` and wait until all are done, cancelling again any that carry on."""
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    for _ in range(attempts):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=RETRY_S)
    for task in pending:  # pragma: no cover - a task that refuses forty cancellations
        raise RuntimeError(f"task {task.get_name()} would not stop")
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()


async def restart_on_failure(
    run: Callable[[], Awaitable[object]],
    *,
    what: str,
    log: logging.Logger,
    on_restart: Callable[[], object],
    pauses: tuple[float, float] = (0.5, 15.0),
) -> None:
    """Run ``run`` until it returns; when it fails, log, count (``on_restart``) and run it
    again after a pause that doubles from ``pauses[0]`` up to ``pauses[1]``."""
    pause = pauses[0]
    while True:
        try:
            await run()
            return
        except Exception:
            log.exception("%s failed; restarting in %.1fs", what, pause)
            on_restart()
        await asyncio.sleep(pause)
        pause = min(pause * 2, pauses[1])


async def periodically(
    interval_s: float,
    action: Callable[[], Awaitable[object]],
    *,
    what: str,
    log: logging.Logger,
    on_failure: Callable[[], object],
    pauses: tuple[float, float] = (0.5, 15.0),
) -> None:
    """Run ``action`` every ``interval_s`` seconds, forever; when it fails, log and count it
    (``on_failure``) and wait a pause that doubles from ``pauses[0]`` up to ``pauses[1]`` while
    the failures go on (a success starts the pauses over)."""
    pause = pauses[0]
    while True:
        await asyncio.sleep(interval_s)
        try:
            await action()
        except Exception:
            log.exception("%s failed; again in %.1fs", what, pause)
            on_failure()
            await asyncio.sleep(pause)
            pause = min(pause * 2, pauses[1])
        else:
            pause = pauses[0]
