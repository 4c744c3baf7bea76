"""Random trading in several currencies through the account and the venue: the books add up.

USD and EUR accounts, cash and margin, trade AAPL (USD), USDJPY (JPY) and EURGBP (GBP) while
the dollar prices of the euro, the pound, the yen and the share move; the pairs are quoted as
one consistent market (EURGBP = EURUSD / GBPUSD, to the tick), so every rate the account uses
can be checked against the market's own. Besides entries and reduce-only exits, the trader
sends plain exits (some beyond the position, some resting away from the market) and withdraws
what is available, so the reserve rules meet the conversion: reserves cover the working orders'
opening parts at their rates, and every opening fill on margin leaves buying power >= 0 in the
base currency.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from papertape.contract.events.account import (
    AccountEvent,
    Deposit,
    FillRejected,
    OrderFilledV2,
    OrderPlaced,
    Withdraw,
)
from papertape.contract.events.orders import OrderSide, OrderType, RejectReason
from papertape.contract.ids import OrderId, Symbol
from papertape.contract.instruments import instrument_for
from papertape.trading.account import INITIAL_STATE, AccountState, evolve
from papertape.trading.account.currency import quote_currency
from papertape.trading.account.forgeries import MISMATCHES
from papertape.trading.account.scenarios import ACCOUNT, wide_open
from tests.trading.desk import Desk

D = Decimal
AAPL, USDJPY, EURGBP = Symbol("AAPL"), Symbol("USDJPY"), Symbol("EURGBP")
EURUSD, GBPUSD = Symbol("EURUSD"), Symbol("GBPUSD")
TRADED = (AAPL, USDJPY, EURGBP)
MOVES = st.sampled_from(["-0.08", "-0.03", "-0.01", "0.01", "0.03", "0.08"])
TOLERANCE = D("0.001")
"""Relative: quotes are at the tick and a pair fills at its own price, not the mid."""


class CurrenciesAtTheDesk(RuleBasedStateMachine):
    """One account in USD or EUR, cash or margin, trading three quote currencies."""

    def __init__(self) -> None:
        super().__init__()
        # Dollar prices of what moves: the share, the euro, the pound; yen per dollar.
        self.market = {"AAPL": D(100), "EUR": D("1.1"), "GBP": D("1.25"), "JPY": D(150)}
        self.count = 0
        self.margin = False
        self.rates: dict[OrderId, Decimal] = {}
        self.opening_in_full: set[OrderId] = set()
        self.checked = 0
        """How many of the account's events the buying-power invariant has been through."""
        self.checked_state = INITIAL_STATE

    @initialize(base=st.sampled_from(["USD", "EUR"]), margin=st.booleans())
    def open_account(self, base: str, margin: bool) -> None:
        self.base, self.margin = base, margin
        opened = msgspec.structs.replace(wide_open("50000", allow_short=margin), base_currency=base)
        prices = {str(s): str(p) for s, p in self.prices().items()}
        self.desk = Desk(opened=opened, marks=prices, apply_marks=True)
        for symbol, price in self.prices().items():
            self.desk.quote(str(price), str(price), symbol)

    # --- the market ---------------------------------------------------------------------------

    def prices(self) -> dict[Symbol, Decimal]:
        """Every quoted symbol's price, at its tick."""
        m = self.market
        raw = {
            AAPL: m["AAPL"],
            EURUSD: m["EUR"],
            GBPUSD: m["GBP"],
            USDJPY: m["JPY"],
            EURGBP: m["EUR"] / m["GBP"],
        }
        return {s: instrument_for(s).price(p) for s, p in raw.items()}

    def dollars(self, currency: str) -> Decimal:
        """What one unit of a currency is worth in dollars in this market."""
        if currency == "USD":
            return D(1)
        if currency == "JPY":
            return 1 / self.market["JPY"]
        return self.market[currency]

    def rate(self, symbol: Symbol) -> Decimal:
        """The market's rate of a symbol's quote currency in the account's base currency."""
        return self.dollars(quote_currency(symbol)) / self.dollars(self.base)

    # --- the trader ---------------------------------------------------------------------------

    def _next_id(self) -> str:
        self.count += 1
        return f"o{self.count}"

    @rule(
        symbol=st.sampled_from(TRADED),
        size=st.integers(1, 20),
        sell=st.booleans(),
        limit_away=st.sampled_from([None, "0.01"]),
        bracket=st.booleans(),
    )
    def enter(
        self, symbol: Symbol, size: int, sell: bool, limit_away: str | None, bracket: bool
    ) -> None:
        side = OrderSide.SELL if sell and self.margin else OrderSide.BUY
        instrument = instrument_for(symbol)
        reference = self.prices()[symbol]
        order_type, limit = OrderType.MARKET, None
        if limit_away is not None:
            order_type = OrderType.LIMIT
            reference = instrument.price(reference * (1 - D(limit_away) * side.sign))
            limit = str(reference)
        stop = profit = None
        if bracket:
            stop = str(instrument.price(reference * (1 - D("0.03") * side.sign)))
            profit = str(instrument.price(reference * (1 + D("0.03") * side.sign)))
        quantity = size if symbol == AAPL else size * 1000
        expected = self.rate(symbol)
        if self.desk.held(symbol) * side.sign >= 0:
            self.opening_in_full.add(OrderId(f"o{self.count + 1}"))
        placed = self.desk.place(
            self._next_id(),
            side,
            str(quantity),
            order_type=order_type,
            limit=limit,
            stop_loss=stop,
            take_profit=profit,
            symbol=symbol,
        )
        self._record(placed, expected)
        self._tick(symbol)

    def _tick(self, symbol: Symbol) -> None:
        """The market quotes the symbol again where it is: market orders fill."""
        price = str(self.prices()[symbol])
        self.desk.quote(price, price, symbol)

    def _record(self, events: list[AccountEvent], rate: Decimal) -> None:
        for event in events:
            if isinstance(event, OrderPlaced):
                self.rates[event.order_id] = rate

    @rule(symbol=st.sampled_from(TRADED), share=st.sampled_from(["0.5", "1"]))
    def exit_part(self, symbol: Symbol, share: str) -> None:
        held = self.desk.held(symbol)
        quantity = int(abs(held) * D(share))
        if quantity > 0:
            side = OrderSide.SELL if held > 0 else OrderSide.BUY
            expected = self.rate(symbol)
            placed = self.desk.place(
                self._next_id(), side, str(quantity), reduce_only=True, symbol=symbol
            )
            self._record(placed, expected)
            self._tick(symbol)

    @rule(
        symbol=st.sampled_from(TRADED),
        share=st.sampled_from(["0.5", "1"]),
        beyond=st.sampled_from([0, 5]),
        limit_away=st.sampled_from([None, "0.03"]),
    )
    def exit_plain(self, symbol: Symbol, share: str, beyond: int, limit_away: str | None) -> None:
        # Not reduce-only: beyond the position (or once something else closed it) it opens, and
        # its opening part is reserved and checked in the base currency, at placement and fill.
        held = self.desk.held(symbol)
        side = OrderSide.SELL if held >= 0 else OrderSide.BUY
        quantity = int(abs(held) * D(share)) + (beyond if symbol == AAPL else beyond * 1000)
        if quantity <= 0:
            return
        instrument = instrument_for(symbol)
        order_type, limit = OrderType.MARKET, None
        if limit_away is not None:  # rests beyond the market, to fill after a move (or never)
            order_type = OrderType.LIMIT
            away = D(limit_away) * (-side.sign)
            limit = str(instrument.price(self.prices()[symbol] * (1 + away)))
        expected = self.rate(symbol)
        placed = self.desk.place(
            self._next_id(), side, str(quantity), order_type=order_type, limit=limit, symbol=symbol
        )
        self._record(placed, expected)
        self._tick(symbol)

    @rule(share=st.sampled_from(["0.5", "1"]))
    def withdraw_available(self, share: str) -> None:
        # Tight cash: gaps and exits that open meet the fill-time checks in the base currency.
        amount = (self.desk.account.state.available_funds * D(share)).quantize(D("0.01"))
        if amount > 0:
            self.desk.command(Withdraw(account_id=ACCOUNT, amount=amount))

    @rule(pick=st.integers(0, 1000))
    def cancel(self, pick: int) -> None:
        self.desk.cancel_one(pick)

    @rule(what=st.sampled_from(["AAPL", "EUR", "GBP", "JPY"]), move=MOVES)
    def move(self, what: str, move: str) -> None:
        self.market[what] = self.market[what] * (1 + D(move))
        moved = {
            "AAPL": (AAPL,),
            "EUR": (EURUSD, EURGBP),
            "GBP": (GBPUSD, EURGBP),
            "JPY": (USDJPY,),
        }[what]
        prices = self.prices()
        for symbol in moved:
            self.desk.quote(str(prices[symbol]), str(prices[symbol]), symbol)

    @rule(amount=st.sampled_from(["1000", "50000"]), out=st.booleans())
    def flow(self, amount: str, out: bool) -> None:
        kind = Withdraw if out else Deposit
        self.desk.command(kind(account_id=ACCOUNT, amount=D(amount)))

    # --- what must hold after every step ------------------------------------------------------

    @precondition(lambda self: hasattr(self, "desk"))
    @invariant()
    def account_and_venue_agree_and_replay_is_live(self) -> None:
        self.desk.assert_agreed()

    @precondition(lambda self: hasattr(self, "desk"))
    @invariant()
    def a_cash_account_never_has_negative_cash(self) -> None:
        if not self.margin:
            assert self.desk.account.state.cash >= 0

    @precondition(lambda self: hasattr(self, "desk"))
    @invariant()
    def reserves_are_what_the_working_orders_need_in_the_base_currency(self) -> None:
        state = self.desk.account.state
        assert state.reserved == sum((o.reserved_now for o in state.orders.values()), D(0))
        for order in state.orders.values():
            # Every order was converted at the market's rate when it was placed.
            expected = self.rates[order.order_id]
            assert abs(order.rate - expected) <= expected * TOLERANCE, order
            if not order.opening:
                assert order.reserved == 0
                continue
            # What its opening part still to fill needs, at least (a flip's closing part none).
            factor = D(1) if order.side is OrderSide.BUY else state.margin_requirement
            needs = order.opening_remaining * order.reference_price * order.rate * factor
            assert order.reserved_now >= needs, order
            # An opening order holds its notional (a short its margin) in the base currency,
            # plus its costs: at least the price of what it opens, at most a little more.
            least = order.remaining * order.reference_price * order.rate * factor
            assert order.reserved_now <= least * D("1.01") + 2
            if order.order_id in self.opening_in_full:
                assert order.reserved_now >= least

    @precondition(lambda self: hasattr(self, "desk"))
    @invariant()
    def every_venue_fill_matches_its_order(self) -> None:
        # Refused for the account's own reasons (cash, margin, limits at fill), or naming an
        # order the account ended; never because the venue filled outside the order.
        outside = MISMATCHES - {RejectReason.UNKNOWN_ORDER}
        refused = [e for e in self.desk.account.events if isinstance(e, FillRejected)]
        assert not [e for e in refused if e.reason_code in outside]

    @precondition(lambda self: hasattr(self, "desk"))
    @invariant()
    def every_opening_fill_on_margin_keeps_buying_power_in_the_base_currency(self) -> None:
        events = self.desk.account.events
        state = self.checked_state
        for event in events[self.checked :]:
            after = evolve(state, event)
            if isinstance(event, OrderFilledV2) and after.allow_short and _opened(state, after):
                assert after.available_funds >= 0, event
            state = after
        self.checked, self.checked_state = len(events), state

    @precondition(lambda self: hasattr(self, "desk"))
    @invariant()
    def equity_is_cash_plus_positions_at_marks_in_the_base_currency(self) -> None:
        state = self.desk.account.state
        assert state.equity == state.cash + sum(
            (p.market_value for p in state.positions.values()), D(0)
        )
        # What the books say it is: what came in, what was made, what is open, less fees.
        books = (
            state.initial_cash
            + state.net_deposits
            + state.realized_pnl
            - state.fees_paid
            + state.unrealized_pnl
        )
        assert abs(state.equity - books) <= D("0.000001")
        for symbol, position in state.positions.items():
            # Each position's open P&L, at the market's rate of its quote currency now.
            rate = self.rate(symbol)
            assert abs(position.rate - rate) <= rate * TOLERANCE, (symbol, position)
            notional = abs(position.quantity * position.mark * rate)
            at_market = position.quantity * (position.mark - position.avg_price) * rate
            assert abs(position.unrealized_pnl - at_market) <= notional * TOLERANCE + D("0.01")


def _opened(before: AccountState, after: AccountState) -> bool:
    """Whether some position grew in size or changed side."""
    for symbol, position in after.positions.items():
        old = before.positions.get(symbol)
        held = old.quantity if old is not None else D(0)
        if abs(position.quantity) > abs(held) or position.quantity * held < 0:
            return True
    return False


CurrenciesAtTheDesk.TestCase.settings = settings(
    max_examples=80, stateful_step_count=30, deadline=None
)
test_currencies_at_the_desk = CurrenciesAtTheDesk.TestCase
