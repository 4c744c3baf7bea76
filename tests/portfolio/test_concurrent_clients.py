"""32 clients at once on four accounts: each account's log keeps the order of its answers.

The portfolio decides different accounts' commands side by side (their appends share a
group commit) and one account's one at a time. So whatever the interleaving, a command
answered before another was sent comes first in its account's log; every answered command's
events are in the log once, at the versions its answer gave, and nothing else is; the state
rebuilt from the log is the state the service holds; the relay puts every event on ACCOUNTS
in its account's order.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal

import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout

from papertape.contract import codec
from papertape.contract.events.account import (
    AccountEvent,
    CancelOrder,
    Deposit,
    OpenAccount,
    PlaceOrder,
    SetRiskLimits,
    account_stream,
)
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.contract.limits import RiskLimits
from papertape.contract.subjects import Subjects
from papertape.portfolio.bootstrap import Portfolio
from tests.portfolio.conftest import PortfolioClient

pytestmark = pytest.mark.integration
ACCOUNTS = [AccountId(f"lane{n}") for n in range(4)]
CLIENTS = 32
COMMANDS = 9  # per client: deposit, place, cancel, three times
INITIAL = Decimal(1_000_000)
LIMITS = RiskLimits(
    max_position_pct=Decimal(10000),
    max_risk_per_trade_pct=Decimal(10000),
    max_portfolio_heat_pct=Decimal(10000),
    max_trades_per_day=1_000_000,
)
account_events: codec.Codec[Envelope[AccountEvent]] = codec.Codec(Envelope[AccountEvent])


@dataclass(frozen=True)
class Answered:
    """One command as its client saw it: when it went and came back, what it appended."""

    client: int
    sent: float
    answered: float
    versions: tuple[int, ...]
    event_ids: tuple[str, ...]
    types: tuple[str, ...]


def command(client: int, n: int, account: AccountId) -> Deposit | PlaceOrder | CancelOrder:
    order = OrderId(f"c{client}-{n // 3}")
    if n % 3 == 0:
        return Deposit(account_id=account, amount=Decimal(client * 100 + n + 1))
    if n % 3 == 1:
        return PlaceOrder(
            account_id=account,
            order_id=order,
            symbol=Symbol("AAPL"),
            side=OrderSide.BUY,
            quantity=Decimal(1),
            order_type=OrderType.LIMIT,
            limit_price=Decimal(50),  # far below the market: it stays working
        )
    return CancelOrder(account_id=account, order_id=order)


async def drive(client: PortfolioClient, c: int) -> list[Answered]:
    """One client: its commands one after the other, each sent once the last was answered."""
    account = ACCOUNTS[c % len(ACCOUNTS)]
    answered = []
    for n in range(COMMANDS):
        sent = time.perf_counter()
        reply = await client.command(command(c, n, account))
        at = time.perf_counter()
        assert reply.ok, reply
        events = reply.result["events"]
        assert events, f"client {c} command {n} appended nothing"
        answered.append(
            Answered(
                client=c,
                sent=sent,
                answered=at,
                versions=tuple(e["stream_version"] for e in events),
                event_ids=tuple(e["event_id"] for e in events),
                types=tuple(e["data"]["type"] for e in events),
            )
        )
    return answered


async def relayed(nats_client: Client, subjects: Subjects, account: str, count: int) -> list[int]:
    """The versions of the account's events on ACCOUNTS, in the order the stream holds them."""
    sub = await nats_client.jetstream().subscribe(
        subjects.account_events(account), ordered_consumer=True
    )
    versions: list[int] = []
    deadline = time.monotonic() + 30
    while len(versions) < count and time.monotonic() < deadline:
        try:
            msg = await sub.next_msg(timeout=1)
        except NatsTimeout:
            continue
        versions.append(account_events.decode(msg.data).stream_version)
    await sub.unsubscribe()
    return versions


async def test_32_concurrent_clients_keep_each_accounts_events_in_the_order_answered(
    portfolio: Portfolio, client: PortfolioClient, nats_client: Client, subjects: Subjects
) -> None:
    for account in ACCOUNTS:
        opened = await client.command(
            OpenAccount(account_id=account, name=account, initial_cash=INITIAL)
        )
        assert opened.ok, opened
        assert (await client.command(SetRiskLimits(account_id=account, limits=LIMITS))).ok
    committer = portfolio.log.committer
    assert committer is not None
    transactions, appends = committer.transactions, committer.appends
    per_client = await asyncio.gather(*(drive(client, c) for c in range(CLIENTS)))
    # Decided side by side: appends of different accounts went out in shared transactions.
    assert committer.transactions - transactions < committer.appends - appends

    for a, account in enumerate(ACCOUNTS):
        answers = [x for c, got in enumerate(per_client) if c % len(ACCOUNTS) == a for x in got]
        assert len(answers) == CLIENTS // len(ACCOUNTS) * COMMANDS
        stored = [
            event
            async for batch in portfolio.log.read_stream(account_stream(account))
            for event in batch
        ]
        # Versions without a gap; every answered event once, where its answer said; no other
        # event than the account's opening, its limits and what was answered.
        assert [e.stream_version for e in stored] == list(range(1, len(stored) + 1))
        at_version = {e.stream_version: e.event_id for e in stored}
        for answer in answers:
            assert [at_version[v] for v in answer.versions] == list(answer.event_ids)
        answered_ids = [i for answer in answers for i in answer.event_ids]
        assert len(set(answered_ids)) == len(answered_ids)
        assert len(stored) == 2 + len(answered_ids)
        assert all(
            types[0] in {"funds_deposited.v1", "order_placed.v1", "order_cancelled.v1"}
            for types in (answer.types for answer in answers)
        ), {answer.types for answer in answers}
        # A command answered before another was sent comes first in the log.
        for first in answers:
            for later in answers:
                if first.answered < later.sent:
                    assert max(first.versions) < min(later.versions), (first, later)
        # The service's state is the log's: a rebuild from the log gives the same.
        rebuilt = await portfolio.book.load(account)
        held = portfolio.book.state(account)
        assert rebuilt.version == len(stored) == portfolio.book.version(account)
        assert rebuilt.state == held
        deposits = sum(
            Decimal(c * 100 + n + 1)
            for c in range(a, CLIENTS, len(ACCOUNTS))
            for n in range(0, COMMANDS, 3)
        )
        assert held.cash == INITIAL + deposits
        assert not held.orders  # every order placed was cancelled: nothing left working
        assert held.reserved == 0
        # The relay published each event once, in the account's order.
        assert await relayed(nats_client, subjects, account, len(stored)) == list(
            range(1, len(stored) + 1)
        )
