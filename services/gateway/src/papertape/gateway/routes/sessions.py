"""/api/v1/strategies, /sessions and /signals: bot sessions and what their strategies decided.

A session belongs to its account: the gateway asks the signal service for the session first
and holds the key to that account (read to look, trade to start, pause, resume or stop). The
signal history is kept per session for an account's key; only an operator reads it across
sessions, and a listing without an account is filtered to the accounts the key reaches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from papertape.contract.events.apikeys import ApiScope
from papertape.contract.events.sessions import (
    CalibrationReport,
    CompareSessions,
    GetCalibration,
    GetSession,
    GetSignals,
    ListSessions,
    ListStrategies,
    PauseSession,
    ResumeSession,
    SessionCommand,
    SessionView,
    SignalPage,
    StartSession,
    StopSession,
    StrategyInfo,
)
from papertape.contract.events.signals import Decision
from papertape.contract.ids import AccountId, Symbol
from papertape.gateway.access.guards import check, forbidden
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.bodies import ReasonBody, StartSessionBody, as_contract
from papertape.gateway.routes.common import (
    DEPENDENCIES,
    account,
    acting,
    actor,
    reading,
    time_range,
)
from papertape.gateway.state import Gateway

START_EXAMPLE = Example(
    summary="a Donchian breakout on AAPL, three shares a trade",
    value={
        "session_id": "bot-1",
        "account_id": "alice",
        "strategy": "donchian_breakout",
        "parameters": {"period": 20, "exit_period": 10},
        "symbols": ["AAPL"],
        "timeframe": "1m",
        "mode": "BALANCED",
        "overrides": {"sizing": "fixed_quantity", "quantity": "3"},
        "runtime_minutes": 240,
    },
)
REASON_EXAMPLE = Example(summary="why, kept in the log", value={"reason": "news at 14:00"})
SessionId = Annotated[
    str, Parameter(pattern=r"^[A-Za-z0-9_\-]{1,64}$", description="a bot session's id")
]
OptionalSessionId = Annotated[
    str | None, Parameter(pattern=r"^[A-Za-z0-9_\-]{1,64}$", description="one session's signals")
]
StrategyFilter = Annotated[str | None, Parameter(max_length=200, description="a strategy's name")]
Confidence = Annotated[int, Parameter(ge=0, le=100, description="signals at least this sure")]
SignalLimit = Annotated[int, Parameter(ge=1, le=1000, description="signals per page")]
Offset = Annotated[int, Parameter(ge=0, le=1_000_000, description="signals to skip")]


async def session_of(
    gateway: Gateway, key: ApiKey, session_id: str, scope: ApiScope
) -> SessionView:
    """The session, once the key is known to hold ``scope`` on its account (403 otherwise)."""
    view: SessionView = await gateway.services.signals(
        GetSession(session_id=session_id), actor(key)
    )
    check(key, scope, view.account_id)
    return view


async def _control(
    gateway: Gateway, key: ApiKey, session_id: str, command: SessionCommand
) -> SessionView:
    await session_of(gateway, key, session_id, ApiScope.TRADE)
    return await gateway.services.session(command, actor(key))


class StrategiesController(Controller):
    """The built-in strategies a session can run."""

    path = "/api/v1/strategies"
    tags = ["sessions"]
    dependencies = DEPENDENCIES

    @reading("/", summary="Every strategy with its parameters' JSON Schema and defaults")
    async def strategies(self, gateway: Gateway, key: ApiKey) -> list[StrategyInfo]:
        result: list[StrategyInfo] = await gateway.services.signals(ListStrategies(), actor(key))
        return result


class SessionsController(Controller):
    """Bot sessions: a strategy trading one account."""

    path = "/api/v1/sessions"
    tags = ["sessions"]
    dependencies = DEPENDENCIES

    @acting("/", summary="Start a session on an account (trade scope on that account)")
    async def start(
        self,
        gateway: Gateway,
        key: ApiKey,
        data: Annotated[StartSessionBody, Body(examples=[START_EXAMPLE])],
    ) -> SessionView:
        check(key, ApiScope.TRADE, account(data.account_id))
        return await gateway.services.session(as_contract(data, StartSession), actor(key))

    @reading("/", summary="Sessions (of one account; an account's key sees its own)")
    async def listing(
        self,
        gateway: Gateway,
        key: ApiKey,
        account_id: Annotated[str | None, Parameter(max_length=64)] = None,
    ) -> list[SessionView]:
        if account_id is not None:
            check(key, ApiScope.READ, account(account_id))
        query = ListSessions(account_id=AccountId(account_id) if account_id else None)
        found: list[SessionView] = await gateway.services.signals(query, actor(key))
        return [view for view in found if key.may_reach(view.account_id)]

    @reading("/compare", summary="Sessions side by side (every one on an account of the key)")
    async def compare(
        self,
        gateway: Gateway,
        key: ApiKey,
        session_ids: Annotated[
            list[str], Parameter(min_items=1, max_items=50, description="sessions to compare")
        ],
    ) -> list[SessionView]:
        query = CompareSessions(session_ids=tuple(session_ids))
        views: list[SessionView] = await gateway.services.signals(query, actor(key))
        for view in views:
            check(key, ApiScope.READ, view.account_id)
        return views

    @reading("/{session_id:str}", summary="A session's status")
    async def status(self, gateway: Gateway, key: ApiKey, session_id: SessionId) -> SessionView:
        return await session_of(gateway, key, session_id, ApiScope.READ)

    @acting("/{session_id:str}/pause", summary="Record signals but place no orders")
    async def pause(
        self,
        gateway: Gateway,
        key: ApiKey,
        session_id: SessionId,
        data: Annotated[ReasonBody, Body(examples=[REASON_EXAMPLE])],
    ) -> SessionView:
        command = PauseSession(session_id=session_id, reason=data.reason)
        return await _control(gateway, key, session_id, command)

    @acting("/{session_id:str}/resume", summary="Place orders again")
    async def resume(self, gateway: Gateway, key: ApiKey, session_id: SessionId) -> SessionView:
        return await _control(gateway, key, session_id, ResumeSession(session_id=session_id))

    @acting("/{session_id:str}/stop", summary="End the session for good")
    async def stop(
        self,
        gateway: Gateway,
        key: ApiKey,
        session_id: SessionId,
        data: Annotated[ReasonBody, Body(examples=[REASON_EXAMPLE])],
    ) -> SessionView:
        command = StopSession(session_id=session_id, reason=data.reason)
        return await _control(gateway, key, session_id, command)


class SignalsController(Controller):
    """What the strategies decided on every bar, and how well their confidence held."""

    path = "/api/v1/signals"
    tags = ["sessions"]
    dependencies = DEPENDENCIES

    @reading("/", summary="Signal history, newest first (an account's key: one of its sessions)")
    async def signals(
        self,
        gateway: Gateway,
        key: ApiKey,
        session_id: OptionalSessionId = None,
        strategy: StrategyFilter = None,
        symbol: Annotated[str | None, Parameter(max_length=200)] = None,
        decision: Decision | None = None,
        min_confidence: Confidence = 0,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: Offset = 0,
        limit: SignalLimit = 50,
    ) -> SignalPage:
        if session_id is None:
            if not key.operator:
                raise forbidden("an account's key reads the signals of one of its sessions")
        else:
            await session_of(gateway, key, session_id, ApiScope.READ)
        since, until = time_range(since, until)
        query = GetSignals(
            session_id=session_id,
            strategy=strategy,
            symbol=Symbol(symbol) if symbol else None,
            decision=decision,
            min_confidence=min_confidence,
            since=since,
            until=until,
            offset=offset,
            limit=limit,
        )
        page: SignalPage = await gateway.services.signals(query, actor(key))
        return page

    @reading(
        "/calibration",
        summary="Per strategy: hit rate by confidence level, Brier score (an account's key:"
        " its own sessions'; only an operator reads across accounts)",
    )
    async def calibration(
        self,
        gateway: Gateway,
        key: ApiKey,
        strategy: StrategyFilter = None,
        account_id: Annotated[str | None, Parameter(max_length=64)] = None,
    ) -> list[CalibrationReport]:
        if account_id is not None:
            check(key, ApiScope.READ, account(account_id))
        scope = account_id if key.operator else key.account_id
        query = GetCalibration(
            strategy=strategy, account_id=AccountId(scope) if scope is not None else None
        )
        reports: list[CalibrationReport] = await gateway.services.signals(query, actor(key))
        return reports
