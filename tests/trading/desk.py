"""A desk: the real account and the real venue wired as the services wire them, in one process.

The account's events go to the venue as the execution service follows ACCOUNTS; the venue's
reports come back to the account through the portfolio's translation, until both are quiet.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from papertape.contract.events.account import (
    AccountCommand,
    AccountEvent,
    AccountOpened,
    ApplyMark,
    CancelOrder,
    PlaceOrder,
)
from papertape.contract.events.execution import ExecutionReport
from papertape.contract.events.orders import OrderRole, OrderSide, OrderType
from papertape.contract.ids import OrderId, Symbol
from papertape.contract.limits import RiskLimits
from papertape.portfolio.translation import command_for
from papertape.trading.account import replay
from papertape.trading.account.currency import symbols_to_mark
from papertape.trading.account.scenarios import ACCOUNT, WIDE_LIMITS, Scenario, at
from papertape.trading.account.scenarios import opened as opened_at_start
from papertape.trading.venue import Venue
from papertape.trading.venue.scenarios import quote

AAPL = Symbol("AAPL")


class Desk:
    """One account and one venue kept in step by their events and reports."""

    def __init__(
        self,
        cash: str = "100000",
        mark: str = "100",
        *,
        opened: AccountOpened | None = None,
        allow_short: bool = False,
        limits: RiskLimits = WIDE_LIMITS,
        marks: dict[str, str] | None = None,
        apply_marks: bool = False,
    ) -> None:
        """``opened`` overrides ``cash``, ``allow_short`` and ``limits``; ``apply_marks``: quotes
        also reach the account's state as the portfolio's marks do (``ApplyMark`` for the
        positions and the pairs that convert them)."""
        prices = {AAPL: mark, **(marks or {})}
        account = opened or opened_at_start(cash, allow_short, limits=limits)
        self.account = Scenario(account, marks=prices)
        self.apply_marks = apply_marks
        self.venue = Venue()
        self.reports: list[ExecutionReport] = []
        self._sent = 0
        self._clock = 1.0
        self._sync()

    def now(self) -> datetime:
        """The next moment: every step happens a little after the one before."""
        self._clock += 1
        return at(self._clock)

    def command(self, command: AccountCommand) -> list[AccountEvent]:
        """Decide a command at the account, then let the venue and the account settle."""
        events = self.account.when(command, self.now())
        self._settle([])
        return events

    def place(
        self,
        order_id: str,
        side: OrderSide,
        quantity: str,
        *,
        order_type: OrderType = OrderType.MARKET,
        limit: str | None = None,
        stop: str | None = None,
        stop_loss: str | None = None,
        take_profit: str | None = None,
        reduce_only: bool = False,
        symbol: str = AAPL,
    ) -> list[AccountEvent]:
        """Place an order at the account (the venue sees it at once)."""
        return self.command(
            PlaceOrder(
                account_id=ACCOUNT,
                order_id=OrderId(order_id),
                symbol=Symbol(symbol),
                side=side,
                quantity=Decimal(quantity),
                order_type=order_type,
                limit_price=None if limit is None else Decimal(limit),
                stop_price=None if stop is None else Decimal(stop),
                stop_loss=None if stop_loss is None else Decimal(stop_loss),
                take_profit=None if take_profit is None else Decimal(take_profit),
                reduce_only=reduce_only,
            )
        )

    def cancel(self, order_id: str) -> list[AccountEvent]:
        """Cancel an order at the account."""
        return self.command(CancelOrder(account_id=ACCOUNT, order_id=OrderId(order_id)))

    def cancel_one(self, pick: int) -> list[AccountEvent]:
        """Cancel one working entry or exit (not a bracket leg), picked by ``pick``.

        A trader who cancels one leg of a bracket means to leave it bare.
        """
        orders = self.account.state.orders
        working = sorted(i for i, o in orders.items() if o.parent_order_id is None)
        return self.cancel(working[pick % len(working)]) if working else []

    def quote(self, bid: str, ask: str, symbol: str = AAPL) -> list[ExecutionReport]:
        """A quote reaches the venue; its reports go back to the account (and its mark)."""
        self.account.marks[Symbol(symbol)] = (Decimal(bid) + Decimal(ask)) / 2
        ts = self.now()
        seen = self._settle(self.venue.on_quote(quote(bid, ask, ts, symbol=Symbol(symbol))))
        if self.apply_marks:
            self.mark(ts)
            seen += self._settle([])
        return seen

    def mark(self, ts: datetime) -> None:
        """What the portfolio's marks do: apply every moved price the account needs a mark of."""
        state = self.account.state
        for symbol in symbols_to_mark(state):
            price = self.account.marks.get(symbol)
            if price is not None and state.marks.get(symbol) != price:
                mark = ApplyMark(account_id=ACCOUNT, symbol=symbol, price=price, ts=ts)
                self.account.when(mark, ts)

    def _settle(self, reports: list[ExecutionReport]) -> list[ExecutionReport]:
        seen: list[ExecutionReport] = []
        pending = list(reports)
        while pending or self._sent < len(self.account.events):
            for report in pending:
                seen.append(report)
                self.account.when(command_for(report), report.ts)
            pending = self._sync()
        self.reports += seen
        return seen

    def _sync(self) -> list[ExecutionReport]:
        """Forward the account's new events to the venue; returns what the venue answers."""
        out: list[ExecutionReport] = []
        events = self.account.events[self._sent :]
        self._sent = len(self.account.events)
        for event in events:
            out += self.venue.on_account_event(event)
        return out

    # --- what each side says ------------------------------------------------------------------

    def account_working(self) -> set[OrderId]:
        """The account's working orders."""
        return set(self.account.state.orders)

    def venue_working(self) -> set[OrderId]:
        """The venue's working orders."""
        return {o.order_id for o in self.venue.working()}

    def protection(self) -> set[tuple[OrderId, OrderRole]]:
        """The account's working bracket legs whose entry has filled (they guard a position)."""
        orders = self.account.state.orders
        return {
            (o.order_id, o.role)
            for o in orders.values()
            if o.parent_order_id is not None
            and (o.parent_order_id not in orders or orders[o.parent_order_id].filled_quantity > 0)
        }

    def held(self, symbol: str = AAPL) -> Decimal:
        """The account's position in a symbol (0 when flat)."""
        position = self.account.state.positions.get(Symbol(symbol))
        return Decimal(0) if position is None else position.quantity

    def assert_agreed(self) -> None:
        """The account and the venue list the same working orders; replay equals live state."""
        assert self.account_working() == self.venue_working()
        assert replay(self.account.events) == self.account.state
