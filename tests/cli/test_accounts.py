"""``papertape accounts`` / ``account`` / ``order`` against an in-process portfolio service."""

from __future__ import annotations

import json
from decimal import Decimal

import asyncpg
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from papertape.cli.client import PortfolioClient, Refused
from papertape.contract.events.portfolio import GetAccountSummary
from papertape.contract.ids import AccountId
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


async def test_an_account_opened_from_the_command_line_shows_its_cash(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await _cli(capsys, "account", "open", "alice", "--cash", "25000", *bus)
    assert code == 0
    assert "opened with 25000 USD (account alice at version 1)" in out

    code, out, _ = await _cli(capsys, "account", "show", "alice", "--json", *bus)
    statement = json.loads(out)
    assert code == 0
    assert Decimal(statement["summary"]["cash"]) == Decimal(25000)
    assert statement["positions"] == []
    assert statement["open_orders"] == []


async def test_accounts_list_names_every_account(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", "--name", "Alice", *bus)
    await _cli(capsys, "account", "open", "bob", *bus)

    code, out, _ = await _cli(capsys, "accounts", "list", *bus)

    assert code == 0
    assert "alice" in out
    assert "Alice" in out
    assert "bob" in out


async def test_a_deposit_and_a_withdrawal_move_the_cash(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)
    assert (await _cli(capsys, "account", "deposit", "alice", "1500.50", *bus))[0] == 0
    assert (await _cli(capsys, "account", "withdraw", "alice", "500", *bus))[0] == 0

    _, out, _ = await _cli(capsys, "account", "show", "alice", "--json", *bus)

    assert Decimal(json.loads(out)["summary"]["cash"]) == Decimal("11000.50")


async def test_a_withdrawal_beyond_the_cash_is_refused_with_its_reason_code(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)

    code, _, err = await _cli(capsys, "account", "withdraw", "alice", "20000", *bus)

    assert code == 1
    assert "refused: insufficient_funds" in err


async def test_an_order_is_placed_listed_and_cancelled(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)

    code, out, _ = await _cli(
        capsys,
        "order",
        "place",
        "alice",
        "AAPL",
        "buy",
        "5",
        "--type",
        "limit",
        "--limit",
        "100",
        "--order-id",
        "o-1",
        *bus,
    )
    assert code == 0
    assert "placed entry order o-1: buy 5 AAPL limit @ 100 GTC" in out

    code, out, _ = await _cli(capsys, "order", "list", "alice", "--json", *bus)
    (order,) = json.loads(out)
    assert (order["order_id"], order["symbol"]) == ("o-1", "AAPL")
    assert Decimal(order["quantity"]) == 5

    code, out, _ = await _cli(capsys, "order", "cancel", "alice", "o-1", *bus)
    assert code == 0
    assert "cancelled order o-1" in out

    _, out, _ = await _cli(capsys, "order", "list", "alice", "--json", *bus)
    assert json.loads(out) == []


async def test_a_refused_order_prints_its_reason_code_and_exits_non_zero(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)

    code, _, err = await _cli(
        capsys,
        "order",
        "place",
        "alice",
        "AAPL",
        "sell",
        "10",
        "--type",
        "limit",
        "--limit",
        "100",
        *bus,
    )

    assert code == 1
    assert "refused: short_selling_not_allowed:" in err


async def test_a_halted_account_refuses_orders_until_resumed(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)
    order = ("order", "place", "alice", "AAPL", "buy", "1", "--type", "limit", "--limit", "10")

    assert (await _cli(capsys, "account", "halt", "alice", "--reason", "audit", *bus))[0] == 0
    code, _, err = await _cli(capsys, *order, *bus)
    assert code == 1
    assert "trading_halted" in err

    assert (await _cli(capsys, "account", "resume", "alice", *bus))[0] == 0
    assert (await _cli(capsys, *order, *bus))[0] == 0


async def test_trades_export_as_csv_and_the_report_prints(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)

    code, out, _ = await _cli(capsys, "account", "trades", "alice", "--csv", *bus)
    assert code == 0
    assert out.splitlines()[0].startswith("symbol")

    code, out, _ = await _cli(capsys, "account", "report", "alice", *bus)
    assert code == 0
    assert "account alice: report" in out
    assert "performance" in out


async def test_an_unknown_account_is_a_clear_error(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await _cli(capsys, "account", "show", "nobody", *bus)

    assert code == 1
    assert "refused: unknown_account: no account 'nobody'" in err


async def test_without_a_portfolio_the_command_says_so(
    nats_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await _cli(
        capsys, "accounts", "list", "--nats-url", nats_url, "--namespace", "nobody_here"
    )

    assert code == 3
    assert "no portfolio service answered" in err


async def test_audit_verify_compares_the_live_portfolio_and_snapshots_with_a_replay(
    portfolio: Portfolio,
    bus: tuple[str, ...],
    fresh_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)
    for amount in ("1", "2", "3", "4", "5", "6"):
        await _cli(capsys, "account", "deposit", "alice", amount, *bus)

    code, out, _ = await _cli(
        capsys, "audit", "verify", "--database-url", fresh_database, "--json", *bus
    )

    report = json.loads(out)
    assert code == 0, report
    assert report["live_checked"] == 1
    assert report["snapshots_checked"] == 1
    assert report["live_skipped"] is None


async def test_a_tampered_row_shows_as_live_state_differing_from_the_replay(
    portfolio: Portfolio,
    bus: tuple[str, ...],
    fresh_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)
    await _cli(capsys, "account", "deposit", "alice", "100", *bus)
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            "UPDATE events SET data = jsonb_set(data, '{amount}', '\"900\"') WHERE position = 2"
        )
    finally:
        await conn.close()

    code, out, _ = await _cli(
        capsys, "audit", "verify", "--database-url", fresh_database, "--json", *bus
    )

    report = json.loads(out)
    assert code == 1
    assert report["log"]["first_bad_position"] == 2
    (live,) = [m for m in report["mismatches"] if m["source"] == "live"]
    assert live["account_id"] == "alice"
    assert "cash" in live["fields"]


async def test_a_yen_account_shows_whole_yen_and_a_listing_in_its_currency(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    opening = ("account", "open", "kenji", "--currency", "JPY", "--cash", "1234567.891")
    assert (await _cli(capsys, *opening, *bus))[0] == 0

    code, out, _ = await _cli(capsys, "account", "show", "kenji", *bus)
    assert code == 0
    assert "1234568" in out
    assert "1234567.891" not in out

    code, out, _ = await _cli(capsys, "accounts", "list", "--json", *bus)
    [listing] = json.loads(out)
    assert (listing["cash"], listing["equity"]) == ("1234568", "1234568")


async def test_a_reply_that_breaks_the_contract_is_refused_not_printed(
    nats_client: Client, subjects: Subjects
) -> None:
    async def answer(msg: Msg) -> None:
        await msg.respond(b'{"ok": true, "result": {"cash": 12.5}}')

    await nats_client.subscribe(subjects.portfolio_query("get_account_summary"), cb=answer)
    client = PortfolioClient(nats_client, subjects, timeout=5)
    with pytest.raises(Refused) as refused:
        await client.query(GetAccountSummary(account_id=AccountId("alice")))
    assert refused.value.code == "malformed_reply"
