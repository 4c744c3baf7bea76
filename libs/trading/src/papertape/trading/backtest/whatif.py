"""What-if: a recorded account's own orders (not its strategy) again, under other models.

The account is opened as it was (cash, currency, shorts, margin, limits), its cost schedule is
the one given (or the one it had), and the venue runs the fill, slippage and latency models
given. Every order the account placed itself (not a bracket's child: the account makes those
again) is placed again at the time it was placed, and the same bars (and, when given, the quotes
they were built from) go through the venue, so the fills can be compared order by order with the
recorded ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from papertape.contract.costs import CostSchedule
from papertape.contract.events.account import (
    AccountEvent,
    AccountOpened,
    CostModelSetV2,
    OpenAccount,
    OrderFilledV2,
    OrderPlaced,
    PlaceOrder,
    RiskLimitsSet,
    SetCostModelV2,
    SetRiskLimits,
)
from papertape.contract.events.market import BarClosed, QuoteReceived
from papertape.trading.account import AccountState
from papertape.trading.backtest.desk import Desk
from papertape.trading.backtest.log import MemoryLog
from papertape.trading.backtest.quotes import quote_cause
from papertape.trading.venue.config import VenueConfig


def order_of(placed: OrderPlaced) -> PlaceOrder:
    """The command that placed an order, from the event it led to."""
    return PlaceOrder(
        account_id=placed.account_id,
        order_id=placed.order_id,
        client_order_id=placed.client_order_id,
        symbol=placed.symbol,
        side=placed.side,
        quantity=placed.quantity,
        order_type=placed.order_type,
        limit_price=placed.limit_price,
        stop_price=placed.stop_price,
        trail_amount=placed.trail_amount,
        trail_percent=placed.trail_percent,
        time_in_force=placed.time_in_force,
        expire_at=placed.expire_at,
        stop_loss=placed.stop_loss,
        take_profit=placed.take_profit,
        reduce_only=placed.reduce_only,
        source=placed.source,
    )


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a recorded account's stream says: how it was opened, its limits, costs, orders."""

    opened: AccountOpened
    limits: RiskLimitsSet | None
    costs: CostModelSetV2 | None
    orders: list[OrderPlaced]
    fills: list[OrderFilledV2]

    @classmethod
    def of(cls, events: Iterable[AccountEvent]) -> Recorded:
        opened: AccountOpened | None = None
        limits: RiskLimitsSet | None = None
        costs: CostModelSetV2 | None = None
        orders: list[OrderPlaced] = []
        fills: list[OrderFilledV2] = []
        for event in events:
            if isinstance(event, AccountOpened) and opened is None:
                opened = event
            elif isinstance(event, RiskLimitsSet) and not orders:
                limits = event
            elif isinstance(event, CostModelSetV2) and not orders:
                costs = event
            elif isinstance(event, OrderPlaced) and event.parent_order_id is None:
                orders.append(event)
            elif isinstance(event, OrderFilledV2):
                fills.append(event)
        if opened is None:
            raise ValueError("the account's stream has no account_opened event")
        return cls(opened, limits, costs, orders, fills)


@dataclass(frozen=True, slots=True)
class Models:
    """The alternative models: a cost schedule (fees, slippage bps) and the venue's models."""

    schedule: CostSchedule | None = None
    """None: the schedule the account had."""
    venue: VenueConfig = field(default_factory=VenueConfig)


def what_if(
    recorded: Recorded,
    bars: Sequence[BarClosed],
    models: Models,
    quotes: Iterable[QuoteReceived] = (),
) -> tuple[AccountState, list[OrderFilledV2]]:
    """The account after its orders ran again under ``models``, and the fills they got. With
    ``quotes`` (in time order: the ones the bars were built from), the venue matches them as a
    paper venue does, and each order is placed before the first quote after its time."""
    opened = recorded.opened
    account_id = opened.account_id
    venue = msgspec.structs.replace(models.venue, bar_timeframe=str(bars[0].timeframe))
    fills: list[OrderFilledV2] = []
    desk = Desk(account_id, venue, MemoryLog(f"what-if:{account_id}"), lambda f, _: fills.extend(f))
    at = opened.ts
    desk.command(
        OpenAccount(
            account_id=account_id,
            name=opened.name,
            base_currency=opened.base_currency,
            initial_cash=opened.initial_cash,
            allow_short=opened.allow_short,
            margin_requirement=opened.margin_requirement,
        ),
        at,
        "what-if",
    )
    desk.command(
        SetRiskLimits(
            account_id=account_id,
            limits=recorded.limits.limits if recorded.limits else opened.limits,
        ),
        at,
        "what-if",
    )
    schedule = models.schedule or (recorded.costs.schedule if recorded.costs else None)
    if schedule is not None:
        desk.command(SetCostModelV2(account_id=account_id, schedule=schedule), at, "what-if")
    orders = _Orders(desk, sorted(recorded.orders, key=lambda o: o.ts))
    pending: Iterator[QuoteReceived] = iter(quotes)
    waiting = next(pending, None)
    for bar in bars:
        while waiting is not None and waiting.ts_event < bar.end:
            orders.place_until(waiting.ts_event)
            desk.quote(waiting, quote_cause(waiting))
            waiting = next(pending, None)
        orders.place_until(bar.start)
        desk.market(bar, f"bar:{bar.symbol}:{bar.start.isoformat()}")
    while waiting is not None:
        orders.place_until(waiting.ts_event)
        desk.quote(waiting, quote_cause(waiting))
        waiting = next(pending, None)
    return desk.account, fills


class _Orders:
    """The recorded orders, in time order, placed again as the market reaches their time."""

    def __init__(self, desk: Desk, waiting: list[OrderPlaced]) -> None:
        self._desk = desk
        self._waiting = waiting
        self._next = 0

    def place_until(self, now: datetime) -> None:
        """Place every order recorded at or before ``now`` not yet placed."""
        desk, waiting = self._desk, self._waiting
        while self._next < len(waiting) and waiting[self._next].ts <= now:
            placed = waiting[self._next]
            desk.marks.setdefault(placed.symbol, placed.reference_price)
            desk.command(order_of(placed), placed.ts, placed.order_id)
            self._next += 1
