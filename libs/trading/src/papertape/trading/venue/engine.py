"""The simulated venue: account events in, market data in, execution reports out.

Pure and deterministic: no clock (time is the market's, or the ``now`` passed to
``expire_due``), no I/O, randomness only from seeds. The same account events and market data,
in the same order, give the same reports byte for byte.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from papertape.contract.costs import schedule_from
from papertape.contract.events.account import (
    AccountEvent,
    AccountOpened,
    AccountReset,
    CostModelSet,
    CostModelSetV2,
    FillRejected,
    OrderCancelled,
    OrderExpired,
    OrderFilledV2,
    OrderPlaced,
    OrderTriggered,
)
from papertape.contract.events.base import message_name
from papertape.contract.events.execution import ExecutionReport
from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.contract.events.orders import TimeInForce
from papertape.contract.ids import OrderId, Symbol
from papertape.trading.venue.book import SymbolBook
from papertape.trading.venue.config import VenueConfig
from papertape.trading.venue.market import bar_path, bar_point, quote_point
from papertape.trading.venue.matching import Budget, Matcher
from papertape.trading.venue.orders import WorkingOrder
from papertape.trading.venue.paths import walk
from papertape.trading.venue.sanity import Check, Refusal, bar_refusal, jump_price, quote_refusal
from papertape.trading.venue.state import VenueState

VOLATILITY_ALPHA = Decimal("0.1")
"""Weight of the newest move in the volatility model's running mean of absolute moves."""

_FOLLOWED: frozenset[type[AccountEvent]] = frozenset(
    {
        OrderPlaced,
        OrderFilledV2,
        OrderCancelled,
        OrderExpired,
        OrderTriggered,
        FillRejected,
        AccountOpened,
        CostModelSet,
        CostModelSetV2,
        AccountReset,
    }
)
"""The account events that change what the venue holds (``on_account_event``)."""

FOLLOWED_NAMES: frozenset[str] = frozenset(message_name(kind) for kind in _FOLLOWED)
"""Their names, as the last token of their ``acct.<account>.<event>`` subjects: an event of
another name need not even be read."""


