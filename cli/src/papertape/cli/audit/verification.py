"""``audit verify``: the log's integrity, then every account's projections against a replay.

The log: hash chain, gap-free positions, contiguous versions, recorded times in order, the
head row against the last event, and every anchor given (``verify_log``). The
projections: each account's latest snapshot must equal a fresh replay of its stream up to
the snapshot's version, and, when a portfolio service answers, its live summary must equal
the replay's summary at the version it reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from papertape.cli.audit.rebuilds import AccountAsOf, replay_account
from papertape.cli.client import PortfolioClient, PortfolioUnavailable, Refused
from papertape.cli.output import Advance
from papertape.common.eventlog import (
    Anchor,
    EventLog,
    Snapshot,
    SnapshotStore,
    Verification,
    verify_log,
)
from papertape.contract.events.account import ACCOUNT_STREAM_PREFIX, account_stream
from papertape.contract.events.portfolio import GetAccountSummary
from papertape.contract.events.reports import AccountSummary
from papertape.contract.ids import AccountId
from papertape.trading.account import STATE_SCHEMA_VERSION, to_snapshot
from papertape.trading.account.reports import account_summary
from papertape.trading.account.stored import snapshot_codec


class AuditableLog(EventLog, SnapshotStore, Protocol):
    """An event log that also keeps snapshots (both implementations do)."""


class AccountMismatch(msgspec.Struct, frozen=True, kw_only=True):
    """A projection of an account that differs from the replay of its stream."""

    account_id: str
    source: str  # "snapshot" or "live"
    version: int
    position: int
    fields: list[str]


class AuditReport(msgspec.Struct, frozen=True, kw_only=True):
    """Everything ``audit verify`` found."""

    log: Verification
    accounts: int = 0
    snapshots_checked: int = 0
    live_checked: int = 0
    live_skipped: str | None = None
    mismatches: list[AccountMismatch] = []

    @property
    def ok(self) -> bool:
        """True when the log and every projection checked out."""
        return self.log.ok and not self.mismatches

    @property
    def first_bad_position(self) -> int | None:
        """The lowest position at which something is wrong."""
        positions = [m.position for m in self.mismatches]
        if self.log.first_bad_position is not None:
            positions.append(self.log.first_bad_position)
        return min(positions, default=None)


def differences(left: msgspec.Struct, right: msgspec.Struct) -> list[str]:
    """Names of the fields whose values differ between two structs of one type."""
    return [name for name in left.__struct_fields__ if getattr(left, name) != getattr(right, name)]


async def check_snapshot(
    log: EventLog, account_id: str, snapshot: Snapshot
) -> tuple[AccountMismatch | None, AccountAsOf]:
    """Compare an account's snapshot with a replay of its stream up to the same version;
    returns the replay too, for the live check to go on from."""
    stored = snapshot_codec.decode(snapshot.state)
    replayed = await replay_account(log, account_id, to_version=snapshot.version)
    fields = differences(stored, to_snapshot(replayed.state))
    if replayed.version != snapshot.version:
        fields.insert(0, f"stream ends at version {replayed.version}")
    if not fields:
        return None, replayed
    mismatch = AccountMismatch(
        account_id=account_id,
        source="snapshot",
        version=snapshot.version,
        position=replayed.position,
        fields=fields,
    )
    return mismatch, replayed


async def check_live(
    log: EventLog, client: PortfolioClient, account_id: str, replayed: AccountAsOf | None = None
) -> AccountMismatch | None:
    """Compare the portfolio's live summary with the replay's at the same version."""
    try:
        live: AccountSummary = await client.query(
            GetAccountSummary(account_id=AccountId(account_id))
        )
    except Refused as refusal:
        return AccountMismatch(
            account_id=account_id,
            source="live",
            version=0,
            position=0,
            fields=[f"the portfolio answered {refusal}"],
        )
    if replayed is None or replayed.version > live.version:
        replayed = None  # the snapshot is ahead of what the service reports: start over
    replayed = await replay_account(log, account_id, to_version=live.version, start=replayed)
    fields = differences(live, account_summary(replayed.state))
    if not fields:
        return None
    return AccountMismatch(
        account_id=account_id,
        source="live",
        version=live.version,
        position=replayed.position,
        fields=fields,
    )


async def audit(
    log: AuditableLog,
    advance: Advance,
    client: PortfolioClient | None = None,
    anchors: Sequence[Anchor] = (),
) -> AuditReport:
    """Verify the log (against ``anchors`` too), every account's snapshot and (with a client)
    its live state."""
    chain = await verify_log(log, anchors=anchors, advance=advance)
    streams = await log.list_streams(ACCOUNT_STREAM_PREFIX)
    accounts = [info.stream_id.removeprefix(ACCOUNT_STREAM_PREFIX) for info in streams]
    mismatches: list[AccountMismatch] = []
    snapshots = live = 0
    skipped: str | None = None if client is not None else "not asked for (--no-live)"
    for account_id in accounts:
        snapshot = await log.load_snapshot(account_stream(account_id), STATE_SCHEMA_VERSION)
        replayed: AccountAsOf | None = None
        if snapshot is not None:
            snapshots += 1
            found, replayed = await check_snapshot(log, account_id, snapshot)
            mismatches.extend([found] if found is not None else [])
        if client is None or skipped is not None:
            continue
        try:
            drift = await check_live(log, client, account_id, replayed)
        except PortfolioUnavailable as error:
            skipped = str(error)
            continue
        live += 1
        mismatches.extend([drift] if drift is not None else [])
    return AuditReport(
        log=chain,
        accounts=len(accounts),
        snapshots_checked=snapshots,
        live_checked=live,
        live_skipped=skipped,
        mismatches=mismatches,
    )
