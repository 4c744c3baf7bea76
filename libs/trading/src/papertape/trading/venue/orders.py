"""Working orders as the venue sees them: what is left, whether triggered, where indexed."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from papertape.contract.costs import CostTerms
from papertape.contract.events.account import OrderPlaced
from papertape.contract.events.execution import ExecutionModels
from papertape.contract.events.orders import OrderSide, OrderType, TimeInForce
from papertape.contract.ids import OrderId
from papertape.contract.money import ZERO


class Slot(enum.Enum):
    """Which index of its symbol's book an order sits in (stale heap entries are skipped)."""

    NONE = 0
    PENDING = 1
    IMMEDIATE = 2
    LIMIT = 3
    STOP = 4
    TRAILING = 5


@dataclass(slots=True, eq=False)
class Holding:
    """An account's position in one symbol as the venue has filled it (signed quantity)."""

    quantity: Decimal = ZERO


@dataclass(slots=True, eq=False)
class Bracket:
    """An entry and its stop-loss / take-profit children (which work once the entry fills)."""

    entry_id: OrderId
    entry_filled: Decimal = ZERO
    entry_done: bool = False
    children: list[WorkingOrder] = field(default_factory=list)

    def sibling(self, child: WorkingOrder) -> WorkingOrder | None:
        """The other leg of a one-cancels-other pair."""
        for other in self.children:
            if other is not child:
                return other
        return None


@dataclass(slots=True, eq=False)
class WorkingOrder:
    """An order at the venue; ``seq`` is its arrival rank (time priority)."""

    placed: OrderPlaced
    seq: int
    arrival: datetime
    expires: datetime | None
    models: ExecutionModels
    terms: CostTerms
    """The account's cost terms for the order's instrument: they price its fees and spread."""
    filled: Decimal = ZERO
    triggered: bool = False
    anchor: Decimal | None = None
    fills: dict[str, Decimal] = field(default_factory=dict)
    fee_charged: Decimal = ZERO
    fee_accrued: Decimal = ZERO
    slot: Slot = Slot.NONE
    done: bool = False
    tried: bool = False
    bracket: Bracket | None = None
    holding: Holding | None = None
    """What a reduce-only order may close: its account's position in its symbol."""

    @property
    def order_id(self) -> OrderId:
        return self.placed.order_id

    @property
    def side(self) -> OrderSide:
        return self.placed.side

    @property
    def sign(self) -> int:
        return 1 if self.placed.side is OrderSide.BUY else -1

    @property
    def order_type(self) -> OrderType:
        return self.placed.order_type

    @property
    def is_child(self) -> bool:
        return self.placed.parent_order_id is not None

    @property
    def one_shot(self) -> bool:
        """IOC and FOK get one look at the market, then their rest expires."""
        return self.placed.time_in_force in (TimeInForce.IOC, TimeInForce.FOK)

    @property
    def is_stop(self) -> bool:
        return self.placed.order_type in (
            OrderType.STOP,
            OrderType.STOP_LIMIT,
            OrderType.TRAILING_STOP,
        )

    @property
    def acts_as_market(self) -> bool:
        """A market order, or a stop / trailing stop that has triggered."""
        kind = self.placed.order_type
        return kind is OrderType.MARKET or (
            self.triggered and kind in (OrderType.STOP, OrderType.TRAILING_STOP)
        )

    @property
    def limit(self) -> Decimal | None:
        """The price limit in force (stop-limits only once triggered)."""
        kind = self.placed.order_type
        if kind is OrderType.LIMIT or (kind is OrderType.STOP_LIMIT and self.triggered):
            return self.placed.limit_price
        return None

    def capacity(self) -> Decimal:
        """What may fill now: a child is sized by its entry's fills, less both legs' fills.

        A reduce-only order never fills more than the position it reduces (after a partial
        manual exit, a stop gapped through closes what is held, not its entry's size).
        """
        if self.done:
            return ZERO
        if self.bracket is None or not self.is_child:
            size = self.placed.quantity - self.filled
        else:
            sibling = self.bracket.sibling(self)
            used = self.filled + (sibling.filled if sibling is not None else ZERO)
            size = max(ZERO, min(self.placed.quantity, self.bracket.entry_filled) - used)
        if self.holding is None:
            return size
        return min(size, max(ZERO, -self.sign * self.holding.quantity))

    def trail_level(self) -> Decimal | None:
        """The trailing stop's level from its anchor (best price since it arrived)."""
        if self.anchor is None:
            return None
        placed = self.placed
        if placed.trail_percent is not None:
            offset = self.anchor * placed.trail_percent / 100
        else:
            offset = placed.trail_amount or ZERO
        # A sell trails below the high, a buy above the low.
        return self.anchor - offset if self.sign < 0 else self.anchor + offset

    def stop_level(self) -> Decimal | None:
        """Where a stop triggers (trailing: its current level)."""
        if self.placed.order_type is OrderType.TRAILING_STOP:
            return self.trail_level()
        return self.placed.stop_price
