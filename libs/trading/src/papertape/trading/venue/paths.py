"""A bar as a path: open, the nearer extreme, the other extreme, close; orders act where crossed.

When a bar's remaining path reaches both legs of a bracket, the take-profit waits for the next
bar: the stop is taken first (the pessimistic reading of a bar that hides its order of prices).
"""

from __future__ import annotations

import heapq
from decimal import Decimal

from papertape.contract.events.orders import OrderRole
from papertape.trading.venue.book import Entry, SymbolBook, live_top
from papertape.trading.venue.market import Point
from papertape.trading.venue.matching import Budget, Matcher, Reports, crossed, through
from papertape.trading.venue.orders import Slot, WorkingOrder

Path = tuple[Decimal, Decimal, Decimal, Decimal]
_NONE_HELD: frozenset[str] = frozenset()


def stop_first(book: SymbolBook, low: Decimal, high: Decimal) -> frozenset[str]:
    """Take-profits held back because their stop-loss lies in the same stretch of path."""
    if not book.brackets:
        return _NONE_HELD
    held: set[str] = set()
    for bracket in book.brackets.values():
        stop = take = None
        for child in bracket.children:  # the last live child of each role, as a dict of them
            if child.slot is not Slot.NONE:
                role = child.placed.role
                if role is OrderRole.STOP_LOSS:
                    stop = child
                elif role is OrderRole.TAKE_PROFIT:
                    take = child
        if stop is None or take is None:
            continue
        stop_level, take_level = stop.stop_level(), take.limit
        if stop_level is None or take_level is None:
            continue
        if low <= stop_level <= high and low <= take_level <= high:
            held.add(take.order_id)
    return frozenset(held)


def out_of_reach(book: SymbolBook, low: Decimal, high: Decimal) -> bool:
    """Whether no order of ``book`` can act at any price from ``low`` to ``high``: none waits to
    take or trails, and the nearest stop and limit on each side lie beyond them, a touch
    included (the usual bar of a position held with its bracket: walking it changes nothing).
    Each heap's top is its most reachable order (stale entries on the way are dropped, as
    matching drops them)."""
    if book.immediate or book.trailing:
        return False
    order = live_top(book.buy_stops, Slot.STOP)  # the lowest buy stop: up to it triggers
    if order is not None and not _beyond(order.placed.stop_price, high, above=True):
        return False
    order = live_top(book.sell_stops, Slot.STOP)  # the highest sell stop: down to it
    if order is not None and not _beyond(order.placed.stop_price, low, above=False):
        return False
    order = live_top(book.buy_limits, Slot.LIMIT)  # the highest buy limit: down to it fills
    if order is not None and not _beyond(order.limit, low, above=False):
        return False
    order = live_top(book.sell_limits, Slot.LIMIT)  # the lowest sell limit: up to it
    return order is None or _beyond(order.limit, high, above=True)


def _beyond(level: Decimal | None, edge: Decimal, *, above: bool) -> bool:
    if level is None:
        return False
    return level > edge if above else level < edge


def walk(
    matcher: Matcher, book: SymbolBook, path: Path, point: Point, budget: Budget, out: Reports
) -> None:
    """Match the open as a point, then every segment of the path in turn (nothing, when no
    order can act anywhere on the path or at the point's prices)."""
    low = min(*path, point.bid, point.ask, point.trigger)
    high = max(*path, point.bid, point.ask, point.trigger)
    if out_of_reach(book, low, high):
        return
    matcher.at_point(book, point, budget, out, stop_first(book, min(path), max(path)))
    for i in range(3):
        start, end = path[i], path[i + 1]
        rest = path[i:]
        suppressed = stop_first(book, min(rest), max(rest))
        _segment(matcher, book, start, end, point, budget, out, suppressed)
        for order in list(book.trailing.values()):
            matcher.follow(order, end)


def _segment(
    matcher: Matcher,
    book: SymbolBook,
    start: Decimal,
    end: Decimal,
    point: Point,
    budget: Budget,
    out: Reports,
    suppressed: frozenset[str],
) -> None:
    if start == end:
        return
    down = end < start
    if down:
        limits, stops = book.buy_limits, book.sell_stops
    else:
        limits, stops = book.sell_limits, book.buy_stops
    held: list[Entry] = []
    current = start
    while True:
        limit_order = _limit_candidate(limits, end, held, suppressed)
        stop_order = live_top(stops, Slot.STOP)
        trailing = [o for o in book.trailing.values() if (o.sign < 0) == down]
        best: tuple[Decimal, int, WorkingOrder] | None = None
        for rank, order in _candidates(limit_order, stop_order, trailing):
            level = order.limit if rank == 1 else order.stop_level()
            if level is None or (rank != 1 and not crossed(order, end, level)):
                continue
            level = min(level, current) if down else max(level, current)
            better = (
                best is None
                or (level > best[0] if down else level < best[0])
                or (level == best[0] and rank < best[1])
            )
            if better:
                best = (level, rank, order)
        if best is None:
            break
        level, rank, order = best
        current = level
        here = point.at(level)
        if rank == 1:
            if matcher.make(order, here, level, budget, out) == 0:
                held.append(heapq.heappop(limits))
        else:
            matcher.trigger(order, book, here, level, level, budget, out)
    for entry in held:
        heapq.heappush(limits, entry)


def _limit_candidate(
    heap: list[Entry], end: Decimal, held: list[Entry], suppressed: frozenset[str]
) -> WorkingOrder | None:
    """The best resting limit the segment reaches, setting aside those that cannot fill now."""
    while (order := live_top(heap, Slot.LIMIT)) is not None:
        limit = order.limit
        assert limit is not None
        if not through(order, end, limit):
            return None
        if order.capacity() > 0 and order.order_id not in suppressed:
            return order
        held.append(heapq.heappop(heap))
    return None


def _candidates(
    limit_order: WorkingOrder | None,
    stop_order: WorkingOrder | None,
    trailing: list[WorkingOrder],
) -> list[tuple[int, WorkingOrder]]:
    # Rank breaks ties at one level: stops (0) act before limits (1).
    found: list[tuple[int, WorkingOrder]] = []
    if stop_order is not None:
        found.append((0, stop_order))
    found.extend((0, order) for order in trailing)
    if limit_order is not None:
        found.append((1, limit_order))
    return found
