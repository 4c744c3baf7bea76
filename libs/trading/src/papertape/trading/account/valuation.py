"""The account valued at the decision's prices: what pre-trade checks weigh an order against.

The account's own marks are as old as the last mark applied (up to the mark interval); the
decision context carries the latest prices the shell knows, so a loss the market has made since
is seen by the daily-loss check of the very next order.
"""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.money import HUNDRED, ZERO
from papertape.trading.account.context import DecisionContext
from papertape.trading.account.state import AccountState


def decision_equity(state: AccountState, context: DecisionContext) -> Decimal:
    """Cash plus every position at the decision's price of its symbol (else at its mark)."""
    prices = context.marks
    return state.cash + sum(
        (p.quantity * prices.get(symbol, p.mark) for symbol, p in state.positions.items()),
        ZERO,
    )


def decision_loss_pct(state: AccountState, context: DecisionContext) -> Decimal:
    """Today's loss at the decision's prices, in % of the day's starting equity (< 0 when up)."""
    if state.day_start_equity <= 0:
        return ZERO
    loss = state.day_start_equity - decision_equity(state, context)
    return loss * HUNDRED / state.day_start_equity
