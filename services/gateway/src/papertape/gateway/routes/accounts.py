"""/api/v1/accounts: open, list, read, fund, halt, limit, cost and reset accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from papertape.contract.costs import CostSchedule
from papertape.contract.events.account import (
    Deposit,
    HaltTrading,
    OpenAccount,
    ResetAccount,
    ResumeTrading,
    SetCostModelV2,
    SetRiskLimits,
    Withdraw,
)
from papertape.contract.events.apikeys import ApiScope
from papertape.contract.events.portfolio import (
    CommandResult,
    GetAccountSummary,
    GetActivity,
    GetEquityCurve,
    GetPerformance,
    GetPositions,
    GetReport,
    ListAccounts,
)
from papertape.contract.events.reports import (
    AccountListing,
    AccountReport,
    AccountSummary,
    EquityPoint,
    PerformanceMetrics,
    PositionView,
)
from papertape.contract.ids import AccountId
from papertape.contract.limits import RiskLimits
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.bodies import (
    ActivityPage,
    CashBody,
    CostScheduleBody,
    OpenAccountBody,
    ReasonBody,
    ResetBody,
    RiskLimitsBody,
    as_contract,
)
from papertape.gateway.errors import invalid
from papertape.gateway.routes.common import (
    DEPENDENCIES,
    account,
    acting,
    actor,
    aware,
    reading,
)
from papertape.gateway.state import Gateway

Id = AccountId
OPEN_EXAMPLE = Example(
    summary="a USD account with 25,000",
    value={"account_id": "alice", "name": "Alice", "initial_cash": "25000"},
)
CASH_EXAMPLE = Example(summary="add 500", value={"amount": "500", "reference": "top-up"})
ActivityLimit = Annotated[int, Parameter(ge=1, le=1000, description="events per page")]
Cursor = Annotated[
    str | None, Parameter(max_length=20, description="next_cursor of the previous page")
]


def cursor_number(cursor: str | None, default: int = 0) -> int:
    """The number an opaque cursor stands for (400 when it is not one of ours)."""
    if cursor is None:
        return default
    if not cursor.isdigit() or len(cursor) > 18:
        raise invalid("cursor is not a next_cursor this API gave", "cursor")
    return int(cursor)


async def summary_of(gateway: Gateway, key: ApiKey, account_id: str) -> AccountSummary:
    """The account's summary from portfolio."""
    query = GetAccountSummary(account_id=Id(account(account_id)))
    result: AccountSummary = await gateway.services.query(query, actor(key))
    return result


async def _cash(
    gateway: Gateway,
    key: ApiKey,
    kind: type[Deposit] | type[Withdraw],
    account_id: str,
    data: CashBody,
) -> CommandResult:
    body = kind(account_id=Id(account(account_id)), amount=data.amount, reference=data.reference)
    return await gateway.services.command(body, actor(key))


