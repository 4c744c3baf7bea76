"""The law the whole design rests on: an account rebuilt from the log equals the live one.

Random command sequences go through the portfolio's AccountBook (decide, append with the
concurrency check, evolve, snapshots every 3 events) over the in-memory event log, which
passes the same contract suite as the PostgreSQL one; then a fresh book rebuilds from the
log and snapshots and must hold exactly the same states and versions.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papertape.common.clock import FakeClock
from papertape.common.eventlog import InMemoryEventLog, SnapshotPolicy
from papertape.common.idgen import SeededIdGenerator
from papertape.contract.events.account import AccountCommand, OpenAccount
from papertape.contract.events.envelope import Request
from papertape.contract.ids import Actor
from papertape.portfolio.accounts import AccountBook
from papertape.trading.account.scenarios import ACCOUNT, T0
from tests.trading.account.test_account_properties import next_command


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), steps=st.integers(min_value=1, max_value=40))
def test_rebuilding_from_the_log_equals_the_live_state(data: st.DataObject, steps: int) -> None:
    asyncio.run(_run(data, steps))


async def _run(data: st.DataObject, steps: int) -> None:
    log = InMemoryEventLog()
    clock = FakeClock(T0)
    ids = SeededIdGenerator(seed=steps)
    live = AccountBook(log, log, clock, policy=SnapshotPolicy(every=3))

    async def run(command: AccountCommand) -> None:
        await live.execute(
            Request(request_id=ids.new(), issued_at=clock.now(), actor=Actor("test"), body=command)
        )

    await run(OpenAccount(account_id=ACCOUNT, name="prop"))
    for step in range(steps):
        clock.advance(timedelta(minutes=7))
        await run(next_command(data, live.state(ACCOUNT), step))

    await live.snapshots_saved()
    rebuilt = AccountBook(log, log, clock, policy=SnapshotPolicy(every=3))
    await rebuilt.load_all()
    assert rebuilt.version(ACCOUNT) == live.version(ACCOUNT)
    assert rebuilt.state(ACCOUNT) == live.state(ACCOUNT)

    from_scratch = AccountBook(log, InMemoryEventLog(), clock)  # no snapshots at all
    await from_scratch.load_all()
    assert from_scratch.state(ACCOUNT) == live.state(ACCOUNT)
