"""An account and the venue kept in step in one process, as portfolio and execution keep them.

Each venue report becomes the account's command (``command_for``, as portfolio translates);
the account's events go back to the venue (as execution follows ACCOUNTS) until both are quiet.
Marks come from bar closes, as portfolio's marks come from the market. Every account event is
recorded in the backtest's log; fills are handed to ``on_fills`` and expiries to ``on_expired``
(a session records those of its own orders).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

import msgspec

from papertape.contract import precision
from papertape.contract.events.account import (
    AccountCommand,
    AccountEvent,
    ApplyMark,
    OrderExpired,
    OrderFilledV2,
    account_stream,
)
from papertape.contract.events.execution import ExecutionReport
from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.trading.account import AccountState, DecisionContext, decide, evolve
from papertape.trading.account.currency import symbols_to_mark
from papertape.trading.account.state import INITIAL_STATE, Order
from papertape.trading.account.translation import command_for
from papertape.trading.backtest.log import MemoryLog
from papertape.trading.strategies.sizing import AccountRoom
from papertape.trading.venue import Venue
from papertape.trading.venue.config import VenueConfig

FillHandler = Callable[[Sequence[OrderFilledV2], str], None]
ExpiryHandler = Callable[[OrderExpired, str], None]


class Desk:
    """One account and one venue, their events in ``log``."""

    def __init__(
        self,
        account_id: str,
        venue: VenueConfig,
        log: MemoryLog,
        on_fills: FillHandler | None = None,
        on_expired: ExpiryHandler | None = None,
    ) -> None:
        self.account_id = AccountId(account_id)
        self.venue = Venue(venue)
        self.account: AccountState = INITIAL_STATE
        self.marks: dict[Symbol, Decimal] = {}
        self.log = log
        self._stream = account_stream(account_id)
        self._on_fills = on_fills
        self._on_expired = on_expired
        self._room: AccountRoom | None = None
        self._marking: tuple[dict[OrderId, Order], tuple[str, ...], list[Symbol]] | None = None

    def market(self, bar: BarClosed, cause: str) -> None:
        """The venue walks the bar; the account is marked at its close."""
        self._room = None
        self.marks[bar.symbol] = bar.close
        reports = self.venue.on_bar(bar)
        if reports:
            self.settle(reports, cause)
        if bar.symbol in self.account.positions:
            self._mark(bar.end, cause)

    def quote(self, quote: QuoteReceived, cause: str) -> None:
        """The venue matches a quote; the price decisions see is its last, else its mid (as
        portfolio's mark book takes it). Marks reach the account at bar closes (``market``)."""
        self.marks[quote.symbol] = (
            quote.last if quote.last is not None else (quote.bid + quote.ask) / 2
        )
        self._room = None
        reports = self.venue.on_quote(quote)
        if reports:
            self.settle(reports, cause)

    def at_close(self, bar: BarClosed, cause: str) -> None:
        """The bar's close as one point of market (orders placed on the bar fill there)."""
        if self.venue.state.orders:
            point = bar.close
            at_close = msgspec.structs.replace(
                bar, open=point, high=point, low=point, start=bar.end
            )
            self.settle(self.venue.on_bar(at_close), cause)

    def room(self) -> AccountRoom:
        """What the account allows an order now: what the signal service reads from its summary
        (``room_of(account_summary(...))``), only those four numbers of it worked out, at the
        summary's precision (a test holds the two equal)."""
        if self._room is None:
            state = self.account
            currency, limits = state.base_currency, state.limits
            self._room = AccountRoom(
                equity=precision.money(state.equity, currency),
                buying_power=precision.money(state.available_funds, currency),
                max_position_pct=precision.percent(limits.max_position_pct),
                max_risk_per_trade_pct=precision.percent(limits.max_risk_per_trade_pct),
            )
        return self._room

    def command(self, command: AccountCommand, now: datetime, cause: str) -> list[AccountEvent]:
        """Decide at the account, record, and settle with the venue; the command's events."""
        events = self._decide(command, now, cause)
        reports: list[ExecutionReport] = []
        for event in events:
            reports += self.venue.on_account_event(event)
        if reports:
            self.settle(reports, cause)
        return events

    def settle(self, reports: list[ExecutionReport], cause: str) -> None:
        """Reports to the account, its events back to the venue, until both are quiet."""
        pending = deque(reports)
        on_expired = self._on_expired
        while pending:
            report = pending.popleft()
            for event in self._decide(command_for(report), report.ts, cause):
                pending.extend(self.venue.on_account_event(event))
                if on_expired is not None and type(event) is OrderExpired:
                    on_expired(event, cause)  # only the venue expires an order

    def _to_mark(self) -> list[Symbol]:
        """``symbols_to_mark`` of the account, worked out again only when what it holds or
        works changed (a mark replaces the positions but keeps their symbols, and the orders)."""
        account = self.account
        held = (account.base_currency, *account.positions)
        known = self._marking
        if known is None or known[0] is not account.orders or known[1] != held:
            known = self._marking = (account.orders, held, symbols_to_mark(account))
        return known[2]

    def _mark(self, now: datetime, cause: str) -> None:
        for symbol in self._to_mark():
            price = self.marks.get(symbol)
            if price is not None and self.account.marks.get(symbol) != price:
                mark = ApplyMark(account_id=self.account_id, symbol=symbol, price=price, ts=now)
                self.command(mark, now, cause)

    def _decide(self, command: AccountCommand, now: datetime, cause: str) -> list[AccountEvent]:
        events = decide(command, self.account, DecisionContext(now=now, marks=self.marks))
        if not events:
            return events
        state = self.account
        for event in events:
            state = evolve(state, event)
        self.account = state
        self._room = None
        self.log.append(self._stream, events, now, cause)
        if self._on_fills is not None:
            fills = [e for e in events if isinstance(e, OrderFilledV2)]
            if fills:
                self._on_fills(fills, cause)
        return events
