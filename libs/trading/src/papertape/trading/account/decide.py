"""decide: the events a command causes, given the account's state and the decision context."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from papertape.contract.costs import CostTerms
from papertape.contract.events.account import (
    AccountCommand,
    AccountEvent,
    AccountOpened,
    AccountReset,
    ApplyFill,
    ApplyMark,
    CancelOrder,
    CommandRejected,
    CostModelSetV2,
    Deposit,
    ExpireOrder,
    FundsDeposited,
    FundsWithdrawn,
    HaltTrading,
    MoveExits,
    OpenAccount,
    OrderCancelled,
    PlaceOrder,
    ResetAccount,
    ResumeTrading,
    RiskLimitsSet,
    SetCostModel,
    SetCostModelV2,
    SetRiskLimits,
    TradingHalted,
    TradingResumed,
    TriggerOrder,
    Withdraw,
    WithdrawalRejected,
    set_cost_model_v2,
)
from papertape.contract.events.base import message_name
from papertape.contract.events.orders import ExitReason, RejectReason
from papertape.contract.money import HUNDRED, ZERO
from papertape.trading.account.context import DecisionContext
from papertape.trading.account.executions import (
    apply_fill,
    apply_mark,
    expire_order,
    trigger_order,
)
from papertape.trading.account.exits import move_exits
from papertape.trading.account.liquidation import positions_closed
from papertape.trading.account.placement import cancel_order, place_order
from papertape.trading.account.state import AccountState


def _refused(
    cmd: Any, context: DecisionContext, reason: RejectReason, message: str
) -> AccountEvent:
    return CommandRejected(
        account_id=cmd.account_id,
        ts=context.now,
        command=message_name(type(cmd)),
        reason_code=reason,
        message=message,
    )


def _open(cmd: OpenAccount, state: AccountState, context: DecisionContext) -> list[AccountEvent]:
    if state.is_open:
        reason = RejectReason.ACCOUNT_ALREADY_OPEN
        return [_refused(cmd, context, reason, "account is open already")]
    if cmd.initial_cash < 0 or not 0 <= cmd.margin_requirement <= 10:
        return [_refused(cmd, context, RejectReason.INVALID_AMOUNT, "bad initial cash or margin")]
    return [
        AccountOpened(
            account_id=cmd.account_id,
            ts=context.now,
            name=cmd.name,
            base_currency=cmd.base_currency,
            initial_cash=cmd.initial_cash,
            allow_short=cmd.allow_short,
            margin_requirement=cmd.margin_requirement,
        )
    ]


def _deposit(cmd: Deposit, state: AccountState, context: DecisionContext) -> list[AccountEvent]:
    if cmd.amount <= 0:
        return [_refused(cmd, context, RejectReason.INVALID_AMOUNT, "amount must be positive")]
    return [
        FundsDeposited(
            account_id=cmd.account_id, ts=context.now, amount=cmd.amount, reference=cmd.reference
        )
    ]


def _withdraw(cmd: Withdraw, state: AccountState, context: DecisionContext) -> list[AccountEvent]:
    available = state.available_funds
    reason = None
    if cmd.amount <= 0:
        reason, message = RejectReason.INVALID_AMOUNT, "amount must be positive"
    elif cmd.amount > available:
        reason = RejectReason.INSUFFICIENT_FUNDS
        message = f"{available:.2f} can be withdrawn (cash less reserves and margin)"
    if reason is not None:
        return [
            WithdrawalRejected(
                account_id=cmd.account_id,
                ts=context.now,
                amount=cmd.amount,
                reason_code=reason,
                message=message,
            )
        ]
    return [
        FundsWithdrawn(
            account_id=cmd.account_id, ts=context.now, amount=cmd.amount, reference=cmd.reference
        )
    ]


def _set_limits(
    cmd: SetRiskLimits, state: AccountState, context: DecisionContext
) -> list[AccountEvent]:
    limits = cmd.limits
    pcts = (
        limits.max_position_pct,
        limits.max_risk_per_trade_pct,
        limits.max_portfolio_heat_pct,
        limits.max_daily_loss_pct,
    )
    if (
        any(not ZERO < p <= HUNDRED * 100 for p in pcts)
        or limits.max_trades_per_day < 0
        or (limits.min_trade_interval_s < 0)
    ):
        return [_refused(cmd, context, RejectReason.INVALID_LIMITS, "limits must be positive")]
    return [RiskLimitsSet(account_id=cmd.account_id, ts=context.now, limits=limits)]


def _cost_terms_problem(terms: CostTerms) -> str | None:
    values: tuple[Decimal, ...] = (
        terms.per_share,
        terms.minimum,
        terms.bps,
        terms.per_lot,
        terms.fixed,
        terms.slippage_bps,
        terms.spread_pips,
    )
    if any(v < 0 for v in values):
        return f"costs of {terms.name or 'an entry'} cannot be negative (only maker/taker rebates)"
    if terms.lot_units <= 0:
        return f"lot units of {terms.name or 'an entry'} must be positive"
    return None


def _set_costs(
    cmd: SetCostModelV2, state: AccountState, context: DecisionContext
) -> list[AccountEvent]:
    schedule = cmd.schedule
    entries = [*schedule.asset_classes.values(), *schedule.instruments.values()]
    problem = next((p for p in map(_cost_terms_problem, entries) if p is not None), None)
    if problem is None and any(not symbol for symbol in schedule.instruments):
        problem = "an instrument override needs a symbol"
    if problem is not None:
        return [_refused(cmd, context, RejectReason.INVALID_COST_MODEL, problem)]
    return [CostModelSetV2(account_id=cmd.account_id, ts=context.now, schedule=schedule)]


def _set_costs_v1(
    cmd: SetCostModel, state: AccountState, context: DecisionContext
) -> list[AccountEvent]:
    return _set_costs(set_cost_model_v2(cmd), state, context)


def _reset(cmd: ResetAccount, state: AccountState, context: DecisionContext) -> list[AccountEvent]:
    cash = state.initial_cash if cmd.initial_cash is None else cmd.initial_cash
    if cash < 0:
        return [_refused(cmd, context, RejectReason.INVALID_AMOUNT, "initial cash is negative")]
    cancels: list[AccountEvent] = [
        OrderCancelled(
            account_id=cmd.account_id, ts=context.now, order_id=o, reason="account reset"
        )
        for o in state.orders
    ]
    # Nothing vanishes without a trace: open positions close at their marks as trades first.
    closes = positions_closed(state, cmd.account_id, context.now, ExitReason.RESET)
    return [
        *cancels,
        *closes,
        AccountReset(
            account_id=cmd.account_id,
            ts=context.now,
            epoch=state.epoch + 1,
            initial_cash=cash,
            reason=cmd.reason,
        ),
    ]


def _halt(cmd: HaltTrading, state: AccountState, context: DecisionContext) -> list[AccountEvent]:
    if state.halted:
        return []
    return [TradingHalted(account_id=cmd.account_id, ts=context.now, reason=cmd.reason)]


def _resume(
    cmd: ResumeTrading, state: AccountState, context: DecisionContext
) -> list[AccountEvent]:
    if not state.halted:
        return []
    return [TradingResumed(account_id=cmd.account_id, ts=context.now, reason=cmd.reason)]


_NEEDS_OPEN_ACCOUNT = (
    Deposit,
    Withdraw,
    SetRiskLimits,
    SetCostModel,
    SetCostModelV2,
    ResetAccount,
    CancelOrder,
    MoveExits,
    HaltTrading,
    ResumeTrading,
)

_DECIDERS: dict[type[Any], Callable[[Any, AccountState, DecisionContext], list[AccountEvent]]] = {
    OpenAccount: _open,
    Deposit: _deposit,
    Withdraw: _withdraw,
    SetRiskLimits: _set_limits,
    SetCostModel: _set_costs_v1,
    SetCostModelV2: _set_costs,
    ResetAccount: _reset,
    PlaceOrder: place_order,
    CancelOrder: cancel_order,
    MoveExits: move_exits,
    HaltTrading: _halt,
    ResumeTrading: _resume,
    ApplyFill: apply_fill,
    ApplyMark: apply_mark,
    ExpireOrder: expire_order,
    TriggerOrder: trigger_order,
}


def decide(
    command: AccountCommand, state: AccountState, context: DecisionContext
) -> list[AccountEvent]:
    """The events ``command`` causes; refusals are events, an empty list means nothing to do."""
    if isinstance(command, _NEEDS_OPEN_ACCOUNT) and not state.is_open:
        return [_refused(command, context, RejectReason.ACCOUNT_NOT_OPEN, "no such account")]
    return _DECIDERS[type(command)](command, state, context)
