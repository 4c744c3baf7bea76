"""``papertape account costs`` and the cost columns of ``account trades``, on a live portfolio."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from nats.aio.client import Client

from papertape.common.bus.publishing import publish
from papertape.common.idgen import Uuid7Generator
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.execution import ExecutionModels, OrderFillReported
from papertape.contract.events.orders import Liquidity, OrderSide
from papertape.contract.events.portfolio import GetOpenOrders
from papertape.contract.ids import (
    AccountId,
    Actor,
    CorrelationId,
    EventId,
    OrderId,
    StreamId,
    Symbol,
)
from papertape.contract.subjects import Subjects
from papertape.portfolio.bootstrap import Portfolio
from tests.cli.accountlog import papertape
from tests.portfolio import conftest as portfolio_fixtures

pytestmark = pytest.mark.integration

portfolio = portfolio_fixtures.portfolio


@pytest.fixture
def bus(nats_url: str, subjects: Subjects) -> tuple[str, ...]:
    return ("--nats-url", nats_url, "--namespace", subjects.namespace)


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await papertape(*argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


ids = Uuid7Generator()


async def _until_filled(nats_client: Client, subjects: Subjects, order_id: str) -> None:
    """Wait until the account no longer lists the order as working (its fill is booked)."""
    client = portfolio_fixtures.PortfolioClient(nats_client, subjects)
    for _ in range(200):
        reply = await client.query("orders", GetOpenOrders(account_id=AccountId("alice")))
        if order_id not in {o["order_id"] for o in reply.result}:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{order_id} was not filled")


def _entries(out: str) -> dict[str, dict[str, str]]:
    return {row["entry"]: row for row in json.loads(out)["entries"]}


async def test_costs_show_lists_the_defaults_per_asset_class(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)

    code, out, _ = await _cli(capsys, "account", "costs", "show", "alice", "--json", *bus)

    entries = _entries(out)
    assert code == 0
    assert set(entries) == {"equity", "fx", "crypto"}
    equity, fx, crypto = entries["equity"], entries["fx"], entries["crypto"]
    assert (equity["source"], Decimal(equity["per_share"]), Decimal(equity["minimum"])) == (
        "default",
        Decimal("0.005"),
        Decimal(1),
    )
    assert (Decimal(fx["per_share"]), Decimal(fx["spread_pips"])) == (Decimal(0), Decimal(1))
    assert Decimal(crypto["taker_bps"]) == 40


async def test_costs_set_changes_a_class_and_an_instrument_and_clear_removes_it(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)

    code, out, _ = await _cli(
        capsys, "account", "costs", "set", "alice", "--asset-class", "equity", "--minimum", "0.35",
        *bus,
    )  # fmt: skip
    assert code == 0
    assert "costs of equity set (account alice at version 2)" in out
    code, _, _ = await _cli(
        capsys, "account", "costs", "set", "alice", "--symbol", "EURUSD", "--per-lot", "2.5", *bus
    )
    assert code == 0

    _, out, _ = await _cli(capsys, "account", "costs", "show", "alice", "--json", *bus)
    entries = _entries(out)
    equity, eurusd = entries["equity"], entries["EURUSD"]
    # The option given replaces its term; the others keep the entry's (here the defaults).
    assert (equity["source"], Decimal(equity["minimum"]), Decimal(equity["per_share"])) == (
        "account",
        Decimal("0.35"),
        Decimal("0.005"),
    )
    assert (eurusd["source"], Decimal(eurusd["per_lot"]), Decimal(eurusd["spread_pips"])) == (
        "instrument",
        Decimal("2.5"),
        Decimal(1),
    )
    _, out, _ = await _cli(capsys, "account", "costs", "show", "alice", *bus)
    assert "EURUSD" in out

    await _cli(capsys, "account", "costs", "set", "alice", "--symbol", "EURUSD", "--clear", *bus)
    _, out, _ = await _cli(capsys, "account", "costs", "show", "alice", "--json", *bus)
    assert "EURUSD" not in _entries(out)


async def test_negative_costs_are_refused_naming_the_term_and_never_sent(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)

    code, _, err = await _cli(
        capsys, "account", "costs", "set", "alice", "--asset-class", "fx", "--spread-pips", "-1",
        *bus,
    )  # fmt: skip

    assert code == 2
    assert "invalid: spread_pips must be 0 <= x" in err


async def test_trades_show_the_fees_slippage_and_spread_of_their_fills(
    portfolio: Portfolio,
    bus: tuple[str, ...],
    nats_client: Client,
    subjects: Subjects,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)
    for order_id, side, price in (("o-1", "buy", "100"), ("o-2", "sell", "101")):
        place = ("order", "place", "alice", "AAPL", side, "5", "--type", "limit")
        assert (await _cli(capsys, *place, "--limit", price, "--order-id", order_id, *bus))[0] == 0
        # Fills come from the venue, on EXECUTION (a client may not send them as commands).
        report = OrderFillReported(
            report_id=f"{order_id}.fill.1",
            account_id=AccountId("alice"),
            order_id=OrderId(order_id),
            ts=datetime.now(UTC),
            symbol=Symbol("AAPL"),
            side=OrderSide(side),
            price=Decimal(price),
            quantity=Decimal(5),
            fee=Decimal(1),
            liquidity=Liquidity.TAKER,
            reference_price=Decimal(price),
            touch_price=Decimal(price),
            spread_cost=Decimal("0.05"),
            slippage=Decimal("0.10"),
            slippage_bps=Decimal(0),
            models=ExecutionModels(),
            remaining=Decimal(0),
            fee_model="equity",
        )
        envelope = Envelope(
            event_id=EventId(ids.new()),
            stream_id=StreamId("venue"),
            stream_version=1,
            occurred_at=report.ts,
            correlation_id=CorrelationId(order_id),
            actor=Actor("execution"),
            data=report,
        )
        subject = subjects.execution_report("alice", "order_fill_reported")
        await publish(nats_client.jetstream(), subject, envelope, msg_id=report.report_id)
        await _until_filled(nats_client, subjects, order_id)

    _, out, _ = await _cli(capsys, "account", "trades", "alice", "--json", *bus)
    (trade,) = json.loads(out)
    assert (Decimal(trade["fees"]), Decimal(trade["slippage"])) == (Decimal(2), Decimal("0.20"))
    assert Decimal(trade["spread_cost"]) == Decimal("0.10")

    _, out, _ = await _cli(capsys, "account", "trades", "alice", *bus)
    assert "slippage" in out

    _, out, _ = await _cli(capsys, "account", "trades", "alice", "--csv", *bus)
    header, row = out.splitlines()
    assert header.endswith(",slippage,spread_cost")
    assert row.endswith(",0.20,0.10")
