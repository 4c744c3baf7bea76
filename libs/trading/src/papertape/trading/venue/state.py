"""The venue's state: working orders by id and symbol, brackets, and the bookkeeping of fills."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from papertape.contract.costs import CostSchedule
from papertape.contract.events.account import OrderPlaced
from papertape.contract.events.execution import ExecutionReport, OrderExpiryReported
from papertape.contract.events.orders import TimeInForce
from papertape.contract.ids import AccountId, OrderId, Symbol
from papertape.contract.instruments import instrument_for
from papertape.contract.money import ZERO
from papertape.trading.costs import terms_for
from papertape.trading.venue.book import SymbolBook
from papertape.trading.venue.config import VenueConfig
from papertape.trading.venue.orders import Bracket, Holding, Slot, WorkingOrder

_DEFAULT_SCHEDULE = CostSchedule()


def day_end(ts: datetime) -> datetime:
    """The next UTC midnight after ``ts``: when a DAY order stops working at the latest."""
    day = ts.astimezone(UTC).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=UTC)


def expiry_id(order_id: str) -> str:
    return f"{order_id}.expiry"


class VenueState:
    """Everything the venue knows; changed only through these methods."""

    def __init__(self, config: VenueConfig) -> None:
        self.config = config
        self.orders: dict[OrderId, WorkingOrder] = {}
        self.finished: set[OrderId] = set()
        self.books: dict[Symbol, SymbolBook] = {}
        self.brackets: dict[OrderId, Bracket] = {}
        self.schedules: dict[AccountId, CostSchedule] = {}
        """Each account's cost schedule, from its log (an account not seen: the defaults)."""
        self.holdings: dict[tuple[AccountId, Symbol], Holding] = {}
        """Each account's positions as the venue has filled them (what reduce-only may close)."""
        self.booked: dict[str, tuple[Holding, Decimal, WorkingOrder]] = {}
        """Each fill the account has not answered yet: its signed change of its holding, so a
        fill the account refuses is undone (an accepted one is forgotten: ``accepted``)."""
        self._seq = 0

    def book(self, symbol: Symbol) -> SymbolBook:
        book = self.books.get(symbol)
        if book is None:
            book = self.books[symbol] = SymbolBook()
        return book

    def holding(self, account_id: AccountId, symbol: Symbol) -> Holding:
        """An account's position in a symbol as the venue knows it."""
        key = (account_id, symbol)
        held = self.holdings.get(key)
        if held is None:
            held = self.holdings[key] = Holding()
        return held

    def place(self, placed: OrderPlaced) -> None:
        """Take a new order; bracket children wait for their entry's first fill."""
        if placed.order_id in self.orders or placed.order_id in self.finished:
            return
        schedule = self.schedules.get(placed.account_id, _DEFAULT_SCHEDULE)
        terms = terms_for(schedule, instrument_for(placed.symbol))
        models = self.config.models_for(placed.account_id, placed.symbol, terms)
        tif = placed.time_in_force
        expires = (
            placed.expire_at
            if tif is TimeInForce.GTD
            else day_end(placed.ts)
            if tif is TimeInForce.DAY
            else None
        )
        self._seq += 1
        order = WorkingOrder(
            placed=placed,
            seq=self._seq,
            expires=expires,
            models=models,
            terms=terms,
            arrival=placed.ts + timedelta(milliseconds=models.fills.latency_ms),
            holding=self.holding(placed.account_id, placed.symbol) if placed.reduce_only else None,
        )
        self.orders[placed.order_id] = order
        parent = placed.parent_order_id
        if parent is not None:
            bracket = self.brackets.setdefault(parent, Bracket(entry_id=parent))
            bracket.children.append(order)
            order.bracket = bracket
            if bracket.entry_filled > 0:
                self.activate(order)
            return
        if placed.stop_loss is not None or placed.take_profit is not None:
            order.bracket = self.brackets.setdefault(placed.order_id, Bracket(placed.order_id))
        self.book(placed.symbol).wait(order)

    def activate(self, child: WorkingOrder) -> None:
        """A bracket child starts working (its entry has filled)."""
        if child.done or child.slot is not Slot.NONE or child.bracket is None:
            return
        book = self.book(child.placed.symbol)
        book.brackets[child.bracket.entry_id] = child.bracket
        book.index(child)

    def finish(self, order: WorkingOrder) -> None:
        """The order stops working at the venue."""
        if order.done:
            return
        order.done = True
        book = self.book(order.placed.symbol)
        book.unindex(order)
        self.orders.pop(order.order_id, None)
        self.finished.add(order.order_id)
        bracket = order.bracket
        if bracket is None:
            return
        if bracket.entry_id == order.order_id:
            bracket.entry_done = True
        if all(child.done for child in bracket.children) and (bracket.entry_done or order.is_child):
            book.brackets.pop(bracket.entry_id, None)
            self.brackets.pop(bracket.entry_id, None)

    def record_fill(
        self,
        order: WorkingOrder,
        fill_id: str,
        quantity: Decimal,
        fee: Decimal,
        accrued: Decimal,
        ts: datetime,
    ) -> list[ExecutionReport]:
        """Book a fill on an order; returns the one-cancels-other expiries it causes."""
        if fill_id in order.fills:
            return []
        order.fills[fill_id] = quantity
        order.filled += quantity
        held = self.holding(order.placed.account_id, order.placed.symbol)
        held.quantity += order.sign * quantity
        self.booked[fill_id] = (held, order.sign * quantity, order)
        order.fee_charged += fee
        order.fee_accrued = accrued
        bracket = order.bracket
        reports: list[ExecutionReport] = []
        if bracket is not None and not order.is_child:
            bracket.entry_filled += quantity
            for child in bracket.children:
                self.activate(child)
        if order.filled >= order.placed.quantity:
            self.finish(order)
        if bracket is not None:
            reports += self._settle_bracket(bracket, ts)
        if held.quantity == 0:
            reports += self._flat(held, ts)
        return reports

    def _flat(self, held: Holding, ts: datetime) -> list[ExecutionReport]:
        """Flat: exits with nothing to close end, as the account ends them (one cancels other).

        The legs of an entry still working stay: they guard what it opens. Without this, a leg
        revived by a later entry's fill on the same quote would sell what the account has not
        yet cancelled.
        """
        ended = [
            o
            for o in self.orders.values()
            if o.holding is held
            and (not o.is_child or (o.bracket is not None and o.bracket.entry_done))
        ]
        return [self.expire(o, "position closed (one cancels other)", ts) for o in ended]

    def _settle_bracket(self, bracket: Bracket, ts: datetime) -> list[ExecutionReport]:
        """Once the entry is done, legs with nothing left to close are over (one cancels other)."""
        if not bracket.entry_done:
            return []
        reports: list[ExecutionReport] = []
        for child in list(bracket.children):
            if child.done or child.capacity() > 0:
                continue
            if child.filled == 0:
                reports.append(self.expire(child, "one cancels other", ts))
            else:
                self.finish(child)
        return reports

    def expire(self, order: WorkingOrder, reason: str, ts: datetime) -> OrderExpiryReported:
        """End an order and say so."""
        unfilled = max(order.placed.quantity - order.filled, ZERO)
        self.finish(order)
        placed = order.placed
        return OrderExpiryReported(
            report_id=expiry_id(order.order_id),
            account_id=placed.account_id,
            order_id=placed.order_id,
            ts=ts,
            symbol=placed.symbol,
            reason=reason,
            unfilled=unfilled,
        )

    def accepted(self, fill_id: str) -> None:
        """The account recorded the fill: it can no longer be refused, so the venue forgets it
        (and, once its order has finished, the order with it: nothing per order outlives it)."""
        self.booked.pop(fill_id, None)

    def unbook(self, fill_id: str) -> WorkingOrder | None:
        """A fill the account refused: the position it would have changed stays as it was.

        Returns the order the fill was of (None: a fill id the venue never gave, a forgery).
        """
        booked = self.booked.pop(fill_id, None)
        if booked is None:
            return None
        held, change, order = booked
        held.quantity -= change
        # The fill stays listed (at zero) so fill ids are never given twice.
        quantity = order.fills.get(fill_id, ZERO)
        order.fills[fill_id] = ZERO
        order.filled -= quantity
        if order.bracket is not None and not order.is_child:
            order.bracket.entry_filled -= quantity
        return order

    def drop_account(self, account_id: AccountId) -> None:
        """A reset account's orders stop working and its positions are closed (its log says so)."""
        for order in [o for o in self.orders.values() if o.placed.account_id == account_id]:
            self.finish(order)
        for (owner, _), held in self.holdings.items():
            if owner == account_id:
                held.quantity = ZERO
