"""/api/v1/accounts/{id}/trades: closed trades with filters and cursor pages, and their CSV."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

from litestar import Controller, Response
from litestar.params import Parameter

from papertape.contract.events.orders import ExitReason, OrderSide
from papertape.contract.events.portfolio import ExportTradesCsv, GetClosedTrades
from papertape.contract.events.reports import ClosedTrade
from papertape.contract.ids import AccountId
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.bodies import TradesPage
from papertape.gateway.routes.accounts import Cursor, cursor_number
from papertape.gateway.routes.common import DEPENDENCIES, account, actor, aware, reading
from papertape.gateway.state import Gateway

TradeLimit = Annotated[int, Parameter(ge=1, le=1000, description="trades per page")]


class Outcome(enum.StrEnum):
    """A closed trade's result, net of fees."""

    WIN = "win"
    LOSS = "loss"
    BREAKEVEN = "breakeven"


def outcome_of(trade: ClosedTrade) -> Outcome:
    if trade.net_pnl > 0:
        return Outcome.WIN
    return Outcome.LOSS if trade.net_pnl < 0 else Outcome.BREAKEVEN


class TradesController(Controller):
    """Round trips and their legs."""

    path = "/api/v1/accounts/{account_id:str}/trades"
    tags = ["trades"]
    dependencies = DEPENDENCIES

    @reading("/", summary="Closed trades, filtered, in cursor pages (oldest first)")
    async def trades(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: str,
        symbol: Annotated[str | None, Parameter(max_length=200)] = None,
        side: OrderSide | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        outcome: Outcome | None = None,
        exit_reason: ExitReason | None = None,
        cursor: Cursor = None,
        limit: TradeLimit = 100,
    ) -> TradesPage:
        since, until = aware(since, "since"), aware(until, "until")
        query = GetClosedTrades(account_id=AccountId(account(account_id)))
        every: list[ClosedTrade] = await gateway.services.query(query, actor(key))
        chosen = [
            trade
            for trade in every
            if (symbol is None or trade.symbol == symbol)
            and (side is None or trade.direction is side)
            and (since is None or trade.closed_at >= since)
            and (until is None or trade.closed_at < until)
            and (outcome is None or outcome_of(trade) is outcome)
            and (exit_reason is None or trade.exit_reason is exit_reason)
        ]
        start = cursor_number(cursor)
        page = chosen[start : start + limit]
        more = start + limit < len(chosen)
        return TradesPage(items=page, next_cursor=str(start + limit) if more else None)

    @reading(
        "/csv", summary="Closed trades as CSV", media_type="text/csv", response_description="CSV"
    )
    async def csv(self, gateway: Gateway, key: ApiKey, account_id: str) -> Response[str]:
        query = ExportTradesCsv(account_id=AccountId(account(account_id)))
        text: str = await gateway.services.query(query, actor(key))
        headers = {"Content-Disposition": f'attachment; filename="{account_id}-trades.csv"'}
        return Response(content=text, media_type="text/csv", headers=headers)
