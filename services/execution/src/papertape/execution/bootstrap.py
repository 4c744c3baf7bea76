"""The one place where execution is wired: runtime, venue, the ACCOUNTS replay, market data.

On start the book is rebuilt by replaying the ACCOUNTS stream from its first message with an
ordered consumer, which then keeps following it (``accounts``). Market data comes through a
durable consumer of the MARKET stream, so its position survives a restart: what the market did
while the service was down (quotes and bars of the venue's width) is matched, in order, once the
book is whole again, and stops, limits and expiries fire as the market crossed them. A message is
acknowledged only after it was matched, so a crash replays it, and the fills it gives again
carry the same ids (the portfolio applies each once). Nothing is kept only in memory. Every
subscription goes through the runtime's guard (metrics, handling time, trace, dead letters)
and the expiry sweep through its periodic helper.

With ``PAPERTAPE_PARTITIONS`` above 1 the service is one replica of several: it holds the
partitions whose NATS KV leases it won (``ownership``), each with its own book and market
consumer (``partitions``), and none of the above is subscribed; a query is answered by the owner
of its account's partition, whichever replica received it (``queries.route_queries``).
"""

from __future__ import annotations

import asyncio
import time

from papertape.common.bus import leases
from papertape.common.bus.routing import Router
from papertape.common.clock import Clock
from papertape.common.runtime import ServiceRuntime, configure
from papertape.common.tasks import stop_tasks
from papertape.execution.accounts import AccountsReplay
from papertape.execution.handlers import ExecutionHandlers
from papertape.execution.market import follow_market
from papertape.execution.ownership import Ownership
from papertape.execution.partitions import market_durable
from papertape.execution.queries import QUEUE_GROUP, register_queries, route_queries
from papertape.execution.reports import ReportPublisher
from papertape.execution.settings import ExecutionSettings
from papertape.trading.venue import Venue

SERVICE = "execution"
CATCH_UP_TIMEOUT_S = 120.0


class ExecutionService:
    """The running service."""

    def __init__(self, settings: ExecutionSettings, *, clock: Clock | None = None) -> None:
        configure(settings)
        self.settings = settings
        self.runtime = ServiceRuntime(SERVICE, settings, clock=clock)
        self.venue = Venue(settings.venue_config())
        self.handlers: ExecutionHandlers | None = None
        self.caught_up = asyncio.Event()
        self._rebuild_started = time.perf_counter()
        self.matching = asyncio.Event()
        """Set once the book is rebuilt and market data is being matched."""
        self.accounts = AccountsReplay(
            self.runtime, self._on_account_event, caught_up=self.caught_up
        )
        """The ACCOUNTS replay that keeps the book (unpartitioned)."""
        self._tasks: list[asyncio.Task[None]] = []
        self.ownership: Ownership | None = None
        """The partitions this replica holds (with ``partitions`` above 1)."""
        if self.partitioned:
            market = self.runtime.subjects.stream("MARKET")
            self.runtime.more_durables = [
                (market, market_durable(self.runtime, index))
                for index in range(settings.partitions)
            ]
        else:
            register_queries(self.runtime, lambda: [self.venue])

    @property
    def partitioned(self) -> bool:
        return self.settings.partitions > 1

    async def _follow_market(self) -> None:
        """Quotes and bars from where this service last left off (``market``); the first start
        begins with the new."""

        async def match(body: bytes) -> None:
            if not self.caught_up.is_set():  # the book must be whole before it is matched
                await self.caught_up.wait()
            await self._handlers().on_market_event(body)

        durable = self.runtime.subjects.durable("execution", "market")
        await follow_market(self.runtime, self.settings.bar_timeframe, durable, match)

    async def start(self) -> None:
        """Build the handlers; note how far the ACCOUNTS replay must get before matching."""
        runtime = self.runtime
        tracer = runtime.tracer_provider.get_tracer("papertape.execution")
        if self.partitioned:
            bucket = await leases.open_bucket(runtime.js, runtime.subjects.lease_bucket(SERVICE))
            router = Router(
                runtime,
                self.settings.partitions,
                self._serving,
                self._unowned,
                queue=QUEUE_GROUP,
            )
            self.ownership = Ownership(runtime, self.settings, bucket, tracer, router)
            await route_queries(runtime, router, self._served_venues)
            self.caught_up.set()
            return
        self.handlers = ExecutionHandlers(
            self.venue,
            ReportPublisher(runtime.js, runtime.subjects, tracer=tracer),
            refused=lambda refusal: runtime.market_refused(refusal.check, refusal.reason),
        )
        self._rebuild_started = time.perf_counter()
        await self.accounts.start()
        await self._follow_market()

    async def ready(self) -> None:
        """Wait for the book to be rebuilt, then match the market and sweep expiries (replicas:
        take the first partitions, then keep the leases)."""
        if self.ownership is not None:
            await self.ownership.tick()
            self._tasks.append(
                self.runtime.every("partition leases", leases.RENEW_EVERY_S, self.ownership.tick)
            )
            self.matching.set()
            return
        await asyncio.wait_for(self.caught_up.wait(), CATCH_UP_TIMEOUT_S)
        self.runtime.metrics.rebuilt(
            time.perf_counter() - self._rebuild_started, self.accounts.seen
        )
        self.runtime.log.info("book rebuilt from %d account events", self.accounts.seen)
        await self.runtime.broker.connection.flush()  # the server knows every subscription
        if self.settings.expiry_sweep_s > 0:
            self._tasks.append(
                self.runtime.every("expiry sweep", self.settings.expiry_sweep_s, self._sweep)
            )
        self.matching.set()

    async def stop(self) -> None:
        """Stop the sweep (the broker stops the subscriptions); hand the partitions back."""
        await stop_tasks(self._tasks)
        self._tasks = []
        if self.ownership is not None:
            await self.ownership.stop()

    async def serve(self) -> None:
        """Run until SIGINT/SIGTERM (prints READY once the book is rebuilt)."""
        await self.runtime.serve(on_start=self.start, on_stop=self.stop, on_ready=self.ready)

    def _served_venues(self) -> list[Venue]:
        held = self.ownership.partitions() if self.ownership is not None else []
        return [partition.venue for partition in held if partition.serving]

    def _serving(self, index: int) -> bool:
        return self.ownership is not None and self.ownership.serving(index)

    def _unowned(self, index: int) -> bool:
        return self.ownership is None or self.ownership.unowned(index)

    def _handlers(self) -> ExecutionHandlers:
        if self.handlers is None:
            raise RuntimeError("the execution service has not started")
        return self.handlers

    async def _on_account_event(self, body: bytes) -> None:
        await self._handlers().on_account_event(body)

    async def _sweep(self) -> None:
        await self._handlers().on_clock(self.runtime.clock.now())
