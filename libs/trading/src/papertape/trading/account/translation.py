"""The venue's reports in the account's language: each report becomes one account command.

The portfolio service and a backtest translate the same way, so a fill is the same fill in both.
"""

from __future__ import annotations

from papertape.contract.events.account import (
    AccountCommand,
    ApplyFill,
    ExpireOrder,
    TriggerOrder,
)
from papertape.contract.events.execution import (
    ExecutionReport,
    OrderExpiryReported,
    OrderFillReported,
    OrderTriggerReported,
)
from papertape.contract.ids import FillId


def command_for(report: ExecutionReport) -> AccountCommand:
    """The account command a report asks for (the fill id is the report id: idempotent)."""
    match report:
        case OrderFillReported():
            return ApplyFill(
                account_id=report.account_id,
                fill_id=FillId(report.report_id),
                order_id=report.order_id,
                price=report.price,
                quantity=report.quantity,
                fee=report.fee,
                liquidity=report.liquidity,
                slippage=report.slippage,
                spread_cost=report.spread_cost,
                fee_model=report.fee_model,
                slippage_model=report.slippage_model,
                spread_model=report.spread_model,
                ts=report.ts,
                bid=report.bid,
                ask=report.ask,
                symbol=report.symbol,
                side=report.side,
            )
        case OrderTriggerReported():
            return TriggerOrder(
                account_id=report.account_id,
                order_id=report.order_id,
                trigger_price=report.trigger_price,
                ts=report.ts,
            )
        case OrderExpiryReported():
            return ExpireOrder(
                account_id=report.account_id,
                order_id=report.order_id,
                reason=report.reason,
                ts=report.ts,
            )
    raise TypeError(f"unknown report {type(report).__name__}")  # pragma: no cover
