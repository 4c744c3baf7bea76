"""The account book: every account's state, rebuilt from the log, changed only through it.

One writer per account: commands on an account run one at a time (a lock per account), are
decided against the state rebuilt from the log, and the resulting events are appended with
the stream's version as the optimistic-concurrency check before the state moves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from papertape.common.bus.deadletters import Unprocessable
from papertape.common.clock import Clock
from papertape.common.eventlog import (
    ConcurrencyError,
    EventLog,
    SnapshotPolicy,
    SnapshotStore,
    new_event,
)
from papertape.common.eventlog.snapshots import Rebuilt, rebuild_from_data, snapshot_if_due
from papertape.common.telemetry.metrics import ServiceMetrics
from papertape.common.telemetry.tracing import trace_fields
from papertape.contract.events.account import (
    ACCOUNT_STREAM_PREFIX,
    AccountCommand,
    AccountEvent,
    OpenAccount,
    account_stream,
)
from papertape.contract.events.envelope import Envelope, Request
from papertape.contract.ids import (
    AccountId,
    CausationId,
    CorrelationId,
    EventId,
    StreamId,
    derived_uuid7,
    uuid7_time_or,
)
from papertape.portfolio.gauges import AccountGauges
from papertape.trading.account import (
    INITIAL_STATE,
    STATE_SCHEMA_VERSION,
    AccountState,
    DecisionContext,
    decide,
    evolve,
)
from papertape.trading.account.stored import decode_state, encode_state, fold_stored


def event_ids(request: Request[Any], count: int) -> list[EventId]:
    """Deterministic UUIDv7s for a request's events, so a retried request appends nothing new.

    The time part is the request id's own when it is a UUIDv7 (so a retry with a new
    ``issued_at`` still maps to the same ids), else the request's ``issued_at``.
    """
    ms = uuid7_time_or(request.request_id, int(request.issued_at.timestamp() * 1000))
    return [EventId(derived_uuid7(f"{request.request_id}:{i}", ms)) for i in range(count)]


class Decided(msgspec.Struct, frozen=True):
    """What one command did: the events appended (empty when none) and the state after."""

    envelopes: list[Envelope[AccountEvent]]
    positions: list[int]
    state: AccountState
    version: int


class UnknownAccount(Unprocessable, LookupError):
    """The command or query names an account that was never opened."""


class AccountBook:
    """The states of all accounts, each with the stream version it reflects."""

    def __init__(
        self,
        log: EventLog,
        snapshots: SnapshotStore,
        clock: Clock,
        *,
        policy: SnapshotPolicy | None = None,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self._log = log
        self._snapshots = snapshots
        self._clock = clock
        self._policy = policy or SnapshotPolicy(every=100)
        self._metrics = metrics
        self._gauges = AccountGauges(metrics.registry) if metrics is not None else None
        self._states: dict[str, Rebuilt[AccountState]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # The last log position each account's state covers: an append whose positions are
        # not past it returned the positions of a request appended before (a retry).
        self._covered: dict[str, int] = {}

    # --- reading ---------------------------------------------------------------------------
    def accounts(self) -> list[AccountId]:
        return [AccountId(a) for a in sorted(self._states)]

    def state(self, account_id: str) -> AccountState:
        rebuilt = self._states.get(account_id)
        return rebuilt.state if rebuilt is not None else INITIAL_STATE

    def version(self, account_id: str) -> int:
        rebuilt = self._states.get(account_id)
        return rebuilt.version if rebuilt is not None else 0

    async def refresh(self, account_id: str) -> AccountState:
        """The account's state, loaded from the log when this book has not seen it yet
        (an account forked or written by an audit tool since start-up)."""
        if account_id not in self._states:
            async with self._lock(account_id):
                await self._reload(account_id)
        return self.state(account_id)

    async def _reload(self, account_id: str) -> None:
        """Rebuild one account from the log; its state then covers at least today's head."""
        rebuilt = await self.load(account_id)
        head = await self._log.head_position()  # read after the load: it covers every event
        if rebuilt.version > 0:
            self._states[account_id] = rebuilt
            self._covered[account_id] = head

    # --- rebuilding ------------------------------------------------------------------------
    async def load(self, account_id: str, to_position: int | None = None) -> Rebuilt[AccountState]:
        """Rebuild one account from its latest snapshot and the events after it."""
        return await rebuild_from_data(
            self._log,
            self._snapshots,
            account_stream(account_id),
            state_schema_version=STATE_SCHEMA_VERSION,
            initial=INITIAL_STATE,
            fold=fold_stored,
            decode_state=decode_state,
            to_position=to_position,
        )

    async def load_all(self) -> tuple[int, int, float]:
        """Rebuild every account; returns (accounts, events replayed, seconds)."""
        return await self.load_where(lambda _account_id: True)

    async def load_where(self, owned: Callable[[str], bool]) -> tuple[int, int, float]:
        """Rebuild the accounts ``owned`` names (a replica's partition of them); returns
        (accounts, events replayed, seconds)."""
        started = time.perf_counter()
        replayed = 0
        loaded: dict[str, Rebuilt[AccountState]] = {}
        for info in await self._log.list_streams(ACCOUNT_STREAM_PREFIX):
            account_id = info.stream_id.removeprefix(ACCOUNT_STREAM_PREFIX)
            if not owned(account_id):
                continue
            rebuilt = await self.load(account_id)
            loaded[account_id] = rebuilt
            replayed += rebuilt.version - rebuilt.snapshot_version
        head = await self._log.head_position()
        self._states.update(loaded)
        self._covered.update(dict.fromkeys(loaded, head))
        seconds = time.perf_counter() - started
        if self._gauges is not None:
            for account_id, rebuilt in loaded.items():
                self._gauges.observe(account_id, rebuilt.state)
        if self._metrics is not None:
            self._metrics.rebuild_seconds.labels(self._metrics.service).set(seconds)
            self._metrics.rebuild_events.labels(self._metrics.service).set(replayed)
        return len(loaded), replayed, seconds

    def forget_where(self, owned: Callable[[str], bool]) -> None:
        """Drop the accounts ``owned`` names (a partition this replica no longer owns): their
        next owner has them, and a state kept here would go stale."""
        for account_id in [a for a in self._states if owned(a)]:
            del self._states[account_id]
            self._covered.pop(account_id, None)
            if self._gauges is not None:
                self._gauges.forget(account_id)

    # --- deciding --------------------------------------------------------------------------
    def _lock(self, account_id: str) -> asyncio.Lock:
        return self._locks.setdefault(account_id, asyncio.Lock())

    async def execute(
        self, request: Request[AccountCommand], marks: dict[Any, Any] | None = None
    ) -> Decided:
        """Decide a command against the account's state, append the events, move the state."""
        account_id = request.body.account_id
        async with self._lock(account_id):
            for _attempt in range(3):
                current = self._states.get(account_id) or Rebuilt(INITIAL_STATE, 0, 0)
                if not current.state.account_id and not isinstance(request.body, OpenAccount):
                    current = await self._opened(account_id)
                context = DecisionContext(now=self._clock.now(), marks=marks or {})
                events = decide(request.body, current.state, context)
                if not events:
                    return Decided([], [], current.state, current.version)
                envelopes = self._envelopes(
                    request, account_id, current.version, events, context.now
                )
                try:
                    positions = await self._log.append(
                        account_stream(account_id),
                        current.version,
                        [new_event(e) for e in envelopes],
                    )
                except ConcurrencyError:
                    # Another writer moved the stream: rebuild from the log and decide again.
                    await self._reload(account_id)
                    continue
                if positions and min(positions) <= self._covered.get(account_id, 0):
                    # A retried request: the log kept the first append's events; reload.
                    await self._reload(account_id)
                    return Decided([], positions, self.state(account_id), self.version(account_id))
                self._covered[account_id] = max(positions)
                return await self._moved(account_id, current, envelopes, positions)
            raise ConcurrencyError(account_stream(account_id), None, self.version(account_id))

    async def _opened(self, account_id: str) -> Rebuilt[AccountState]:
        """The account as the log has it (a fork may not be loaded yet), or UnknownAccount.

        Only ``OpenAccount`` may start a stream: anything else on an account that was never
        opened is refused and appends nothing, so no ghost stream is ever created.
        """
        await self._reload(account_id)
        current = self._states.get(account_id)
        if current is None or not current.state.account_id:
            raise UnknownAccount(f"no account {account_id!r}: open it first")
        return current

    def _envelopes(
        self,
        request: Request[AccountCommand],
        account_id: str,
        version: int,
        events: Sequence[AccountEvent],
        now: datetime,
    ) -> list[Envelope[AccountEvent]]:
        # The requester's trace when it sent one, else the span handling the command.
        traceparent, tracestate = (
            (request.traceparent, request.tracestate) if request.traceparent else trace_fields()
        )
        return [
            Envelope(
                event_id=event_id,
                stream_id=StreamId(account_stream(account_id)),
                stream_version=version + index + 1,
                occurred_at=now,
                correlation_id=request.correlation_id or CorrelationId(request.request_id),
                causation_id=request.causation_id or CausationId(request.request_id),
                actor=request.actor,
                traceparent=traceparent,
                tracestate=tracestate,
                data=event,
            )
            for index, (event_id, event) in enumerate(
                zip(event_ids(request, len(events)), events, strict=True)
            )
        ]

    async def _moved(
        self,
        account_id: str,
        current: Rebuilt[AccountState],
        envelopes: list[Envelope[AccountEvent]],
        positions: list[int],
    ) -> Decided:
        state = current.state
        for envelope in envelopes:
            state = evolve(state, envelope.data)
        moved = Rebuilt(state, current.version + len(envelopes), current.snapshot_version)
        if await snapshot_if_due(
            self._snapshots,
            self._policy,
            moved,
            state_schema_version=STATE_SCHEMA_VERSION,
            encode_state=encode_state,
            stream_id=account_stream(account_id),
        ):
            moved = Rebuilt(moved.state, moved.version, moved.version)
        self._states[account_id] = moved
        if self._gauges is not None:
            self._gauges.observe(account_id, moved.state)
            self._gauges.count(account_id, (e.data for e in envelopes), moved.state.base_currency)
        if self._metrics is not None:
            for envelope in envelopes:
                self._metrics.events_appended.labels(
                    self._metrics.service, type(envelope.data).__name__
                ).inc()
        return Decided(envelopes, positions, moved.state, moved.version)
