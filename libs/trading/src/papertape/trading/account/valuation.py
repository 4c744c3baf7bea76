"""The account valued at the decision's prices: what pre-trade checks weigh an order against.

The account's own marks are as old as the last mark applied (up to the mark interval); the
decision context carries the latest prices the shell knows, so a loss the market has made since
is seen by the daily-loss check of the very next order. Positions are valued in the base
currency as the marks value them (``Position.value_at``), with each quote currency at its rate
at the decision's prices (a pair's price moves what is held in its currencies), or at the
position's latest rate where no rate is known.
"""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.money import HUNDRED, ZERO
from papertape.trading.account.context import DecisionContext
from papertape.trading.account.currency import rate_for
from papertape.trading.account.state import AccountState


def decision_equity(state: AccountState, context: DecisionContext) -> Decimal:
    """Cash plus every position at the decision's price of its symbol (else at its mark)."""
    prices = context.marks
    if not prices:
        return state.equity
    marks = {**state.marks, **prices}
    value = ZERO
    for symbol, position in state.positions.items():
        rate = rate_for(marks, symbol, state.base_currency)
        price = prices.get(symbol, position.mark)
        value += position.value_at(price, position.rate if rate is None else rate)
    return state.cash + value


def decision_loss_pct(state: AccountState, context: DecisionContext) -> Decimal:
    """Today's loss at the decision's prices, in % of the day's starting equity (< 0 when up)."""
    if state.day_start_equity <= 0:
        return ZERO
    loss = state.day_start_equity - decision_equity(state, context)
    return loss * HUNDRED / state.day_start_equity
