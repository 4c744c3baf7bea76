"""Query answers on the bus: the structs the contract names, numbers at their precision."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import pytest

from papertape.contract.codec import Codec, encode
from papertape.contract.events.account import Deposit, OpenAccount
from papertape.contract.events.base import Query
from papertape.contract.events.envelope import Reply, Request
from papertape.contract.events.portfolio import (
    QUERY_RESULTS,
    ExportTradesCsv,
    GetAccountSummary,
    GetActivity,
    GetClosedTrades,
    GetEquityCurve,
    GetOpenOrders,
    GetPerformance,
    GetPositions,
    GetReport,
    ListAccounts,
)
from papertape.contract.events.reports import AccountReport, EquityPoint
from papertape.contract.ids import AccountId, Actor
from tests.portfolio.conftest import PortfolioClient

pytestmark = pytest.mark.integration
ACC = AccountId("kenji")


async def _typed(client: PortfolioClient, query: Query) -> Any:
    """Ask ``query`` and decode the raw reply as the contract's struct for it."""
    request = Request(
        request_id=client.ids.new(), issued_at=datetime.now(UTC), actor=Actor("test"), body=query
    )
    subject = client.subjects.portfolio_query("any")
    msg = await client.nc.request(subject, encode(request), timeout=10)
    codec: Codec[Reply[Any]] = Codec(cast(Any, Reply)[QUERY_RESULTS[type(query)]])
    reply = codec.decode(msg.data)
    assert reply.ok, reply.error
    return reply.result


async def test_every_query_answers_with_the_struct_the_contract_names(
    client: PortfolioClient,
) -> None:
    opening = OpenAccount(
        account_id=ACC, name="Kenji", base_currency="JPY", initial_cash=Decimal("1000000.4")
    )
    assert (await client.command(opening)).ok
    assert (await client.command(Deposit(account_id=ACC, amount=Decimal("0.6")))).ok
    for query in (
        ListAccounts(),
        GetAccountSummary(account_id=ACC),
        GetPositions(account_id=ACC),
        GetOpenOrders(account_id=ACC),
        GetClosedTrades(account_id=ACC),
        GetActivity(account_id=ACC),
        GetEquityCurve(account_id=ACC),
        GetPerformance(account_id=ACC),
        ExportTradesCsv(account_id=ACC),
    ):
        await _typed(client, query)

    report: AccountReport = await _typed(client, GetReport(account_id=ACC))
    assert str(report.summary.cash) == "1000001"  # whole yen, half to even
    curve: list[EquityPoint] = await _typed(client, GetEquityCurve(account_id=ACC))
    first = curve[0]
    assert str(first.cash) == "1000000"  # the opening, in yen
    assert report.equity_curve[0] == first
