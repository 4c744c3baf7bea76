"""Matching: at a point (a quote, a bar's open) and along a bar's path between two points.

At a point, orders act in a fixed order: waiting market orders, stops, trailing stops, resting
limits. Along a path segment, the orders whose levels the price crosses act in the order the
price reaches them (a stop before a limit at the same level), each at its level.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from decimal import Decimal

from papertape.contract.events.execution import (
    ExecutionReport,
    OrderFillReported,
    OrderTriggerReported,
)
from papertape.contract.events.orders import Liquidity, TimeInForce
from papertape.contract.instruments import Instrument, instrument_for
from papertape.contract.money import ZERO, money, quantize_places
from papertape.trading.costs import modeled_touch, order_fee, taker_price
from papertape.trading.venue.book import Entry, SymbolBook, live_top
from papertape.trading.venue.costs import BPS, slippage_bps
from papertape.trading.venue.market import Point
from papertape.trading.venue.orders import Slot, WorkingOrder
from papertape.trading.venue.state import VenueState

Reports = list[ExecutionReport]

QUOTED = "quoted"
MODELED = "modeled"
NO_SPREAD = "none"
"""Where a fill's spread came from: the quote, the account's cost schedule, or nowhere."""


@dataclass(slots=True, frozen=True)
class _Fill:
    """Where one fill trades: its price, the touch it trades from, how, and the spread's source."""

    price: Decimal
    touch: Decimal
    liquidity: Liquidity
    spread_model: str


@dataclass(slots=True)
class Budget:
    """Size a point can still fill: a bar's volume share, or a quote's displayed size per side."""

    used: dict[int, Decimal] = field(default_factory=dict)

    def available(self, order: WorkingOrder, point: Point) -> Decimal | None:
        policy = order.models.fills
        if point.from_bar:
            if point.volume <= 0:
                return None
            return max(ZERO, point.volume * policy.max_volume_share - self.used.get(0, ZERO))
        size = point.size(order.sign)
        if policy.cap_at_quote_size and size > 0:
            return max(ZERO, size - self.used.get(order.sign, ZERO))
        return None

    def use(self, point: Point, sign: int, quantity: Decimal) -> None:
        key = 0 if point.from_bar else sign
        self.used[key] = self.used.get(key, ZERO) + quantity


def crossed(order: WorkingOrder, price: Decimal, level: Decimal) -> bool:
    """Whether ``price`` has reached a stop level (up for a buy stop, down for a sell stop)."""
    return price >= level if order.sign > 0 else price <= level


def marketable(order: WorkingOrder, price: Decimal, limit: Decimal) -> bool:
    """Whether a taker at ``price`` is within the limit."""
    return price <= limit if order.sign > 0 else price >= limit


def through(order: WorkingOrder, price: Decimal, limit: Decimal) -> bool:
    """Whether the market has traded through a resting limit (or touched it, if so set)."""
    if price == limit:
        return order.models.fills.fill_on_touch
    return price < limit if order.sign > 0 else price > limit


