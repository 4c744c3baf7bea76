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
from papertape.contract.events.orders import OrderSide
from papertape.contract.events.portfolio import (
    QUERY_RESULTS,
    ExportTradesCsv,
    GetAccountSummary,
    GetActivity,
    GetClosedTrades,
    GetEquityCurve,
    GetOpenOrders,
    GetOrder,
    GetOrders,
    GetPerformance,
    GetPositions,
    GetReport,
    ListAccounts,
)
from papertape.contract.events.reports import (
    AccountReport,
    EquityPoint,
    OrderHistory,
    OrderPage,
    OrderStatus,
)
from papertape.contract.ids import AccountId, Actor, OrderId
from tests.portfolio.conftest import PortfolioClient, aapl_limit

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


async def test_the_order_history_answers_with_every_order_and_an_unknown_one_is_named(
    client: PortfolioClient,
) -> None:
    account = AccountId("ines")
    assert (await client.command(OpenAccount(account_id=account, name="Ines"))).ok
    assert (await client.command(aapl_limit(account, OrderSide.BUY, 5, 90))).ok
    page: OrderPage = await _typed(client, GetOrders(account_id=account))
    one: OrderHistory = await _typed(client, GetOrder(account_id=account, order_id=OrderId("o-1")))
    unknown = await client.query("order", GetOrder(account_id=account, order_id=OrderId("no")))

    assert [(o.order_id, o.status) for o in page.orders] == [("o-1", OrderStatus.WORKING)]
    assert (page.total, str(page.orders[0].limit_price)) == (1, "90.00")
    assert (one.order, one.fills) == (page.orders[0], [])
    assert (unknown.ok, unknown.error_code) == (False, "unknown_order")
