"""Answers to the signal service's queries, from the session book (no business rules here)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from papertape.contract.events.sessions import (
    CompareSessions,
    GetCalibration,
    GetSession,
    GetSignals,
    ListSessions,
    ListStrategies,
    SessionView,
    SignalPage,
    SignalsQuery,
)
from papertape.contract.events.signals import SignalGenerated
from papertape.contract.money import money, quantize_places
from papertape.signals.book import SessionBook
from papertape.signals.portfolio import Marks
from papertape.trading.strategies import calibration, registry
from papertape.trading.strategies.bots import Bot


class UnknownSession(LookupError):
    """The query names a session that was never started."""


def view(bot: Bot, now: datetime, marks: Mapping[str, Marks] | None = None) -> SessionView:
    """A session's status as the queries and commands answer it (``marks``: each account's
    latest, for the unrealized P&L of the session's open trades)."""
    s = bot.state
    marked = (marks or {}).get(s.account_id)
    trades, unrealized = s.round_trips.marked(marked.prices if marked else {})
    assert s.started_at is not None
    assert s.risk is not None
    assert s.status is not None
    end = s.ended_at or now
    return SessionView(
        session_id=s.session_id,
        account_id=s.account_id,
        strategy=s.strategy,
        parameters=dict(s.parameters),
        params_hash=s.params_hash,
        symbols=s.symbols,
        timeframe=s.timeframe,
        mode=s.mode,
        risk=s.risk,
        auto_execute=s.auto_execute,
        status=s.status,
        reason=s.reason,
        error=s.error,
        started_at=s.started_at,
        ended_at=s.ended_at,
        running_s=quantize_places(Decimal(max((end - s.started_at).total_seconds(), 0)), 3),
        runtime_minutes=s.runtime_minutes,
        signals=dict(sorted(s.signals.items())),
        orders_placed=s.orders_placed,
        orders_refused=s.orders_refused,
        refusals=dict(sorted(s.refusals.items())),
        fills=s.fills,
        trades=s.trades,
        wins=s.wins,
        win_rate=quantize_places(Decimal(s.wins) / s.trades, 4) if s.trades else Decimal(0),
        realized_pnl=money(s.realized_pnl),
        fees=money(s.fees),
        max_drawdown=money(s.max_drawdown),
        open_positions={k: v for k, v in sorted(s.positions.items()) if v},
        version=s.version,
        unrealized_pnl=unrealized,
        total_pnl=money(s.realized_pnl + unrealized),
        marked_at=marked.at if marked else None,
        closed_trades=trades,
    )


def _matches(signal: SignalGenerated, query: GetSignals) -> bool:
    return (
        (query.session_id is None or signal.session_id == query.session_id)
        and (query.strategy is None or signal.strategy == query.strategy)
        and (query.symbol is None or signal.symbol == query.symbol)
        and (query.decision is None or signal.decision is query.decision)
        and signal.confidence >= query.min_confidence
        and (query.since is None or signal.ts >= query.since)
        and (query.until is None or signal.ts < query.until)
    )


def _bot(book: SessionBook, session_id: str) -> Bot:
    bot = book.bots.get(session_id)
    if bot is None:
        raise UnknownSession(f"no session {session_id!r}")
    return bot


def _account_of(book: SessionBook, session_id: str) -> str | None:
    bot = book.bots.get(session_id)
    return bot.state.account_id if bot is not None else None


def answer(
    query: SignalsQuery, book: SessionBook, now: datetime, marks: Mapping[str, Marks]
) -> Any:
    """The result of a query (a struct or a list of structs)."""
    match query:
        case ListStrategies():
            return registry.catalog()
        case GetSession():
            return view(_bot(book, query.session_id), now, marks)
        case ListSessions():
            bots = sorted(book.bots.values(), key=lambda b: b.state.started_at or now)
            return [
                view(b, now, marks)
                for b in bots
                if query.account_id is None or b.state.account_id == query.account_id
            ]
        case CompareSessions():
            return [view(_bot(book, session_id), now, marks) for session_id in query.session_ids]
        case GetSignals():
            found = [s for s in reversed(book.history.signals) if _matches(s, query)]
            page = found[query.offset : query.offset + query.limit]
            return SignalPage(signals=tuple(page), total=len(found), offset=query.offset)
        case GetCalibration():
            outcomes = [
                o
                for o in book.history.outcomes
                if (query.strategy is None or o.strategy == query.strategy)
                and (
                    query.account_id is None or _account_of(book, o.session_id) == query.account_id
                )
            ]
            return calibration.report(outcomes)
    raise AssertionError(f"unhandled query {query!r}")  # pragma: no cover
