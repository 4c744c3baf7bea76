"""The dispatcher: due deliveries out to their channels, each endpoint on its own.

How delivery stays at least once and never stuck behind a bad target:

- A delivery is stored (``store.enqueue``) before the event that made it is acknowledged, and
  a pass of the dispatcher runs at once (``wake``) and every ``poll_interval_s`` after.
- A pass takes at most ``per_target`` due deliveries of each endpoint, less those already in
  flight to it, and claims them in the database with a lease (``store.claim``): a slow,
  failing or refusing endpoint fills only its own slots, the others go on. Every attempt has
  the channel's timeout, and an outer bound of twice that.
- An attempt's outcome is recorded (with the others that ended meanwhile, in one transaction)
  with the next try after an exponential backoff with jitter (``backoff``); the last of the
  budget makes it a dead letter (``ResendDeadLetter`` revives
  it). A service that dies mid-attempt leaves the delivery pending under its lease: the next
  process sends it again when the lease ends, with the same delivery id for the receiver to
  deduplicate on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from decimal import Decimal

from papertape.common.clock import Clock
from papertape.contract.events.notifications import DeliveryStatus, EndpointKind
from papertape.notification.channels import Channel
from papertape.notification.channels.destinations import NOT_PUBLIC
from papertape.notification.store import Attempt, Delivery, DeliveryStore, Outcome

PASS_GAP_S = 0.005
"""The least time between two passes."""
SecretOf = Callable[[str, str], Awaitable[str | None]]
OnOutcome = Callable[[Delivery, Attempt, DeliveryStatus], None]


def backoff(failures: int, *, base_s: float, max_s: float, rng: random.Random) -> float:
    """The pause after ``failures`` failed attempts: ``base_s * 2**(failures-1)`` up to
    ``max_s``, of which a random half is taken off (equal jitter: retries spread out)."""
    cap = min(max_s, base_s * 2.0 ** max(failures - 1, 0))
    return cap / 2 + rng.uniform(0, cap / 2)


class Dispatcher:
    """Sends due deliveries, at most ``per_target`` at a time to any one endpoint."""

    def __init__(
        self,
        store: DeliveryStore,
        channels: Mapping[EndpointKind, Channel],
        secret_of: SecretOf,
        clock: Clock,
        *,
        per_target: int,
        timeout_s: float,
        backoff_base_s: float,
        backoff_max_s: float,
        poll_interval_s: float,
        log: logging.Logger,
        on_outcome: OnOutcome | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._channels = channels
        self._secret_of = secret_of
        self._clock = clock
        self._per_target = per_target
        self._timeout_s = timeout_s
        self._base_s, self._max_s = backoff_base_s, backoff_max_s
        self._poll_s = poll_interval_s
        self._log = log
        self._on_outcome = on_outcome
        self._rng = rng or random.Random()
        self._wakeup = asyncio.Event()
        self._in_flight: dict[tuple[str, str], int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[Outcome] = []
        self._ended = asyncio.Event()

    @property
    def lease_s(self) -> float:
        """How long a claimed delivery is kept from other passes (and other processes)."""
        return self._timeout_s * 2 + 5

    def wake(self) -> None:
        """Look for due deliveries now (new ones were stored, or a slot is free)."""
        self._wakeup.set()

    async def run(self) -> None:
        """Pass after pass, until cancelled; in-flight attempts are cancelled with it."""
        recorder = asyncio.create_task(self._record_forever())
        try:
            while True:
                self._wakeup.clear()
                await self.dispatch()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_s)
                # Attempts that end close together share one pass (a pass reads the due list).
                await asyncio.sleep(PASS_GAP_S)
        finally:
            for task in [*self._tasks, recorder]:
                task.cancel()
            await asyncio.gather(*self._tasks, recorder, return_exceptions=True)

    async def dispatch(self) -> int:
        """One pass: claim what is due and has a free slot, start its attempts; how many."""
        now = self._clock.now()
        chosen: list[Delivery] = []
        taken: dict[tuple[str, str], int] = {}
        for delivery in await self._store.due(now, self._per_target):
            key = (delivery.account_id, delivery.endpoint_id)
            busy = self._in_flight.get(key, 0) + taken.get(key, 0)
            if busy < self._per_target:
                taken[key] = taken.get(key, 0) + 1
                chosen.append(delivery)
        if not chosen:
            return 0
        claimed = set(await self._store.claim([d.delivery_id for d in chosen], now, self.lease_s))
        for delivery in chosen:
            if delivery.delivery_id in claimed:
                key = (delivery.account_id, delivery.endpoint_id)
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
                task = asyncio.create_task(self._attempt(delivery, key))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def _attempt(self, delivery: Delivery, key: tuple[str, str]) -> None:
        try:
            attempt = await self._send(delivery)
        finally:  # the endpoint's slot is free once the attempt is over
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]
            self.wake()
        at = self._clock.now()
        pause = backoff(
            delivery.attempts + 1, base_s=self._base_s, max_s=self._max_s, rng=self._rng
        )
        permanent = attempt.error.startswith(("the endpoint has no", NOT_PUBLIC))
        retry_at = None if permanent else at + timedelta(seconds=pause)
        self._outcomes.append(Outcome(delivery=delivery, attempt=attempt, at=at, retry_at=retry_at))
        self._ended.set()

    async def _record_forever(self) -> None:
        """Record the attempts that ended since the last time, together (one transaction)."""
        while True:
            await self._ended.wait()
            self._ended.clear()
            outcomes, self._outcomes = self._outcomes, []
            try:
                statuses = await self._store.record(outcomes)
            except Exception:  # their leases run out and they are tried again
                self._log.exception("%d attempts could not be recorded", len(outcomes))
                continue
            for outcome, status in zip(outcomes, statuses, strict=True):
                self._report(outcome, status)

    def _report(self, outcome: Outcome, status: DeliveryStatus) -> None:
        delivery, attempt = outcome.delivery, outcome.attempt
        if self._on_outcome is not None:
            self._on_outcome(delivery, attempt, status)
        if not attempt.ok:
            self._log.info(
                "delivery %s to %s/%s failed (attempt %d): %s -> %s",
                delivery.delivery_id,
                delivery.account_id,
                delivery.endpoint_id,
                delivery.attempts + 1,
                attempt.error,
                status.value,
            )

    async def _send(self, delivery: Delivery) -> Attempt:
        channel = self._channels.get(delivery.kind)
        if channel is None:
            return Attempt(ok=False, latency_ms=Decimal(0), error=f"no {delivery.kind} channel")
        secret = None
        if delivery.kind is not EndpointKind.EMAIL:
            secret = await self._secret_of(delivery.account_id, delivery.endpoint_id)
        try:
            return await asyncio.wait_for(channel.send(delivery, secret), self._timeout_s * 2)
        except TimeoutError:
            ms = Decimal(int(self._timeout_s * 2000))
            return Attempt(ok=False, latency_ms=ms, error="timed out")
