"""The one place the portfolio service is wired: log, book, marks, relay, handlers."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from nats.aio.subscription import Subscription

from papertape.common.clock import Clock, SystemClock
from papertape.common.eventlog import SnapshotPolicy
from papertape.common.eventlog.anchors import anchor_now
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.idgen import IdGenerator, Uuid7Generator
from papertape.common.runtime import ServiceRuntime, configure
from papertape.common.tasks import restart_on_failure, stop_tasks
from papertape.contract.events.account import AccountCommand, OpenAccount
from papertape.contract.events.envelope import Request
from papertape.contract.ids import AccountId, Actor
from papertape.contract.partitions import partition_of
from papertape.portfolio import handlers
from papertape.portfolio.accounts import AccountBook
from papertape.portfolio.marks import MarkBook, persist_marks, seed_marks
from papertape.portfolio.relay import AccountRelay
from papertape.portfolio.replicas import Replica
from papertape.portfolio.settings import PortfolioSettings, read_settings

SERVICE = "portfolio"


class Portfolio:
    """The running service: everything it owns, started and stopped together."""

    def __init__(
        self,
        settings: PortfolioSettings,
        log: PostgresEventLog,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.ids: IdGenerator = ids or Uuid7Generator()
        self.runtime = ServiceRuntime(SERVICE, settings, clock=self.clock)
        self.log = log
        self.runtime.watch_log(log)
        self.book = AccountBook(
            log,
            log,
            self.clock,
            policy=SnapshotPolicy(every=settings.snapshot_every, of_size=settings.snapshot_of_size),
            metrics=self.runtime.metrics,
        )
        self.marks = MarkBook(settings.price_band)
        self.relay: AccountRelay | None = None
        self._quotes: Subscription | None = None
        self._commands: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.replica: Replica | None = None
        if settings.partitions > 1:
            self.replica = Replica(
                self.runtime,
                self.book,
                self.marks,
                log,
                settings,
                head=self._run_head,
                opened=self._open_demo_in,
            )
            return
        handlers.register(self.runtime, self.book, self.marks, log, settings)
        self.reports = handlers.register_execution(self.runtime, self.book, self.marks, settings)

    async def start(self) -> None:
        """Rebuild every account, connect the bus, start the relay and the mark timer (as one
        of several replicas: take partitions, see ``papertape.portfolio.replicas``)."""
        if self.replica is not None:
            await self._start_replica(self.replica)
            return
        accounts, events, seconds = await self.book.load_all()
        self.runtime.log.info(
            "rebuilt %d accounts from %d events in %.3fs", accounts, events, seconds
        )
        await self.runtime.connect()
        self._quotes = await handlers.follow_quotes(self.runtime, self.marks)
        self._commands = await handlers.answer_commands(
            self.runtime, self.book, self.marks, self.settings
        )
        seeded = await seed_marks(self.marks, self.runtime.js, self.runtime.subjects)
        self.runtime.log.info("marks of %d symbols from the MARKET stream's last quotes", seeded)
        await self._open_demo_account()
        self._tasks = [
            *self._run_head(),
            asyncio.create_task(self._reports_forever(), name="execution reports"),
            self.runtime.every(
                "persisting marks", self.settings.mark_interval_s, self._persist_marks
            ),
        ]

    async def _start_replica(self, replica: Replica) -> None:
        await self.runtime.connect()
        self._quotes = await handlers.follow_quotes(self.runtime, self.marks)
        seeded = await seed_marks(self.marks, self.runtime.js, self.runtime.subjects)
        self.runtime.log.info("marks of %d symbols from the MARKET stream's last quotes", seeded)
        self._tasks = [
            await replica.start(),
            self.runtime.every(
                "persisting marks", self.settings.mark_interval_s, self._persist_marks
            ),
        ]
        self.runtime.log.info(
            "replica %s of %d partitions", self.settings.replica, self.settings.partitions
        )

    def _run_head(self) -> list[asyncio.Task[None]]:
        """The work of the log head, one for the whole log: the relay and the anchor."""
        self.relay = AccountRelay(
            self.settings.database_url,
            self.runtime.js,
            self.runtime.subjects,
            metrics=self.runtime.metrics,
            batch_size=self.settings.relay_batch,
            role=self.settings.relay_role or None,
        )
        return [
            asyncio.create_task(self._relay_forever(), name="relay"),
            self.runtime.every("anchoring the log", self.settings.anchor_interval_s, self._anchor),
        ]

    async def _relay_forever(self) -> None:
        """Keep the relay following the log: after a failure (NATS or PostgreSQL away) it
        resumes from its checkpoint; nothing is lost."""
        assert self.relay is not None
        restarts = self.runtime.metrics.handled.labels(SERVICE, "relay", "restart")
        await restart_on_failure(
            self.relay.run, what="the relay", log=self.runtime.log, on_restart=restarts.inc
        )

    async def _reports_forever(self) -> None:
        """Keep applying execution reports: a failed pull loop resumes where the durable
        consumer stands (what was not acknowledged comes again)."""
        restarts = self.runtime.metrics.handled.labels(SERVICE, "execution_report", "restart")
        await restart_on_failure(
            self.reports, what="the reports", log=self.runtime.log, on_restart=restarts.inc
        )

    async def _open_demo_in(self, partition: int) -> None:
        """The demo account is opened by its partition's owner."""
        name = self.settings.demo_account
        if name and partition_of(name, self.settings.partitions) == partition:
            await self._open_demo_account()

    async def _open_demo_account(self) -> None:
        """``make run`` asks for a demo account; open it once (a retry appends nothing)."""
        name = self.settings.demo_account
        if not name or self.book.state(name).is_open:
            return
        request: Request[AccountCommand] = Request(
            request_id=self.ids.new(),
            issued_at=self.clock.now(),
            actor=Actor("portfolio.demo"),
            body=OpenAccount(account_id=AccountId(name), name=f"Demo account {name}"),
        )
        await self.book.execute(request)
        self.runtime.log.info("opened demo account %s", name)

    async def _persist_marks(self) -> None:
        """Apply the marks that moved to the accounts holding them (every ``mark_interval_s``)."""
        await persist_marks(self.book, self.marks, self.clock, self.ids)

    async def _anchor(self) -> None:
        """Anchor the log's head outside the database (every ``anchor_interval_s``)."""
        file = Path(self.settings.anchor_file) if self.settings.anchor_file else None
        await anchor_now(self.log, self.runtime.js, self.runtime.subjects, file)

    async def stop(self) -> None:
        if self.replica is not None:
            await self.replica.stop(self._tasks[0] if self._tasks else None)
        if self.relay is not None:
            self.relay.stop()
        await stop_tasks(self._tasks)
        self._tasks = []
        await self.book.snapshots_saved()  # before the log closes under them
        for subscription in (self._commands, self._quotes):
            if subscription is not None:
                with contextlib.suppress(Exception):  # the connection may be gone already
                    await subscription.unsubscribe()
        self._commands = self._quotes = None


async def build(settings: PortfolioSettings, **overrides: object) -> Portfolio:
    """Open the log (migrating it) and wire the service; tests pass a clock or ids."""
    log = await PostgresEventLog.connect(settings.database_url, role=settings.database_role or None)
    return Portfolio(settings, log, **overrides)  # type: ignore[arg-type]


async def main() -> None:
    """Run the portfolio service until SIGINT/SIGTERM."""
    settings = read_settings()
    configure(settings)
    portfolio = await build(settings)
    try:
        await portfolio.runtime.serve(on_start=portfolio.start, on_stop=portfolio.stop)
    finally:
        await portfolio.log.close()