class Venue:
    """Working orders matched against quotes and bars."""

    def __init__(self, config: VenueConfig | None = None) -> None:
        self.config = config or VenueConfig()
        self.state = VenueState(self.config)
        self.matcher = Matcher(self.state)

    # --- what the venue holds ----------------------------------------------------------------

    def working(self) -> list[WorkingOrder]:
        """Orders still working, in arrival order."""
        return sorted(self.state.orders.values(), key=lambda o: o.seq)

    def get(self, order_id: OrderId) -> WorkingOrder | None:
        """A working order by id."""
        return self.state.orders.get(order_id)

    # --- the account's side ------------------------------------------------------------------

    def on_account_event(self, event: AccountEvent) -> list[ExecutionReport]:
        """Keep the book in step with the account's log (placed, cancelled, filled, ...)."""
        if type(event) not in _FOLLOWED:
            return []  # marks, refusals, cash: nothing the venue holds changes
        state = self.state
        if isinstance(event, OrderPlaced):
            state.place(event)
            return []
        order = state.orders.get(getattr(event, "order_id", OrderId("")))
        if isinstance(event, OrderFilledV2):
            reports = []
            if order is not None:
                reports = state.record_fill(
                    order, event.fill_id, event.quantity, event.fee, order.fee_accrued, event.ts
                )
                if event.order_remaining <= 0:
                    state.finish(order)
            state.accepted(event.fill_id)
            return reports
        if isinstance(event, OrderCancelled | OrderExpired) and order is not None:
            state.finish(order)
        elif isinstance(event, OrderTriggered) and order is not None and not order.triggered:
            order.triggered = True
            if order.slot.value > 1:  # live at the venue already: refile as market or limit
                state.book(order.placed.symbol).index(order)
        elif isinstance(event, FillRejected):
            # Only a refused fill of the venue's own ends its order, even one the fill finished
            # here (the account may still list it): a forged report (a fill id the venue never
            # gave) says nothing about the order it names.
            filled = state.unbook(event.fill_id)
            if filled is not None:
                return [state.expire(filled, f"fill rejected: {event.reason_code}", event.ts)]
        elif isinstance(event, AccountOpened | CostModelSet):
            state.schedules[event.account_id] = schedule_from(event.cost_model)
        elif isinstance(event, CostModelSetV2):
            state.schedules[event.account_id] = event.schedule
        elif isinstance(event, AccountReset):
            state.drop_account(event.account_id)
        return []

    # --- the market's side -------------------------------------------------------------------

    def refusal(self, event: QuoteReceived | BarClosed) -> Refusal | None:
        """Why a quote or bar cannot be the market (None when it can): see ``sanity``.

        Jumps beyond the band are remembered: the ``REANCHOR_AFTER``-th in a row that agree
        re-anchors the book's last good price on them and is taken as the market.
        """
        book = self.state.books.get(event.symbol)
        last_good = None if book is None else book.last_mid
        band = self.config.price_band
        if isinstance(event, QuoteReceived):
            refusal = quote_refusal(event, last_good, band)
        else:
            refusal = bar_refusal(event, last_good, band)
        if book is None:
            return refusal
        if refusal is None:
            if book.jumps.count:
                book.jumps.clear()
        elif refusal.check is Check.JUMP and book.jumps.confirms(jump_price(event), band):
            book.last_mid = jump_price(event)  # the market really moved
            return None
        return refusal

    def on_quote(self, quote: QuoteReceived, *, checked: bool = False) -> list[ExecutionReport]:
        """Match the symbol's orders against a quote (none, when the quote is refused).

        ``checked``: the caller has had the quote through ``refusal`` already (and it was not
        refused), so it is not checked twice (a service reports refusals itself).
        """
        if not checked and self.refusal(quote) is not None:
            return []  # never the market: the book keeps its last good price
        book = self.state.book(quote.symbol)
        if book.last_market == quote:
            return []  # delivered again (at least once): it was matched already
        book.last_market = quote
        book.has_quotes = True
        if book.idle():
            # Nothing to match, expire, trail or end with the session (most quotes of a busy
            # market): only the market moves, as the full path below would move it.
            book.in_session = quote.in_session
            book.observe(jump_price(quote), VOLATILITY_ALPHA)
            return []
        point = quote_point(quote, self.config.trigger_source)
        book.observe(point.mid, VOLATILITY_ALPHA)
        out: list[ExecutionReport] = []
        if not self._in_session(quote.symbol, book, quote.in_session, quote.ts_event, out):
            return out
        self._expire(book, quote.ts_event, point.ts, out)
        budget = Budget()
        for order in book.arrivals(quote.ts_event):
            self.matcher.arrive(order, book, point, budget, out)
        self.matcher.at_point(book, point, budget, out)
        return out

    def on_bar(self, bar: BarClosed, *, checked: bool = False) -> list[ExecutionReport]:
        """Walk a bar's path (only bars of the configured width, for symbols without quotes);
        ``checked`` as for ``on_quote``."""
        if bar.timeframe != self.config.bar_timeframe:
            return []
        if not checked and self.refusal(bar) is not None:
            return []
        book = self.state.book(bar.symbol)
        if book.has_quotes:
            return []  # the quotes the bar was built from have been matched already
        if book.last_market == bar:
            return []  # delivered again (at least once): it was walked already
        book.last_market = bar
        if book.idle():
            # Nothing to match, expire or trail: only the market moves (a backtest's usual bar).
            book.in_session = bar.in_session
            if bar.in_session:
                book.observe(bar.close, VOLATILITY_ALPHA)
            return []
        out: list[ExecutionReport] = []
        if not self._in_session(bar.symbol, book, bar.in_session, bar.end, out):
            return out
        point = bar_point(bar)
        self._expire(book, bar.start, point.ts, out)
        budget = Budget()
        for order in book.arrivals(bar.start):
            self.matcher.arrive(order, book, point, budget, out)
        walk(self.matcher, book, bar_path(bar), point, budget, out)
        book.observe(bar.close, VOLATILITY_ALPHA)
        return out

    def expire_due(self, now: datetime) -> list[ExecutionReport]:
        """Expire GTD and DAY orders whose time has come, whether or not their market moved."""
        out: list[ExecutionReport] = []
        for symbol in sorted(self.state.books):
            self._expire(self.state.books[symbol], now, now, out)
        return out

    def _expire(
        self, book: SymbolBook, now: datetime, ts: datetime, out: list[ExecutionReport]
    ) -> None:
        for order in book.due_expiries(now):
            reason = "good till date" if order.placed.time_in_force is TimeInForce.GTD else "day"
            out.append(self.state.expire(order, reason, ts))

    def _in_session(
        self,
        symbol: Symbol,
        book: SymbolBook,
        in_session: bool,
        ts: datetime,
        out: list[ExecutionReport],
    ) -> bool:
        """DAY orders end when their market's session closes; nothing fills outside it."""
        if book.in_session and not in_session:
            day_orders = [
                o
                for o in self.working()
                if o.placed.symbol == symbol and o.placed.time_in_force is TimeInForce.DAY
            ]
            for order in day_orders:
                out.append(self.state.expire(order, "day: session closed", ts))
        book.in_session = in_session
        return in_session
