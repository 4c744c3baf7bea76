"""Questions the portfolio service answers over request-reply (``portfolio.query.<name>``)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from papertape.contract.bounds import NAME, Limit, Periods, UtcTime, Version
from papertape.contract.events.account import AccountEvent, AccountRef
from papertape.contract.events.base import Query
from papertape.contract.events.envelope import Envelope
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.events.reports import (
    AccountListing,
    AccountReport,
    AccountSummary,
    ClosedTrade,
    EquityPoint,
    OpenOrder,
    OrderHistory,
    OrderPage,
    OrderStatus,
    PerformanceMetrics,
    PositionView,
)
from papertape.contract.ids import OrderId, Symbol


class ListAccounts(Query, frozen=True, kw_only=True):
    """Every account with its id, name and equity."""


class AccountQueryBase(Query, frozen=True, kw_only=True):
    """A question about one account."""

    account_id: AccountRef


class GetAccountSummary(AccountQueryBase, frozen=True, kw_only=True):
    """Cash, equity, buying power, P&L, drawdown, risk state."""


class GetPositions(AccountQueryBase, frozen=True, kw_only=True):
    """Open positions at their latest marks."""


class GetOpenOrders(AccountQueryBase, frozen=True, kw_only=True):
    """Orders still working."""


class GetOrders(AccountQueryBase, frozen=True, kw_only=True):
    """Every order of the account's history (working, filled, cancelled, rejected, expired),
    newest first, filtered by status, symbol, side, type and placement time (``since`` <= t <
    ``until``), in pages."""

    status: OrderStatus | None = None
    symbol: Annotated[Symbol, NAME] | None = None
    side: OrderSide | None = None
    order_type: OrderType | None = None
    since: UtcTime | None = None
    until: UtcTime | None = None
    offset: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    limit: Limit = 100


class GetOrder(AccountQueryBase, frozen=True, kw_only=True):
    """One order of the account's history with its fills."""

    order_id: Annotated[OrderId, NAME]


class GetClosedTrades(AccountQueryBase, frozen=True, kw_only=True):
    """Round trips with entry, exit, P&L, pips, R-multiple, holding time, exit reason."""

    limit: Limit | None = None


class GetActivity(AccountQueryBase, frozen=True, kw_only=True):
    """The account's event stream, oldest first, from a stream version."""

    from_version: Version = 1
    limit: Limit = 500


class GetEquityCurve(AccountQueryBase, frozen=True, kw_only=True):
    """Equity points over time."""

    since: UtcTime | None = None


class GetPerformance(AccountQueryBase, frozen=True, kw_only=True):
    """Performance metrics: return, win rate, profit factor, drawdown, Sharpe …"""

    periods_per_year: Periods = 252


class GetReport(AccountQueryBase, frozen=True, kw_only=True):
    """Summary, positions, orders, trades, equity curve and metrics in one answer."""

    periods_per_year: Periods = 252


class ExportTradesCsv(AccountQueryBase, frozen=True, kw_only=True):
    """Closed trades as CSV text."""


class CommandResult(msgspec.Struct, frozen=True, kw_only=True):
    """The result in the reply to a command: the events appended and the version after.

    A refusal is one of these events (``AccountRejection``), not an error reply.
    """

    account_id: str
    version: int
    events: list[Envelope[AccountEvent]]


PortfolioQuery = (
    ListAccounts
    | GetAccountSummary
    | GetPositions
    | GetOpenOrders
    | GetOrders
    | GetOrder
    | GetClosedTrades
    | GetActivity
    | GetEquityCurve
    | GetPerformance
    | GetReport
    | ExportTradesCsv
)

QUERY_RESULTS: dict[type[Any], Any] = {
    ListAccounts: list[AccountListing],
    GetAccountSummary: AccountSummary,
    GetPositions: list[PositionView],
    GetOpenOrders: list[OpenOrder],
    GetOrders: OrderPage,
    GetOrder: OrderHistory,
    GetClosedTrades: list[ClosedTrade],
    GetActivity: list[Envelope[AccountEvent]],
    GetEquityCurve: list[EquityPoint],
    GetPerformance: PerformanceMetrics,
    GetReport: AccountReport,
    ExportTradesCsv: str,
}
"""What each query's reply carries in ``Reply.result`` (decode it with ``Reply[that]``)."""
