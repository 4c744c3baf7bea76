"""The event loop every service runs on: uvloop where it is installed, asyncio's otherwise.

uvloop (libuv under asyncio's API) reads and writes sockets in C, and most of a service's time
outside its own code is there: nats-py's reads, asyncpg's protocol, uvicorn's transports.
``PAPERTAPE_EVENT_LOOP=asyncio`` runs on the standard loop instead (to compare, or to debug).
The process's garbage collector is set for a service while it runs (``papertape.common.collector``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from papertape.common import collector

T = TypeVar("T")

LOOPS = ("uvloop", "asyncio")


def loop_factory(name: str | None = None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the loop named (``PAPERTAPE_EVENT_LOOP`` by default), None for asyncio's."""
    chosen = name if name is not None else os.environ.get("PAPERTAPE_EVENT_LOOP", "uvloop")
    if chosen not in LOOPS:
        raise ValueError(f"PAPERTAPE_EVENT_LOOP must be one of {', '.join(LOOPS)}, not {chosen!r}")
    if chosen == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:  # a platform without it (Windows): the standard loop
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on the service's event loop, as ``asyncio.run`` does, with the
    garbage collector set for a service (both settings checked before anything runs)."""
    factory, young = loop_factory(), collector.young_threshold()
    collector.tune(young)
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main)
    finally:
        collector.untune()