class Matcher:
    """Turns market points into fills and triggers against a venue state."""

    def __init__(self, state: VenueState) -> None:
        self.state = state

    # --- one point ---------------------------------------------------------------------------

    def arrive(
        self, order: WorkingOrder, book: SymbolBook, point: Point, budget: Budget, out: Reports
    ) -> None:
        """An order reaches the venue: one-shot orders get their look, the rest are filed."""
        if order.anchor is None:
            order.anchor = point.trigger
        if order.one_shot:
            self._one_shot(order, book, point, budget, out)
            return
        book.index(order)
        if self._takes(order, point):
            self.take(order, point, budget, out)

    def at_point(
        self,
        book: SymbolBook,
        point: Point,
        budget: Budget,
        out: Reports,
        suppressed: frozenset[str] = frozenset(),
    ) -> None:
        """Waiting market orders, then stops, trailing stops and resting limits."""
        for order in sorted(book.immediate.values(), key=lambda o: o.seq):
            self.take(order, point, budget, out)
        price = point.trigger
        for heap in (book.buy_stops, book.sell_stops):
            while (stop := live_top(heap, Slot.STOP)) and crossed(stop, price, _stop(stop)):
                self.trigger(stop, book, point, _stop(stop), price, budget, out)
        for order in list(book.trailing.values()):
            self.follow(order, price)
            level = order.trail_level()
            if level is not None and crossed(order, price, level):
                self.trigger(order, book, point, level, price, budget, out)
        self._rest(book.buy_limits, point, point.ask, budget, out, suppressed)
        self._rest(book.sell_limits, point, point.bid, budget, out, suppressed)

    def _rest(
        self,
        heap: list[Entry],
        point: Point,
        price: Decimal,
        budget: Budget,
        out: Reports,
        suppressed: frozenset[str],
    ) -> None:
        held: list[Entry] = []
        while (order := live_top(heap, Slot.LIMIT)) is not None:
            limit = order.limit
            assert limit is not None
            if not through(order, price, limit):
                break
            if order.capacity() <= 0 or order.order_id in suppressed:
                held.append(heapq.heappop(heap))
                continue
            # A bar that opens through a resting limit fills it at the open (the better price).
            fill_price = price if point.from_bar else limit
            if self.make(order, point, fill_price, budget, out) == 0:
                held.append(heapq.heappop(heap))
        for entry in held:
            heapq.heappush(heap, entry)

    def follow(self, order: WorkingOrder, price: Decimal) -> None:
        """A trailing stop's anchor follows the best price (the high for a sell, low for a buy)."""
        anchor = order.anchor
        if anchor is None:
            order.anchor = price
        elif order.sign < 0:
            order.anchor = max(anchor, price)
        else:
            order.anchor = min(anchor, price)

    def _one_shot(
        self, order: WorkingOrder, book: SymbolBook, point: Point, budget: Budget, out: Reports
    ) -> None:
        order.tried = True
        level = order.stop_level()
        if order.is_stop and not order.triggered and level is not None:
            if not crossed(order, point.trigger, level):
                out.append(self.state.expire(order, "not triggered at once", point.ts))
                return
            order.triggered = True
            out.append(self._trigger_report(order, point, level, point.trigger))
        fok = order.placed.time_in_force is TimeInForce.FOK
        if self._takes(order, point):
            self.take(order, point, budget, out, all_or_none=fok)
        if not order.done:
            reason = "fill or kill" if fok else "immediate or cancel"
            out.append(self.state.expire(order, reason, point.ts))

    def _takes(self, order: WorkingOrder, point: Point) -> bool:
        """Whether an order takes liquidity at this point (a market order or marketable limit)."""
        limit = order.limit
        if order.acts_as_market:
            return True
        return limit is not None and marketable(order, point.touch(order.sign), limit)

    # --- triggers and fills ------------------------------------------------------------------

    def trigger(
        self,
        order: WorkingOrder,
        book: SymbolBook,
        point: Point,
        level: Decimal,
        market: Decimal,
        budget: Budget,
        out: Reports,
    ) -> None:
        """A stop's level was reached: it now works as a market (or limit) order."""
        order.triggered = True
        out.append(self._trigger_report(order, point, level, market))
        book.index(order)
        if self._takes(order, point):
            self.take(order, point, budget, out)

    def _trigger_report(
        self, order: WorkingOrder, point: Point, level: Decimal, market: Decimal
    ) -> OrderTriggerReported:
        placed = order.placed
        return OrderTriggerReported(
            report_id=f"{placed.order_id}.trigger",
            account_id=placed.account_id,
            order_id=placed.order_id,
            ts=point.ts,
            symbol=placed.symbol,
            trigger_price=level,
            market_price=market,
        )

    def take(
        self,
        order: WorkingOrder,
        point: Point,
        budget: Budget,
        out: Reports,
        all_or_none: bool = False,
    ) -> Decimal:
        """Fill as a taker at the touch plus slippage (never beyond a limit); returns the size."""
        quantity = self._size(order, point, budget)
        if quantity <= 0 or (all_or_none and quantity < order.capacity()):
            return ZERO
        sign = order.sign
        instrument = self._instrument(order.placed.symbol)
        if point.ask > point.bid:
            touch, spread_model = point.touch(sign), QUOTED
        else:  # a bar or a one-price quote shows no spread: the cost schedule's applies
            touch = modeled_touch(order.terms, instrument, point.mid, sign)
            spread_model = MODELED if order.terms.spread_pips else NO_SPREAD
        key = f"{order.order_id}:{len(order.fills) + 1}"
        volatility = self.state.book(order.placed.symbol).volatility_bps
        bps = slippage_bps(order.models.slippage, point, quantity, sign, volatility, key)
        price = taker_price(instrument, touch, sign, bps)
        limit = order.limit
        if limit is not None:
            price = min(price, limit) if sign > 0 else max(price, limit)
            touch = min(touch, price) if sign > 0 else max(touch, price)
        fill = _Fill(price, touch, Liquidity.TAKER, spread_model)
        self._fill(order, point, fill, quantity, budget, out)
        return quantity

    def make(
        self, order: WorkingOrder, point: Point, price: Decimal, budget: Budget, out: Reports
    ) -> Decimal:
        """Fill a resting limit as a maker at ``price``; returns the size."""
        quantity = self._size(order, point, budget)
        if quantity <= 0:
            return ZERO
        self._fill(
            order, point, _Fill(price, price, Liquidity.MAKER, NO_SPREAD), quantity, budget, out
        )
        return quantity

    def _size(self, order: WorkingOrder, point: Point, budget: Budget) -> Decimal:
        capacity = order.capacity()
        available = budget.available(order, point)
        if available is None or available >= capacity:
            return capacity
        lot = self._instrument(order.placed.symbol).lot_size
        return (available // lot) * lot

    def _fill(
        self,
        order: WorkingOrder,
        point: Point,
        fill: _Fill,
        quantity: Decimal,
        budget: Budget,
        out: Reports,
    ) -> None:
        placed, sign = order.placed, order.sign
        price, touch, liquidity = fill.price, fill.touch, fill.liquidity
        fill_id = f"{placed.order_id}.fill.{len(order.fills) + 1}"
        fee, accrued = order_fee(
            order.terms,
            liquidity,
            quantity,
            price,
            order.filled,
            order.fee_accrued,
            order.fee_charged,
        )
        taker = liquidity is Liquidity.TAKER
        budget.use(point, sign, quantity)
        followers = self.state.record_fill(order, fill_id, quantity, fee, accrued, point.ts)
        out.append(
            OrderFillReported(
                report_id=fill_id,
                account_id=placed.account_id,
                order_id=placed.order_id,
                ts=point.ts,
                symbol=placed.symbol,
                side=placed.side,
                price=price,
                quantity=quantity,
                fee=fee,
                liquidity=liquidity,
                reference_price=point.mid,
                touch_price=touch,
                spread_cost=money((touch - point.mid) * sign * quantity),
                slippage=money((price - touch) * sign * quantity),
                slippage_bps=quantize_places(
                    (price - touch) * sign / touch * BPS if touch else ZERO, 4
                ),
                models=order.models,
                remaining=max(placed.quantity - order.filled, ZERO),
                fee_model=order.terms.name,
                slippage_model=order.models.slippage.kind.value if taker else "",
                spread_model=fill.spread_model,
                bid=point.bid,
                ask=point.ask,
            )
        )
        out.extend(followers)

    def _instrument(self, symbol: str) -> Instrument:
        return instrument_for(symbol)  # cached by common.instruments


def _stop(order: WorkingOrder) -> Decimal:
    stop = order.placed.stop_price
    assert stop is not None
    return stop
