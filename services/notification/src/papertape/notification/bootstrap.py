"""The one place the notification service is wired: log, rule book, store, channels, handlers.

On start every account's rules are rebuilt from their streams, the delivery store is migrated
and opened as its own role, and the dispatcher starts with whatever deliveries were pending
when the service last stopped (or died); then the four consumers start, and a loop looks at
the accounts whose rules watch the drawdown or the day's P&L.
"""

from __future__ import annotations

import asyncio

from papertape.common.bus.batches import BatchConsumer
from papertape.common.clock import Clock, SystemClock
from papertape.common.eventlog.postgres import PostgresEventLog
from papertape.common.runtime import ServiceRuntime, configure
from papertape.common.tasks import restart_on_failure, stop_tasks
from papertape.common.telemetry.deliveries import DeliveryMetrics
from papertape.contract.events.notifications import DeliveryStatus, EndpointKind
from papertape.notification import handlers
from papertape.notification.book import RuleBook
from papertape.notification.channels import Channel
from papertape.notification.channels.mail import MailChannel
from papertape.notification.channels.telegram import TelegramChannel
from papertape.notification.channels.webhooks import WebhookChannel
from papertape.notification.dispatcher import Dispatcher
from papertape.notification.notifier import Notifier
from papertape.notification.outcomes import Outcomes
from papertape.notification.secrets import Secrets
from papertape.notification.settings import NotificationSettings, read_settings
from papertape.notification.store import Attempt, Delivery, DeliveryStore
from papertape.notification.vault import Vault

SERVICE = "notification"


class NotificationService:
    """The running service: everything it owns, started and stopped together."""

    def __init__(
        self,
        settings: NotificationSettings,
        log: PostgresEventLog,
        store: DeliveryStore,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.runtime = ServiceRuntime(SERVICE, settings, clock=self.clock)
        self.log = log
        self.store = store
        self.vault = Vault(settings.secrets_key)
        self.secrets = Secrets(store, self.vault)
        self.book = RuleBook(log, self.clock, allow_private=settings.allow_private_targets)
        self.notifier = Notifier(
            self.book,
            store,
            self.clock,
            self.runtime.subjects,
            budget=settings.max_attempts,
            log=self.runtime.log,
        )
        self.outcomes = Outcomes(DeliveryMetrics(self.runtime.metrics.registry))
        self.webhooks = WebhookChannel(
            settings.timeout_s, allow_private=settings.allow_private_targets
        )
        self.telegram = TelegramChannel(settings.telegram_base_url, settings.timeout_s)
        channels: dict[EndpointKind, Channel] = {
            EndpointKind.WEBHOOK: self.webhooks,
            EndpointKind.TELEGRAM: self.telegram,
            EndpointKind.EMAIL: MailChannel(
                settings.smtp_host,
                settings.smtp_port,
                sender=settings.smtp_sender,
                starttls=settings.smtp_starttls,
                username=settings.smtp_username,
                password=settings.smtp_password,
                timeout_s=settings.timeout_s,
            ),
        }
        self.dispatcher = Dispatcher(
            store,
            channels,
            self.secrets.get,
            self.clock,
            per_target=settings.per_target,
            timeout_s=settings.timeout_s,
            backoff_base_s=settings.backoff_base_s,
            backoff_max_s=settings.backoff_max_s,
            poll_interval_s=settings.poll_interval_s,
            log=self.runtime.log,
            on_outcome=self._count,
        )
        self.notifier.dispatcher = self.dispatcher
        self.commands = handlers.Commands(self.book, self.notifier, self.secrets)
        self._tasks: list[asyncio.Task[None]] = []
        self.consumers: list[BatchConsumer] = []
        self.followers = handlers.register(self.runtime, self.notifier, self.commands)

    def _count(self, delivery: Delivery, attempt: Attempt, status: DeliveryStatus) -> None:
        outcome = "ok" if attempt.ok else ("dead" if status is DeliveryStatus.DEAD else "retry")
        self.runtime.metrics.handled.labels(SERVICE, f"deliver_{delivery.kind}", outcome).inc()
        self.outcomes.count(delivery.kind, attempt, status)

    async def start(self) -> None:
        """Rebuild the rules, connect, start the dispatcher and the watch loop."""
        accounts, rules = await self.book.load_all()
        self.runtime.log.info("rebuilt %d accounts' notifications (%d rules)", accounts, rules)
        if not self.vault.sealing:
            self.runtime.log.warning(
                "PAPERTAPE_SECRETS_KEY is not set: endpoint secrets are stored unsealed"
            )
        await self.runtime.connect()
        self.notifier.nc = self.runtime.broker.connection
        self.consumers = consumers = [make() for make in self.followers]
        for consumer in consumers:  # before READY: they take what is published from now on
            await consumer.subscribe()
        restarts = self.runtime.metrics.handled.labels(SERVICE, "dispatcher", "restart")
        self._tasks = [
            asyncio.create_task(
                restart_on_failure(
                    self.dispatcher.run,
                    what="the dispatcher",
                    log=self.runtime.log,
                    on_restart=restarts.inc,
                ),
                name="dispatcher",
            ),
            self.runtime.every("watch", self.settings.watch_interval_s, self.notifier.watch),
            *(
                asyncio.create_task(
                    restart_on_failure(
                        consumer.run,
                        what=f"the consumer {consumer.durable}",
                        log=self.runtime.log,
                        on_restart=restarts.inc,
                    ),
                    name=consumer.durable,
                )
                for consumer in consumers
            ),
        ]

    async def stop(self) -> None:
        await stop_tasks(self._tasks)
        self._tasks = []
        for consumer in self.consumers:
            await consumer.close()
        await self.webhooks.close()
        await self.telegram.close()

    async def serve(self) -> None:
        await self.runtime.serve(on_start=self.start, on_stop=self.stop)

    async def close(self) -> None:
        await self.store.close()
        await self.log.close()


async def build(settings: NotificationSettings, **overrides: object) -> NotificationService:
    """Open the log and the delivery store (migrating both) and wire the service."""
    log = await PostgresEventLog.connect(settings.database_url, role=settings.database_role or None)
    store = await DeliveryStore.open(settings.database_url, role=settings.store_role or None)
    return NotificationService(settings, log, store, **overrides)  # type: ignore[arg-type]


async def main() -> None:
    """Run the notification service until SIGINT/SIGTERM."""
    settings = read_settings()
    configure(settings)
    service = await build(settings)
    try:
        await service.serve()
    finally:
        await service.close()
