"""The account book: every account's state, rebuilt from the log, changed only through it.

One writer per account: an account's commands (the clients', the venue's fills, the marks)
go through its mailbox (``papertape.portfolio.mailbox``) and are handled a turn at a time under
the account's lock, in the order they were given. A turn decides each command against the
state the ones before it left and appends all their events at once, with the stream's version
as the optimistic-concurrency check, before the state moves; each command is answered with
its own events. Whatever is unusual goes one command at a time, exactly as a lone command
does: the stream moved (reload, decide again), a request id seen before (the log replays its
positions: a retry appends nothing) or twice in one turn, an account not loaded yet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from papertape.common.bus.deadletters import Unprocessable, is_transient
from papertape.common.clock import Clock
from papertape.common.eventlog import (
    ConcurrencyError,
    DuplicateEventError,
    EventLog,
    SnapshotPolicy,
    SnapshotStore,
    new_event,
)
from papertape.common.eventlog.snapshots import Rebuilt, rebuild_from_data
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
from papertape.portfolio.gauges import AccountGauges, Children
from papertape.portfolio.mailbox import Mailboxes
from papertape.trading.account import (
    INITIAL_STATE,
    STATE_SCHEMA_VERSION,
    AccountState,
    DecisionContext,
    decide,
    evolve,
)
from papertape.trading.account.stored import decode_state, encode_state, fold_stored

log = logging.getLogger(__name__)


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


class Command(msgspec.Struct, frozen=True):
    """A command waiting in its account's mailbox, with what it is decided and traced with."""

    request: Request[AccountCommand]
    marks: dict[Any, Any]
    trace: tuple[str | None, str | None]
    """The (traceparent, tracestate) its events carry."""


