"""Pre-trade risk: every limit an order that opens or adds to a position must pass.

Orders that only reduce a position (exits) skip the entry limits and need no buying power;
the kill switch and reduce-only violations apply to every order. What an exit may close is
what is left of the position once the working exits are counted (``closing``); the rest of it
opens, and is reserved and checked as an entry. Fill-time checks are in ``buying_power``.
Prices are in the quote currency; every amount checked (reserve, position value, risk, heat)
is converted to the base currency at the order's rate first, and limits are compared in the
base currency.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import msgspec

from papertape.contract.events.account import PlaceOrder
from papertape.contract.events.orders import OrderSide, OrderType, RejectReason
from papertape.contract.ids import Symbol
from papertape.contract.instruments import instrument_for
from papertape.contract.money import HUNDRED, ZERO
from papertape.trading.account.closing import closable, held, left_to_close, working_on_side
from papertape.trading.account.context import DecisionContext
from papertape.trading.account.currency import ONE, currency_of, quote_currency, rate_for
from papertape.trading.account.state import AccountState
from papertape.trading.account.valuation import decision_loss_pct
from papertape.trading.costs import expected_costs, terms_for


class Refusal(msgspec.Struct, frozen=True):
    """Why an order (or a command) is refused."""

    reason: RejectReason
    message: str


class OrderPlan(msgspec.Struct, frozen=True, kw_only=True):
    """How an order would change the account: the part that opens, its price and reserve."""

    reference_price: Decimal
    opening_quantity: Decimal
    reserved: Decimal
    """In the base currency."""
    rate: Decimal = ONE
    """Base-currency units per unit of the quote currency, at the decision."""
    closing_quantity: Decimal = ZERO


def market_price(state: AccountState, context: DecisionContext, cmd: PlaceOrder) -> Decimal | None:
    """The last known price of the order's symbol: the context's, else the account's mark."""
    price = context.marks.get(cmd.symbol)
    if price is None:
        price = state.marks.get(cmd.symbol)
    return price


def placement_rate(
    state: AccountState, context: DecisionContext, cmd: PlaceOrder
) -> Decimal | None:
    """The rate an order is checked and reserved at (None: no pair or cross is marked).

    Without a market rate, an order in a symbol held stands at the position's latest rate:
    what is held can always be closed.
    """
    if quote_currency(cmd.symbol) == currency_of(state.base_currency):
        return ONE
    rate = rate_for({**state.marks, **context.marks}, cmd.symbol, state.base_currency)
    position = state.positions.get(cmd.symbol)
    return position.rate if rate is None and position is not None else rate


def reference_price(
    state: AccountState, context: DecisionContext, cmd: PlaceOrder
) -> Decimal | None:
    """The price an order is sized and reserved at: its limit, else its stop, else the market."""
    if cmd.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        return cmd.limit_price
    if cmd.order_type is OrderType.STOP:
        return cmd.stop_price
    return market_price(state, context, cmd)


def opening_quantity(state: AccountState, cmd: PlaceOrder) -> Decimal:
    """The part of an order that opens or adds exposure (beyond what is left to close).

    A reduce-only order is measured against the position alone (it can never go beyond it);
    any other against the position less what working orders close of it (``closing``).
    """
    if cmd.reduce_only:
        can_close = closable(state, cmd.symbol, cmd.side)
    else:
        can_close = left_to_close(state, cmd.symbol, cmd.side)
    return max(ZERO, cmd.quantity - can_close)


def plan_order(
    state: AccountState, cmd: PlaceOrder, price: Decimal, rate: Decimal = ONE
) -> OrderPlan:
    """Size an order's reserve: a buy's expected fill plus fees, a short's margin plus fees.

    The expected costs come from the account's cost schedule, the one the venue charges with;
    they are in the quote currency, the reserve in the base currency at ``rate``.
    """
    opening = opening_quantity(state, cmd)
    closing = cmd.quantity - opening
    if opening == 0:
        return OrderPlan(
            reference_price=price,
            opening_quantity=opening,
            reserved=ZERO,
            rate=rate,
            closing_quantity=closing,
        )
    limited = cmd.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    instrument = instrument_for(cmd.symbol)
    terms = terms_for(state.costs, instrument)
    sign = cmd.side.sign
    costs = expected_costs(
        terms, instrument, sign, cmd.quantity, price, limit=price if limited else None
    )
    if cmd.side is OrderSide.BUY:
        reserved = opening * costs.price + costs.fee
    else:
        reserved = opening * price * state.margin_requirement + costs.fee
    return OrderPlan(
        reference_price=price,
        opening_quantity=opening,
        reserved=_covering(reserved * rate),
        rate=rate,
        closing_quantity=closing,
    )


