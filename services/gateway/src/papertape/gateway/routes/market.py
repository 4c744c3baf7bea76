"""/api/v1/market: instruments, the latest price, OHLC history by timeframe."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller
from litestar.params import Parameter

from papertape.contract.events.market import (
    BarHistory,
    GetBars,
    GetLatestQuote,
    ListInstruments,
    QuoteReceived,
    Timeframe,
)
from papertape.contract.ids import Symbol
from papertape.contract.instruments import Instrument
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.errors import invalid
from papertape.gateway.routes.common import DEPENDENCIES, actor, aware, reading
from papertape.gateway.state import Gateway


def _symbol(symbol: str) -> Symbol:
    if not symbol or len(symbol) > 64 or not symbol.replace("_", "").replace("-", "").isalnum():
        raise invalid("symbol must be 1-64 letters, digits, _ or -", "symbol")
    return Symbol(symbol)


class MarketController(Controller):
    """Market data, from market-data."""

    path = "/api/v1/market"
    tags = ["market"]
    dependencies = DEPENDENCIES

    @reading("/instruments", summary="The instruments market-data publishes")
    async def instruments(self, gateway: Gateway, key: ApiKey) -> list[Instrument]:
        result: list[Instrument] = await gateway.services.market(ListInstruments(), actor(key))
        return result

    @reading("/prices/{symbol:str}", summary="The latest quote of a symbol")
    async def price(self, gateway: Gateway, key: ApiKey, symbol: str) -> QuoteReceived:
        query = GetLatestQuote(symbol=_symbol(symbol))
        result: QuoteReceived = await gateway.services.market(query, actor(key))
        return result

    @reading("/bars/{symbol:str}", summary="OHLC bars of a symbol by timeframe, oldest first")
    async def bars(
        self,
        gateway: Gateway,
        key: ApiKey,
        symbol: str,
        timeframe: Timeframe = Timeframe.M1,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: Annotated[int, Parameter(ge=1, le=10_000)] = 500,
    ) -> BarHistory:
        query = GetBars(
            symbol=_symbol(symbol),
            timeframe=timeframe,
            start=aware(start, "start"),
            end=aware(end, "end"),
            limit=limit,
        )
        result: BarHistory = await gateway.services.market(query, actor(key))
        return result
