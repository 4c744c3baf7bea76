"""A session's round trips, from its own fills: entry, exit, P&L and why it ended.

A trade opens with the fill that takes a symbol's position away from flat and closes with the
fill that brings it back (a fill that goes through flat closes one trade and opens the next
with the rest). Entry and exit prices are the average of their fills; the P&L is the realized
P&L portfolio reported with the exits less every fee of the trade, in the account's currency.
The reason a trade ended is the order that closed it: the bracket's stop-loss or take-profit
leg, the session's own close (CLOSE, or a reversal's BUY/SELL), else ``account`` (an exit the
session did not ask for). An open trade is valued at the account's mark (``marked``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from papertape.contract.events.orders import OrderSide
from papertape.contract.events.sessions import TRADES_SHOWN, SessionFillRecorded, SessionTrade
from papertape.contract.ids import Symbol
from papertape.contract.instruments import instrument_for
from papertape.contract.money import ZERO, money

OUTSIDE = "account"
"""The exit reason of a fill of no order the session asked to close with."""


@dataclass
class OpenTrade:
    """A position of the session, from its first fill on."""

    symbol: str
    side: int
    entry_at: datetime
    quantity: Decimal = ZERO
    peak: Decimal = ZERO
    entry_cost: Decimal = ZERO
    entry_quantity: Decimal = ZERO
    exit_cost: Decimal = ZERO
    exit_quantity: Decimal = ZERO
    pnl: Decimal = ZERO

    def entry_price(self) -> Decimal:
        return instrument_for(self.symbol).price(self.entry_cost / self.entry_quantity)

    def closed(self, at: datetime, reason: str) -> SessionTrade:
        exit_price = instrument_for(self.symbol).price(self.exit_cost / self.exit_quantity)
        return SessionTrade(
            symbol=Symbol(self.symbol),
            side=OrderSide.BUY if self.side > 0 else OrderSide.SELL,
            quantity=self.peak,
            entry_at=self.entry_at,
            entry_price=self.entry_price(),
            exit_at=at,
            exit_price=exit_price,
            pnl=money(self.pnl),
            exit_reason=reason,
        )

    def marked(self, mark: Decimal, rate: Decimal) -> SessionTrade:
        """The open trade valued at ``mark`` (``rate``: account currency per quote currency)."""
        return SessionTrade(
            symbol=Symbol(self.symbol),
            side=OrderSide.BUY if self.side > 0 else OrderSide.SELL,
            quantity=self.peak,
            entry_at=self.entry_at,
            entry_price=self.entry_price(),
            pnl=money(self.unrealized(mark, rate)),
        )

    def unrealized(self, mark: Decimal, rate: Decimal) -> Decimal:
        average = self.entry_cost / self.entry_quantity
        return (mark - average) * self.side * self.quantity * rate


@dataclass
class RoundTrips:
    """The session's trades: the open ones by symbol, the closed ones oldest first."""

    open: dict[str, OpenTrade] = field(default_factory=dict)
    closed: list[SessionTrade] = field(default_factory=list)

    def on_fill(self, fill: SessionFillRecorded, reason: str) -> None:
        sign = 1 if fill.side is OrderSide.BUY else -1
        trade = self.open.get(fill.symbol)
        if trade is None or trade.side == sign:
            trade = trade or self.open.setdefault(
                fill.symbol, OpenTrade(fill.symbol, sign, fill.ts)
            )
            self._enter(trade, fill.quantity, fill.price)
            trade.pnl -= fill.fee
            return
        closing = min(fill.quantity, trade.quantity)
        trade.quantity -= closing
        trade.exit_cost += closing * fill.price
        trade.exit_quantity += closing
        trade.pnl += fill.realized_pnl - fill.fee
        if trade.quantity > 0:
            return
        del self.open[fill.symbol]
        self.closed.append(trade.closed(fill.ts, reason))
        del self.closed[:-TRADES_SHOWN]
        rest = fill.quantity - closing
        if rest > 0:  # through flat: the rest opens the other way
            self._enter(
                self.open.setdefault(fill.symbol, OpenTrade(fill.symbol, sign, fill.ts)),
                rest,
                fill.price,
            )

    def _enter(self, trade: OpenTrade, quantity: Decimal, price: Decimal) -> None:
        trade.quantity += quantity
        trade.peak = max(trade.peak, trade.quantity)
        trade.entry_cost += quantity * price
        trade.entry_quantity += quantity

    def marked(
        self, marks: Mapping[str, tuple[Decimal, Decimal]]
    ) -> tuple[tuple[SessionTrade, ...], Decimal]:
        """Every trade (closed, then open ones at their marks) and the unrealized P&L; an open
        trade without a mark yet is listed at its entry and counts 0."""
        listed = list(self.closed)
        unrealized = ZERO
        for symbol, trade in sorted(self.open.items()):
            mark, rate = marks.get(symbol, (trade.entry_cost / trade.entry_quantity, Decimal(1)))
            listed.append(trade.marked(mark, rate))
            unrealized += trade.unrealized(mark, rate)
        return tuple(listed), money(unrealized)