class AccountsController(Controller):
    """Accounts, their money, limits, costs and records."""

    path = "/api/v1/accounts"
    tags = ["accounts"]
    dependencies = DEPENDENCIES

    @acting("/", ApiScope.ADMIN, operator=True, summary="Open an account")
    async def open(
        self,
        gateway: Gateway,
        key: ApiKey,
        data: Annotated[OpenAccountBody, Body(examples=[OPEN_EXAMPLE])],
    ) -> CommandResult:
        body = OpenAccount(
            account_id=data.account_id,
            name=data.name,
            base_currency=data.base_currency,
            initial_cash=data.initial_cash,
            allow_short=data.allow_short,
            margin_requirement=data.margin_requirement,
        )
        return await gateway.services.command(body, actor(key))

    @reading("/", summary="List accounts (an account's key sees its own)")
    async def listing(self, gateway: Gateway, key: ApiKey) -> list[AccountListing]:
        found: list[AccountListing] = await gateway.services.query(ListAccounts(), actor(key))
        return [a for a in found if key.may_reach(a.account_id)]

    @reading("/{account_id:str}", summary="An account's summary")
    async def summary(self, gateway: Gateway, key: ApiKey, account_id: str) -> AccountSummary:
        return await summary_of(gateway, key, account_id)

    @acting("/{account_id:str}/reset", ApiScope.ADMIN, summary="Start a new epoch")
    async def reset(
        self, gateway: Gateway, key: ApiKey, account_id: str, data: ResetBody
    ) -> CommandResult:
        body = ResetAccount(
            account_id=Id(account(account_id)), initial_cash=data.initial_cash, reason=data.reason
        )
        return await gateway.services.command(body, actor(key))

    @acting("/{account_id:str}/deposit", ApiScope.ADMIN, summary="Add cash")
    async def deposit(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: str,
        data: Annotated[CashBody, Body(examples=[CASH_EXAMPLE])],
    ) -> CommandResult:
        return await _cash(gateway, key, Deposit, account_id, data)

    @acting("/{account_id:str}/withdraw", ApiScope.ADMIN, summary="Take cash out")
    async def withdraw(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: str,
        data: Annotated[CashBody, Body(examples=[CASH_EXAMPLE])],
    ) -> CommandResult:
        return await _cash(gateway, key, Withdraw, account_id, data)

    @acting("/{account_id:str}/halt", summary="The kill switch: refuse new orders")
    async def halt(
        self, gateway: Gateway, key: ApiKey, account_id: str, data: ReasonBody
    ) -> CommandResult:
        body = HaltTrading(account_id=Id(account(account_id)), reason=data.reason or "halted")
        return await gateway.services.command(body, actor(key))

    @acting("/{account_id:str}/resume", summary="Lift the kill switch")
    async def resume(
        self, gateway: Gateway, key: ApiKey, account_id: str, data: ReasonBody
    ) -> CommandResult:
        body = ResumeTrading(account_id=Id(account(account_id)), reason=data.reason)
        return await gateway.services.command(body, actor(key))

    @reading("/{account_id:str}/limits", summary="The pre-trade risk limits")
    async def limits(self, gateway: Gateway, key: ApiKey, account_id: str) -> RiskLimits:
        return (await summary_of(gateway, key, account_id)).limits

    @acting("/{account_id:str}/limits", ApiScope.ADMIN, method="put", summary="Replace the limits")
    async def set_limits(
        self, gateway: Gateway, key: ApiKey, account_id: str, data: RiskLimitsBody
    ) -> CommandResult:
        limits = as_contract(data, RiskLimits)
        body = SetRiskLimits(account_id=Id(account(account_id)), limits=limits)
        return await gateway.services.command(body, actor(key))

    @reading("/{account_id:str}/costs", summary="The fee, slippage and spread schedule")
    async def costs(self, gateway: Gateway, key: ApiKey, account_id: str) -> CostSchedule:
        return (await summary_of(gateway, key, account_id)).costs

    @acting("/{account_id:str}/costs", ApiScope.ADMIN, method="put", summary="Replace the schedule")
    async def set_costs(
        self, gateway: Gateway, key: ApiKey, account_id: str, data: CostScheduleBody
    ) -> CommandResult:
        schedule = as_contract(data, CostSchedule)
        body = SetCostModelV2(account_id=Id(account(account_id)), schedule=schedule)
        return await gateway.services.command(body, actor(key))

    @reading("/{account_id:str}/activity", summary="The account's events, paged, oldest first")
    async def activity(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: str,
        cursor: Cursor = None,
        limit: ActivityLimit = 100,
    ) -> ActivityPage:
        start = max(1, cursor_number(cursor, 1))
        query = GetActivity(account_id=Id(account(account_id)), from_version=start, limit=limit)
        items = await gateway.services.query(query, actor(key))
        more = len(items) == limit
        return ActivityPage(items=items, next_cursor=str(start + limit) if more else None)

    @reading("/{account_id:str}/equity", summary="The equity curve")
    async def equity(
        self, gateway: Gateway, key: ApiKey, account_id: str, since: datetime | None = None
    ) -> list[EquityPoint]:
        query = GetEquityCurve(account_id=Id(account(account_id)), since=aware(since, "since"))
        result: list[EquityPoint] = await gateway.services.query(query, actor(key))
        return result

    @reading("/{account_id:str}/performance", summary="Performance metrics")
    async def performance(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: str,
        periods_per_year: Annotated[int, Parameter(ge=1, le=1_000_000)] = 252,
    ) -> PerformanceMetrics:
        query = GetPerformance(
            account_id=Id(account(account_id)), periods_per_year=periods_per_year
        )
        result: PerformanceMetrics = await gateway.services.query(query, actor(key))
        return result

    @reading(
        "/{account_id:str}/report", summary="Summary, positions, orders, trades, curve, metrics"
    )
    async def report(self, gateway: Gateway, key: ApiKey, account_id: str) -> AccountReport:
        query = GetReport(account_id=Id(account(account_id)))
        result: AccountReport = await gateway.services.query(query, actor(key))
        return result

    @reading("/{account_id:str}/positions", summary="Open positions at their marks")
    async def positions(self, gateway: Gateway, key: ApiKey, account_id: str) -> list[PositionView]:
        query = GetPositions(account_id=Id(account(account_id)))
        result: list[PositionView] = await gateway.services.query(query, actor(key))
        return result
