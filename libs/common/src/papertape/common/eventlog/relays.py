"""Relays: checkpointed followers of the log that publish what they read somewhere else.

A relay moves its checkpoint after its handler returned (``Delivery.AFTER_EFFECT``): a crash in
between hands it the batch again, so what it publishes must be idempotent (JetStream's dedup
window by ``Nats-Msg-Id`` = event id). Portfolio relays account events to ACCOUNTS, the signal
service sessions' events to SIGNALS; each says only what a batch becomes.
"""

from __future__ import annotations

import asyncpg

from papertape.common.eventlog.port import RecordedEvent
from papertape.common.eventlog.subscriptions import Delivery, Subscription, SubscriptionRunner
from papertape.common.telemetry.metrics import ServiceMetrics


class LogRelay:
    """Follows the log from its checkpoint and hands each batch to ``publish``."""

    def __init__(
        self,
        dsn: str,
        name: str,
        *,
        metrics: ServiceMetrics | None = None,
        batch_size: int = 500,
        role: str | None = None,
    ) -> None:
        """``role``: the relay's own database role (it reads the log and moves its
        checkpoint, nothing else), instead of the DSN's login."""
        self.name = name
        self._metrics = metrics
        self.runner = SubscriptionRunner(
            dsn,
            Subscription(
                name=name,
                handler=self._handle,
                delivery=Delivery.AFTER_EFFECT,
                batch_size=batch_size,
                poll_interval=0.5,
            ),
            user=role,
        )

    async def publish(self, batch: list[RecordedEvent]) -> None:
        """Publish a batch of the log (idempotently: it may come again after a crash)."""
        raise NotImplementedError

    async def _handle(self, batch: list[RecordedEvent], _conn: asyncpg.Connection) -> None:
        await self.publish(batch)
        if self._metrics is not None and batch:
            self._metrics.log_position.labels(self._metrics.service, self.name).set(
                batch[-1].position
            )

    async def run(self) -> None:
        """Follow the log until ``stop``."""
        await self.runner.run()

    async def catch_up(self) -> int:
        """Publish everything past the checkpoint once (tests and tools)."""
        return await self.runner.catch_up()

    def stop(self) -> None:
        self.runner.stop()
