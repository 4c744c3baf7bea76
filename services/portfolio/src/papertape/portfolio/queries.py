"""Answers to account queries, computed by the pure report functions from the rebuilt state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from papertape.common.eventlog import EventLog, decode_envelope
from papertape.contract.events.account import account_stream
from papertape.contract.events.portfolio import (
    AccountQueryBase,
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
    PortfolioQuery,
)
from papertape.contract.events.reports import AccountListing
from papertape.portfolio.accounts import AccountBook, UnknownAccount
from papertape.trading.account import history, reports
from papertape.trading.account.stored import decode_stored, event_codec


class UnknownOrder(LookupError):
    """The query names an order the account never had."""


async def answer(
    query: PortfolioQuery,
    book: AccountBook,
    log: EventLog,
    listed: Callable[[str], bool] | None = None,
) -> Any:
    """The result of a query (a struct, a list of structs or a string); ``listed``: which of
    the book's accounts a list of accounts names (default: all)."""
    if isinstance(query, ListAccounts):
        # A stream that never opened (a ghost left by older code) is no account.
        return [
            _listing(book, a)
            for a in book.accounts()
            if book.state(a).account_id and (listed is None or listed(a))
        ]
    assert isinstance(query, AccountQueryBase)
    state = await book.refresh(query.account_id)
    if not state.account_id:
        raise UnknownAccount(f"no account {query.account_id!r}")
    match query:
        case GetAccountSummary():
            return reports.account_summary(state)
        case GetPositions():
            return reports.positions(state)
        case GetOpenOrders():
            return reports.open_orders(state)
        case GetOrders():
            events = await _history(log, query.account_id)
            return history.order_page(history.order_records(events, state.orders), query)
        case GetOrder(order_id=order_id):
            found = history.order_history(
                await _history(log, query.account_id), state.orders, order_id
            )
            if found is None:
                raise UnknownOrder(f"account {query.account_id} has no order {order_id!r}")
            return found
        case GetClosedTrades(limit=limit):
            return reports.closed_trades(state, limit)
        case GetEquityCurve(since=since):
            return reports.equity_curve(state, since)
        case GetPerformance(periods_per_year=periods):
            return reports.account_performance(state, periods)
        case GetReport(periods_per_year=periods):
            return reports.account_report(state, periods)
        case ExportTradesCsv():
            return reports.trades_csv(reports.closed_trades(state))
        case GetActivity(from_version=start, limit=limit):
            return await _activity(log, query.account_id, start, limit)
    raise TypeError(f"unhandled query {type(query).__name__}")  # pragma: no cover


def _listing(book: AccountBook, account_id: str) -> AccountListing:
    summary = reports.account_summary(book.state(account_id))
    return AccountListing(
        account_id=summary.account_id,
        name=summary.name,
        base_currency=summary.base_currency,
        equity=summary.equity,
        cash=summary.cash,
        version=book.version(account_id),
    )


async def _history(log: EventLog, account_id: str) -> list[Any]:
    """Every event of the account, oldest first (an order's life spans the whole stream)."""
    events: list[Any] = []
    async for batch in log.read_stream(account_stream(account_id)):
        events.extend(decode_stored(r.data) for r in batch)  # a v1 fill read as today's
    return events


async def _activity(log: EventLog, account_id: str, start: int, limit: int) -> list[Any]:
    events: list[Any] = []
    async for batch in log.read_stream(
        account_stream(account_id), from_version=start, to_version=start + limit - 1
    ):
        events.extend(decode_envelope(r, event_codec) for r in batch)
    return events
