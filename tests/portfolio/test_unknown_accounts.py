"""Only OpenAccount starts an account: anything else on an unknown account appends nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from papertape.contract.events.account import Deposit, HaltTrading, OpenAccount, account_stream
from papertape.contract.events.portfolio import GetAccountSummary, ListAccounts
from papertape.contract.ids import AccountId
from papertape.portfolio.bootstrap import Portfolio
from tests.portfolio.conftest import PortfolioClient

pytestmark = pytest.mark.integration


async def test_a_command_on_an_account_never_opened_is_unknown_and_appends_nothing(
    portfolio: Portfolio, client: PortfolioClient
) -> None:
    ghost = AccountId("ghost")
    head = await portfolio.log.head_position()

    for command in (
        Deposit(account_id=ghost, amount=Decimal(5)),
        HaltTrading(account_id=ghost, reason="x"),
    ):
        answer = await client.command(command)
        assert (answer.ok, answer.error_code) == (False, "unknown_account")

    assert await portfolio.log.head_position() == head
    assert [b async for b in portfolio.log.read_stream(account_stream(ghost))] == []
    listed = await client.query("accounts", ListAccounts())
    assert ghost not in {a["account_id"] for a in listed.result}
    summary = await client.query("summary", GetAccountSummary(account_id=ghost))
    assert summary.error_code == "unknown_account"


async def test_once_opened_the_same_commands_are_decided(
    portfolio: Portfolio, client: PortfolioClient
) -> None:
    alice = AccountId("alice")
    assert (await client.command(OpenAccount(account_id=alice, name="Alice"))).ok
    answer = await client.command(Deposit(account_id=alice, amount=Decimal(5)))
    assert answer.ok, answer.error
