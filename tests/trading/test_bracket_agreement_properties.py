"""Random bracket orders, exits, cancels and gaps: the account and the venue never disagree."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from papertape.contract.events.account import FillRejected, OrderPlaced
from papertape.contract.events.orders import OrderRole, OrderSide, OrderType
from papertape.contract.ids import OrderId
from tests.trading.desk import Desk

CENT = Decimal("0.01")
MOVES = st.sampled_from(["-0.08", "-0.03", "-0.01", "0", "0.01", "0.03", "0.08"])


class BracketsAtTheDesk(RuleBasedStateMachine):
    """A trader with brackets on one symbol; gaps come from moves of up to 8% a quote."""

    def __init__(self) -> None:
        super().__init__()
        self.desk = Desk(cash="10000000")
        self.price = Decimal(100)
        self.count = 0

    def _next_id(self) -> str:
        self.count += 1
        return f"o{self.count}"

    @rule(
        quantity=st.integers(1, 20),
        limit_below=st.sampled_from([None, "0.01", "0.03"]),
        stop_below=st.sampled_from(["0.02", "0.05"]),
        profit_above=st.sampled_from(["0.02", "0.05"]),
    )
    def enter(
        self, quantity: int, limit_below: str | None, stop_below: str, profit_above: str
    ) -> None:
        reference = self.price
        order_type, limit = OrderType.MARKET, None
        if limit_below is not None:
            order_type = OrderType.LIMIT
            reference = (self.price * (1 - Decimal(limit_below))).quantize(CENT)
            limit = str(reference)
        self.desk.place(
            self._next_id(),
            OrderSide.BUY,
            str(quantity),
            order_type=order_type,
            limit=limit,
            stop_loss=str((reference * (1 - Decimal(stop_below))).quantize(CENT)),
            take_profit=str((reference * (1 + Decimal(profit_above))).quantize(CENT)),
        )

    @rule(share=st.sampled_from(["0.25", "0.5", "1"]))
    def exit_part(self, share: str) -> None:
        quantity = int(self.desk.held() * Decimal(share))
        if quantity > 0:
            self.desk.place(self._next_id(), OrderSide.SELL, str(quantity), reduce_only=True)

    @rule(pick=st.integers(0, 1000))
    def cancel(self, pick: int) -> None:
        self.desk.cancel_one(pick)

    @rule(move=MOVES)
    def quote(self, move: str) -> None:
        self.price = max(Decimal(1), (self.price * (1 + Decimal(move))).quantize(CENT))
        self.desk.quote(str(self.price), str(self.price))

    @invariant()
    def account_and_venue_agree(self) -> None:
        self.desk.assert_agreed()

    @invariant()
    def every_venue_fill_is_booked(self) -> None:
        assert not any(isinstance(e, FillRejected) for e in self.desk.account.events)

    @invariant()
    def a_filled_entry_keeps_both_legs_or_neither(self) -> None:
        legs: dict[OrderId, set[OrderRole]] = {}
        for order_id, role in self.desk.protection():
            parent = self.desk.account.state.orders[order_id].parent_order_id
            assert parent is not None
            legs.setdefault(parent, set()).add(role)
        assert all(roles == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT} for roles in legs.values())

    @invariant()
    def a_position_opened_by_brackets_alone_is_guarded(self) -> None:
        # When every order that ever traded was a bracket entry or leg, what is held is
        # covered by the working stops (no manual trade has shrunk the position).
        events = self.desk.account.events
        manual = any(
            isinstance(e, OrderPlaced) and e.reduce_only and e.parent_order_id is None
            for e in events
        )
        if manual or self.desk.held() == 0:
            return
        orders = self.desk.account.state.orders.values()
        stops = [o for o in orders if o.role is OrderRole.STOP_LOSS and o.order_id in
                 {i for i, _ in self.desk.protection()}]  # fmt: skip
        assert sum((o.remaining for o in stops), Decimal(0)) >= self.desk.held()


BracketsAtTheDesk.TestCase.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None
)
test_brackets_at_the_desk = BracketsAtTheDesk.TestCase