async def _outcome(work: Awaitable[Decided]) -> Decided | Exception:
    """A command's result or the error it raised, so one failure leaves the others' answers."""
    try:
        return await work
    except Exception as error:
        return error


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
        self._appended = (
            Children(metrics.events_appended) if metrics is not None else None
        )  # by service and event type
        self._states: dict[str, Rebuilt[AccountState]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # The last log position each account's state covers: an append whose positions are
        # not past it returned the positions of a request appended before (a retry).
        self._covered: dict[str, int] = {}
        self._stale: set[str] = set()
        """Accounts whose last append failed without saying whether it committed (a lost
        connection): their next turn reloads them from the log before deciding anything."""
        self._mailboxes: Mailboxes[Command, Decided] = Mailboxes(self._turn, stops=is_transient)
        self._unsaved: dict[str, Rebuilt[AccountState]] = {}
        """Per account, the snapshot due that no save has taken yet (the latest)."""
        self._saving: dict[str, asyncio.Task[None]] = {}
        """Per account, the task saving its snapshots while any are due."""

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
        """Decide a command against the account's state, append the events, move the state.

        The command takes its place in the account's mailbox when called, before it first
        waits, so commands are decided in the order they were given; those that queue while
        the account's turn runs are decided together in the next one, in one append.
        """
        # The requester's trace when it sent one, else the span handling the command (read
        # here: the turn runs in the mailbox's task, not in the caller's).
        trace = (request.traceparent, request.tracestate) if request.traceparent else trace_fields()
        command = Command(request, marks or {}, trace)
        return await self._mailboxes.post(request.body.account_id, command)

    async def _turn(self, account_id: str, commands: list[Command]) -> list[Decided | Exception]:
        """One turn of an account's mailbox: one command alone, or many in one append."""
        async with self._lock(account_id):
            if account_id in self._stale:  # an append failed without saying whether it held
                await self._reload(account_id)
                self._stale.discard(account_id)
            if len(commands) > 1:
                together = await self._together(account_id, commands)
                if together is not None:
                    return together
            outcomes: list[Decided | Exception] = []
            for command in commands:
                outcome = await _outcome(self._execute(account_id, command))
                outcomes.append(outcome)
                if isinstance(outcome, Exception) and is_transient(outcome):
                    # The database went away: the rest, untried, fail with it (decided now,
                    # they would come before the one that failed once it is retried).
                    outcomes += [outcome] * (len(commands) - len(outcomes))
                    break
            return outcomes

    async def _together(
        self, account_id: str, commands: list[Command]
    ) -> list[Decided | Exception] | None:
        """Decide each command against the state the ones before it left, append all their
        events at once; None (nothing appended) when they must go one at a time: the account
        is not loaded, a request comes twice, the stream moved, a request was seen before."""
        current = self._states.get(account_id)
        if current is None or len({c.request.request_id for c in commands}) < len(commands):
            return None
        state, version = current.state, current.version
        outcomes: list[Decided | Exception] = []
        mine: list[list[Envelope[AccountEvent]]] = []
        for command in commands:
            context = DecisionContext(now=self._clock.now(), marks=command.marks)
            try:
                events = decide(command.request.body, state, context)
                envelopes = self._envelopes(command, account_id, version, events, context.now)
                after = state
                for envelope in envelopes:
                    after = evolve(after, envelope.data)
            except Exception as error:  # a broken invariant fails its own command only
                outcomes.append(error)
                mine.append([])
                continue
            state = after
            version += len(envelopes)
            outcomes.append(Decided(envelopes, [], state, version))
            mine.append(envelopes)
        appended = [envelope for envelopes in mine for envelope in envelopes]
        if not appended:
            return outcomes
        try:
            positions = await self._log.append(
                account_stream(account_id), current.version, [new_event(e) for e in appended]
            )
        except (ConcurrencyError, DuplicateEventError):
            await self._reload(account_id)  # the one-at-a-time path tells each what it was
            return None
        except BaseException:
            self._stale.add(account_id)  # it may have committed: the next turn reads the log
            raise
        if min(positions) <= self._covered.get(account_id, 0):  # all retried: one at a time
            await self._reload(account_id)
            return None
        self._covered[account_id] = max(positions)
        self._moved(account_id, current, appended, state)
        taken = 0
        for index, envelopes in enumerate(mine):
            decided = outcomes[index]
            if envelopes and isinstance(decided, Decided):
                own = positions[taken : taken + len(envelopes)]
                outcomes[index] = Decided(envelopes, own, decided.state, decided.version)
                taken += len(envelopes)
        return outcomes

    async def _execute(self, account_id: str, command: Command) -> Decided:
        """Decide one command alone (the account's lock held), append its events."""
        request = command.request
        for _attempt in range(3):
            current = self._states.get(account_id) or Rebuilt(INITIAL_STATE, 0, 0)
            if not current.state.account_id and not isinstance(request.body, OpenAccount):
                current = await self._opened(account_id)
            context = DecisionContext(now=self._clock.now(), marks=command.marks)
            events = decide(request.body, current.state, context)
            if not events:
                return Decided([], [], current.state, current.version)
            envelopes = self._envelopes(command, account_id, current.version, events, context.now)
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
            except BaseException:
                self._stale.add(account_id)  # it may have committed: the next turn reads the log
                raise
            if positions and min(positions) <= self._covered.get(account_id, 0):
                # A retried request: the log kept the first append's events; reload.
                await self._reload(account_id)
                return Decided([], positions, self.state(account_id), self.version(account_id))
            self._covered[account_id] = max(positions)
            moved = self._moved(account_id, current, envelopes)
            return Decided(envelopes, positions, moved.state, moved.version)
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
        command: Command,
        account_id: str,
        version: int,
        events: Sequence[AccountEvent],
        now: datetime,
    ) -> list[Envelope[AccountEvent]]:
        request = command.request
        traceparent, tracestate = command.trace
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

    def _moved(
        self,
        account_id: str,
        current: Rebuilt[AccountState],
        envelopes: list[Envelope[AccountEvent]],
        after: AccountState | None = None,
    ) -> Rebuilt[AccountState]:
        """Move the account's state past its appended events (``after`` them, when the caller
        evolved it already), with a snapshot when one is due, gauges and metrics."""
        state = current.state
        if after is not None:
            state = after
        else:
            for envelope in envelopes:
                state = evolve(state, envelope.data)
        moved = Rebuilt(state, current.version + len(envelopes), current.snapshot_version)
        if self._policy.due(moved.snapshot_version, moved.version, entries(state)):
            moved = Rebuilt(moved.state, moved.version, moved.version)
            self._snapshot_later(account_id, moved)
        self._states[account_id] = moved  # the events are in the log: so is the state, now
        if self._gauges is not None:
            self._gauges.observe(account_id, moved.state)
            self._gauges.count(account_id, (e.data for e in envelopes), moved.state.base_currency)
        if self._metrics is not None and self._appended is not None:
            for envelope in envelopes:
                self._appended(self._metrics.service, type(envelope.data).__name__).inc()
        return moved

    # --- snapshots -------------------------------------------------------------------------
    def _snapshot_later(self, account_id: str, rebuilt: Rebuilt[AccountState]) -> None:
        """Save a snapshot of ``rebuilt`` off the account's turn (encoding a long history and
        a round trip to the database held every letter behind it): one save in flight per
        account, and one that comes due meanwhile replaces any still waiting."""
        self._unsaved[account_id] = rebuilt
        if account_id not in self._saving:
            task = asyncio.create_task(self._save(account_id), name=f"snapshot {account_id}")
            self._saving[account_id] = task

    async def _save(self, account_id: str) -> None:
        try:
            while (rebuilt := self._unsaved.pop(account_id, None)) is not None:
                try:
                    await self._snapshots.save_snapshot(
                        account_stream(account_id),
                        rebuilt.version,
                        STATE_SCHEMA_VERSION,
                        encode_state(rebuilt.state),
                    )
                except Exception:  # a snapshot only shortens rebuilds: the append stands
                    log.warning(
                        "snapshot of %s at version %d failed",
                        account_id,
                        rebuilt.version,
                        exc_info=True,
                    )
        finally:
            del self._saving[account_id]

    async def snapshots_saved(self) -> None:
        """Wait for the snapshots in flight (a stop, before the log closes; tests)."""
        while self._saving:
            await asyncio.gather(*self._saving.values(), return_exceptions=True)


def entries(state: AccountState) -> int:
    """What a snapshot of ``state`` holds, in entries: what its encoding costs grows with it."""
    return (
        len(state.order_ids)
        + len(state.fill_ids)
        + len(state.client_order_ids)
        + len(state.closed_trades)
        + len(state.curve)
    )
