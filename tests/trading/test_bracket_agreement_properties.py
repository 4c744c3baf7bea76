"""Random bracket orders, exits, cancels and gaps: the account and the venue never disagree.

Besides brackets, the trader sends plain exits (not reduce-only, some beyond the position, some
resting above or below the market) so exits that turn into entries when they fill are met; a
cash account and a margin account are both driven. After every step: the working orders are
the venue's, reserves are what the working orders' opening parts need, a cash account's cash is
never negative, and every fill that opened exposure on a margin account left its buying power
at or above zero.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from papertape.contract.events.account import FillRejected, OrderFilledV2, OrderPlaced, Withdraw
from papertape.contract.events.orders import OrderRole, OrderSide, OrderType, RejectReason
from papertape.contract.ids import OrderId
from papertape.contract.money import ZERO
from papertape.trading.account import INITIAL_STATE, AccountState, Order, evolve
from papertape.trading.account.forgeries import MISMATCHES
from papertape.trading.account.scenarios import ACCOUNT
from tests.trading.desk import Desk

CENT = Decimal("0.01")
MOVES = st.sampled_from(["-0.08", "-0.03", "-0.01", "0", "0.01", "0.03", "0.08"])


class BracketsAtTheDesk(RuleBasedStateMachine):
    """A trader with brackets on one symbol; gaps come from moves of up to 8% a quote."""

    allow_short = False

    def __init__(self) -> None:
        super().__init__()
        self.desk = Desk(cash="100000", allow_short=self.allow_short)
        self.price = Decimal(100)
        self.count = 0
        self.checked = 0
        """How many of the account's events the buying-power invariant has been through."""
        self.checked_state = INITIAL_STATE

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

    @rule(
        share=st.sampled_from(["0.5", "1"]),
        beyond=st.sampled_from([0, 5]),
        limit_away=st.sampled_from([None, "0.03"]),
    )
    def exit_plain(self, share: str, beyond: int, limit_away: str | None) -> None:
        # Not reduce-only: beyond the position (or once something else closed it) it opens.
        held = self.desk.held()
        side = OrderSide.SELL if held >= 0 else OrderSide.BUY
        quantity = int(abs(held) * Decimal(share)) + beyond
        if quantity <= 0:
            return
        order_type, limit = OrderType.MARKET, None
        if limit_away is not None:  # rests beyond the market, to fill after a move (or never)
            order_type = OrderType.LIMIT
            away = Decimal(limit_away) * (-side.sign)
            limit = str((self.price * (1 + away)).quantize(CENT))
        self.desk.place(self._next_id(), side, str(quantity), order_type=order_type, limit=limit)

    @rule(share=st.sampled_from(["0.5", "1"]))
    def withdraw(self, share: str) -> None:
        # Tight cash: gaps and exits that open now meet the buying-power checks at fill time.
        amount = (self.desk.account.state.available_funds * Decimal(share)).quantize(CENT)
        if amount > 0:
            self.desk.command(Withdraw(account_id=ACCOUNT, amount=amount))

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
    def every_venue_fill_matches_its_order(self) -> None:
        # A fill may be refused for the account's own reasons (an exit that would now open a
        # short on a cash account, a gap past the cash) or name an order the account has ended
        # (a leg filled on the quote of its entry's refused fill), never because the venue
        # filled outside the order.
        outside = MISMATCHES - {RejectReason.UNKNOWN_ORDER}
        refused = [e for e in self.desk.account.events if isinstance(e, FillRejected)]
        assert not [e for e in refused if e.reason_code in outside]

    @invariant()
    def reserves_are_what_the_working_orders_need(self) -> None:
        state = self.desk.account.state
        assert state.reserved == sum((o.reserved_now for o in state.orders.values()), ZERO)
        for order in state.orders.values():
            if order.opening_remaining == 0:
                assert order.reserved_now == 0, order
            else:
                assert order.reserved_now >= _needs(order, state), order

    @invariant()
    def a_cash_account_never_has_negative_cash(self) -> None:
        state = self.desk.account.state
        if not state.allow_short:
            assert state.cash >= 0

    @invariant()
    def every_opening_fill_on_margin_keeps_buying_power(self) -> None:
        events = self.desk.account.events
        state = self.checked_state
        for event in events[self.checked :]:
            after = evolve(state, event)
            if isinstance(event, OrderFilledV2) and after.allow_short and _opened(state, after):
                assert after.available_funds >= 0, event
            state = after
        self.checked, self.checked_state = len(events), state

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
            isinstance(e, OrderPlaced)
            and e.parent_order_id is None
            and (e.reduce_only or e.stop_loss is None)
            for e in events
        )
        if manual or self.desk.held() == 0:
            return
        orders = self.desk.account.state.orders.values()
        stops = [o for o in orders if o.role is OrderRole.STOP_LOSS and o.order_id in
                 {i for i, _ in self.desk.protection()}]  # fmt: skip
        assert sum((o.remaining for o in stops), Decimal(0)) >= self.desk.held()


def _needs(order: Order, state: AccountState) -> Decimal:
    """What an order's opening part still to fill costs at its reference price (before fees)."""
    value = order.opening_remaining * order.reference_price
    return value if order.side is OrderSide.BUY else value * state.margin_requirement


def _opened(before: AccountState, after: AccountState) -> bool:
    """Whether some position grew in size or changed side."""
    for symbol, position in after.positions.items():
        old = before.positions.get(symbol)
        held = old.quantity if old is not None else ZERO
        if abs(position.quantity) > abs(held) or position.quantity * held < 0:
            return True
    return False


class BracketsOnMargin(BracketsAtTheDesk):
    """The same trader on a margin account: exits beyond the position open shorts."""

    allow_short = True


BracketsAtTheDesk.TestCase.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None
)
test_brackets_at_the_desk = BracketsAtTheDesk.TestCase
BracketsOnMargin.TestCase.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None
)
test_brackets_on_margin_at_the_desk = BracketsOnMargin.TestCase