def _covering(amount: Decimal) -> Decimal:
    """Cash to the cent, rounded up: a reserve must cover what it stands for."""
    return amount.quantize(_CENT, rounding=ROUND_CEILING)


_CENT = Decimal("0.01")


def check_entry(
    state: AccountState, cmd: PlaceOrder, plan: OrderPlan, context: DecisionContext
) -> Refusal | None:
    """The first entry limit the order breaks, or None (``state`` is rolled to today)."""
    limits = state.limits
    equity = state.equity
    if cmd.side is OrderSide.SELL and not state.allow_short:
        return Refusal(RejectReason.SHORT_SELLING_NOT_ALLOWED, "short selling is not allowed")
    if state.breaker_tripped or decision_loss_pct(state, context) >= limits.max_daily_loss_pct:
        return Refusal(
            RejectReason.DAILY_LOSS_LIMIT,
            f"daily loss limit of {limits.max_daily_loss_pct}% reached: entries resume next day",
        )
    if state.trades_today >= limits.max_trades_per_day:
        return Refusal(
            RejectReason.MAX_TRADES_PER_DAY, f"{limits.max_trades_per_day} trades today already"
        )
    if state.last_entry_at is not None and limits.min_trade_interval_s > 0:
        elapsed = (context.now - state.last_entry_at).total_seconds()
        if elapsed < limits.min_trade_interval_s:
            return Refusal(
                RejectReason.MIN_TRADE_INTERVAL,
                f"{elapsed:.0f}s since the last entry, {limits.min_trade_interval_s}s required",
            )
    refusal = _check_size_and_risk(state, cmd, plan, equity)
    if refusal is not None:
        return refusal
    available = state.available_funds
    if plan.reserved > available:
        reason = (
            RejectReason.INSUFFICIENT_BUYING_POWER
            if cmd.side is OrderSide.BUY
            else RejectReason.INSUFFICIENT_MARGIN
        )
        return Refusal(reason, f"needs {plan.reserved:.2f}, {available:.2f} available")
    return None


def _check_size_and_risk(
    state: AccountState, cmd: PlaceOrder, plan: OrderPlan, equity: Decimal
) -> Refusal | None:
    limits = state.limits
    price = plan.reference_price * plan.rate  # in the base currency, as every limit is
    # Where the position ends if this order and every working one on its side fill.
    working = working_on_side(state, cmd.symbol, cmd.side)
    ending = held(state, cmd.symbol) + (working + cmd.quantity) * cmd.side.sign
    projected = abs(ending) * price
    max_value = equity * limits.max_position_pct / HUNDRED
    if projected > max_value:
        return Refusal(
            RejectReason.MAX_POSITION_SIZE,
            f"position of {projected:.2f} would exceed {limits.max_position_pct}% of equity "
            f"({max_value:.2f})",
        )
    if cmd.stop_loss is None:
        return None
    risk = abs(plan.reference_price - cmd.stop_loss) * plan.rate * plan.opening_quantity
    max_risk = equity * limits.max_risk_per_trade_pct / HUNDRED
    if risk > max_risk:
        return Refusal(
            RejectReason.MAX_RISK_PER_TRADE,
            f"risk of {risk:.2f} to the stop exceeds {limits.max_risk_per_trade_pct}% of equity "
            f"({max_risk:.2f})",
        )
    heat = state.open_risk - closed_risk(state, cmd.symbol, plan) + pending_risk(state) + risk
    max_heat = equity * limits.max_portfolio_heat_pct / HUNDRED
    if heat > max_heat:
        return Refusal(
            RejectReason.PORTFOLIO_HEAT,
            f"open risk of {heat:.2f} would exceed {limits.max_portfolio_heat_pct}% of equity "
            f"({max_heat:.2f})",
        )
    return None


def pending_risk(state: AccountState) -> Decimal:
    """Risk to the stop of the opening parts of working orders that carry one."""
    return sum(
        (
            abs(o.reference_price - o.stop_loss) * o.rate * o.opening_remaining
            for o in state.orders.values()
            if o.opening and o.stop_loss is not None
        ),
        ZERO,
    )


def closed_risk(state: AccountState, symbol: Symbol, plan: OrderPlan) -> Decimal:
    """The open risk of the part of a position an order closes (a flip's closing part)."""
    position = state.positions.get(symbol)
    if position is None or position.quantity == 0 or plan.closing_quantity <= 0:
        return ZERO
    share = min(plan.closing_quantity, abs(position.quantity)) / abs(position.quantity)
    return position.open_risk * share
