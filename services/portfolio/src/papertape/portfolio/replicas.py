"""Portfolio as one of several replicas: the accounts of the partitions it owns, and no others.

How it fits (``PAPERTAPE_PARTITIONS`` > 1):

- ownership (``ownership.PartitionLeases``): a PostgreSQL session advisory lock per partition;
  a dead replica's locks are freed with its connection and taken over within a poll;
- taking partition k: load k's accounts from the log (``AccountBook.load_where``), subscribe
  ``portfolio.p<k>.command`` / ``.query.*``, follow k's durable consumer of EXECUTION
  (``portfolio-execution-p<k>``); the public subjects route to the owner (``routing``);
- losing k: stop its consumer and subscriptions first, then forget its accounts;
- the log head (one relay to ACCOUNTS and one anchor for the whole log) is one more lock;
- marks: each replica persists the marks of the accounts it holds (its partitions').

The log's UNIQUE (stream, version) is the fence behind all of it: a replica that lost a
partition without knowing yet cannot append beside its new owner, only after it (see
``ownership``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import msgspec
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from papertape.common.bus.routing import Router
from papertape.common.eventlog import EventLog
from papertape.common.runtime import ServiceRuntime
from papertape.common.tasks import restart_on_failure, stop_tasks
from papertape.contract.events.reports import AccountListing
from papertape.contract.partitions import partition_of
from papertape.portfolio import handlers
from papertape.portfolio.accounts import AccountBook
from papertape.portfolio.marks import MarkBook
from papertape.portfolio.ownership import HEAD, PartitionLeases
from papertape.portfolio.settings import PortfolioSettings

SERVICE = "portfolio"
_listings = msgspec.json.Decoder(list[AccountListing])


def listed_across(results: Sequence[msgspec.Raw]) -> list[AccountListing]:
    """The list of accounts of every partition's owner, as one list sorted by account."""
    listings = (listing for result in results for listing in _listings.decode(result))
    return sorted(listings, key=lambda listing: listing.account_id)


@dataclass
class _Served:
    """What serving one partition holds open."""

    subscriptions: list[Subscription] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class Replica:
    """Takes and gives back partitions; runs the log head's work while it holds it."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        book: AccountBook,
        marks: MarkBook,
        log: EventLog,
        settings: PortfolioSettings,
        *,
        head: Callable[[], list[asyncio.Task[None]]],
        opened: Callable[[int], Awaitable[None]],
    ) -> None:
        self._runtime, self._book, self._marks, self._log = runtime, book, marks, log
        self._settings = settings
        self._head, self._opened = head, opened
        self._served: dict[int, _Served] = {}
        self._head_tasks: list[asyncio.Task[None]] = []
        self.router = Router(
            runtime,
            settings.partitions,
            lambda k: k in self._served,
            lambda k: k in self.leases.unowned,
            queue="portfolio",
            workers=settings.command_workers,
        )
        self.leases = PartitionLeases(
            settings.database_url,
            settings.namespace,
            settings.partitions,
            on_gained=self._gained,
            on_lost=self._lost,
        )
        self._public: list[Subscription] = []
        reports = runtime.subjects.stream("EXECUTION")
        runtime.more_durables = [  # polled by every replica: the lag is the consumer's own
            (reports, runtime.subjects.portfolio_partition_durable(k))
            for k in range(settings.partitions)
        ]
        self._command = handlers.command_handler(runtime, book, marks)
        self._query = handlers.query_handler(runtime, book, log)

    def owned(self) -> list[int]:
        return sorted(self._served)

    async def start(self) -> asyncio.Task[None]:
        """Subscribe the public subjects (routed) and start taking partitions."""
        subjects = self._runtime.subjects

        def query_of(k: int, raw: Msg) -> str:
            return subjects.portfolio_partition_query(k, raw.subject.rpartition(".")[2])

        self._public = [
            # A command is forwarded with the caller's reply subject (the owner answers it): a
            # relay's own timeout could answer "unavailable" for a command still being decided.
            await self.router.route(
                subjects.portfolio_command(),
                self._command,
                lambda k, _raw: subjects.portfolio_partition_command(k),
                relay=False,
            ),
            await self.router.route(
                subjects.portfolio_queries(),
                self._query,
                query_of,
                gather=lambda k, _raw: subjects.portfolio_partition_query(k, "accounts"),
                merge=listed_across,
            ),
        ]
        return asyncio.create_task(self.leases.run(), name="partition ownership")

    def _in(self, k: int) -> Callable[[str], bool]:
        partitions = self._settings.partitions
        return lambda account_id: partition_of(account_id, partitions) == k

    async def _gained(self, k: int) -> None:
        if k == HEAD:
            self._head_tasks = self._head()
            self._runtime.log.info("replica %s runs the relay and the anchor", self._replica)
            return
        accounts, events, seconds = await self._book.load_where(self._in(k))
        subjects = self._runtime.subjects
        served = _Served()
        self._served[k] = served  # owned from here: the public subjects handle k here too
        in_k = self._in(k)
        query = handlers.query_handler(self._runtime, self._book, self._log, in_k)
        served.subscriptions += [
            await self.router.serve(subjects.portfolio_partition_command(k), self._command),
            await self.router.serve(subjects.portfolio_partition_queries(k), query),
        ]
        reports = handlers.register_execution(
            self._runtime, self._book, self._marks, self._settings, partition=k
        )
        restarts = self._runtime.metrics.handled.labels(SERVICE, "execution_report", "restart")
        served.tasks.append(
            asyncio.create_task(
                restart_on_failure(
                    reports, what=f"reports of p{k}", log=self._runtime.log, on_restart=restarts.inc
                ),
                name=f"execution reports p{k}",
            )
        )
        await self._opened(k)
        self._runtime.log.info(
            "replica %s took partition %d: %d accounts from %d events in %.3fs (serving at %s)",
            self._replica,
            k,
            accounts,
            events,
            seconds,
            self._runtime.clock.now().isoformat(),
        )

    async def _lost(self, k: int) -> None:
        if k == HEAD:
            tasks, self._head_tasks = self._head_tasks, []
            await stop_tasks(tasks)
            return
        served = self._served.pop(k, None)
        if served is None:
            return
        for subscription in served.subscriptions:
            with contextlib.suppress(Exception):  # the connection may be gone already
                await subscription.unsubscribe()
        await stop_tasks(served.tasks)
        self._book.forget_where(self._in(k))
        self._runtime.log.info("replica %s gave up partition %d", self._replica, k)

    @property
    def _replica(self) -> str:
        return self._settings.replica

    async def stop(self, ownership: asyncio.Task[None] | None) -> None:
        """Stop routing, then give everything back (the others take over at their next poll)."""
        for subscription in self._public:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        self._public = []
        await self.router.drain()
        if ownership is not None:
            await stop_tasks([ownership])
        await self.leases.release()
