"""One symbol's working orders, indexed so a quote only looks at orders it can reach.

Heaps are keyed by price then arrival (price-time priority); an entry is stale, and skipped,
when its order has finished or moved to another index since it was pushed.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.contract.events.orders import OrderType
from papertape.trading.venue.orders import Bracket, Slot, WorkingOrder
from papertape.trading.venue.sanity import JumpWatch

Entry = tuple[Decimal, int, WorkingOrder]
TimedEntry = tuple[datetime, int, WorkingOrder]


@dataclass(slots=True, eq=False)
class SymbolBook:
    """Working orders of one symbol, by what can make them act."""

    pending: list[TimedEntry] = field(default_factory=list)
    immediate: dict[int, WorkingOrder] = field(default_factory=dict)
    buy_limits: list[Entry] = field(default_factory=list)
    sell_limits: list[Entry] = field(default_factory=list)
    buy_stops: list[Entry] = field(default_factory=list)
    sell_stops: list[Entry] = field(default_factory=list)
    trailing: dict[int, WorkingOrder] = field(default_factory=dict)
    expiries: list[TimedEntry] = field(default_factory=list)
    brackets: dict[str, Bracket] = field(default_factory=dict)
    """Brackets whose children work here (for the stop-before-take-profit rule on bars)."""
    in_session: bool = True
    last_mid: Decimal | None = None
    volatility_bps: Decimal = Decimal(0)
    has_quotes: bool = False
    last_market: QuoteReceived | BarClosed | None = None
    jumps: JumpWatch = field(default_factory=JumpWatch)
    """Prices refused as jumps in a row (the band re-anchors when enough agree)."""
    """The last quote or bar matched: the same one delivered again is passed over."""

    def idle(self) -> bool:
        """No order of any kind here (pending, resting, triggered, trailing or expiring)."""
        return not (
            self.pending
            or self.immediate
            or self.buy_limits
            or self.sell_limits
            or self.buy_stops
            or self.sell_stops
            or self.trailing
            or self.expiries
            or self.brackets
        )

    def wait(self, order: WorkingOrder) -> None:
        """Hold an order until it reaches the venue (its latency)."""
        order.slot = Slot.PENDING
        heapq.heappush(self.pending, (order.arrival, order.seq, order))
        if order.expires is not None:
            heapq.heappush(self.expiries, (order.expires, order.seq, order))

    def arrivals(self, now: datetime) -> list[WorkingOrder]:
        """Orders that have reached the venue by ``now``, in arrival order."""
        arrived = []
        while self.pending and self.pending[0][0] <= now:
            order = heapq.heappop(self.pending)[2]
            if order.slot is Slot.PENDING and not order.done:
                arrived.append(order)
        return arrived

    def due_expiries(self, now: datetime) -> list[WorkingOrder]:
        """Orders whose GTD or DAY time has come by ``now``."""
        due = []
        while self.expiries and self.expiries[0][0] <= now:
            order = heapq.heappop(self.expiries)[2]
            if not order.done:
                due.append(order)
        return due

    def index(self, order: WorkingOrder) -> None:
        """File a live order where the market can reach it."""
        self.unindex(order)
        if order.acts_as_market or (order.one_shot and not order.tried):
            order.slot = Slot.IMMEDIATE
            self.immediate[order.seq] = order
            return
        limit = order.limit
        if limit is not None:
            order.slot = Slot.LIMIT
            if order.sign > 0:
                heapq.heappush(self.buy_limits, (-limit, order.seq, order))
            else:
                heapq.heappush(self.sell_limits, (limit, order.seq, order))
            return
        if order.order_type is OrderType.TRAILING_STOP:
            order.slot = Slot.TRAILING
            self.trailing[order.seq] = order
            return
        stop = order.placed.stop_price
        if stop is None:
            raise ValueError(f"order {order.order_id} has no price to work at")
        order.slot = Slot.STOP
        if order.sign > 0:
            heapq.heappush(self.buy_stops, (stop, order.seq, order))
        else:
            heapq.heappush(self.sell_stops, (-stop, order.seq, order))

    def unindex(self, order: WorkingOrder) -> None:
        """Take an order out of the dict indexes (heap entries go stale by themselves)."""
        if order.slot is Slot.IMMEDIATE:
            self.immediate.pop(order.seq, None)
        elif order.slot is Slot.TRAILING:
            self.trailing.pop(order.seq, None)
        order.slot = Slot.NONE

    def observe(self, mid: Decimal, alpha: Decimal) -> None:
        """Track the mean absolute move in bps (the volatility model's scale)."""
        last = self.last_mid
        if last is not None and last > 0:
            move = abs(mid - last) / last * 10000
            self.volatility_bps += alpha * (move - self.volatility_bps)
        self.last_mid = mid


def live_top(heap: list[Entry], slot: Slot) -> WorkingOrder | None:
    """The best live order of a heap, dropping stale entries on the way."""
    while heap:
        order = heap[0][2]
        if order.slot is slot and not order.done:
            return order
        heapq.heappop(heap)
    return None
