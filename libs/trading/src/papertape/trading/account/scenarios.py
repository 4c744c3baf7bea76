"""Given/when/then scenarios for an account: build one from events and commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from papertape.contract.events.account import (
    AccountCommand,
    AccountEvent,
    AccountOpened,
    ApplyFill,
    ApplyMark,
    PlaceOrder,
)
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.ids import AccountId, FillId, OrderId, Symbol
from papertape.contract.limits import RiskLimits
from papertape.trading.account import AccountState, DecisionContext, decide, replay

ACCOUNT = AccountId("acc-1")
AAPL = Symbol("AAPL")
T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def at(seconds: float = 0, days: int = 0) -> datetime:
    """A moment after T0."""
    return T0 + timedelta(seconds=seconds, days=days)


def opened(cash: str = "10000", allow_short: bool = False, **kw: Any) -> AccountOpened:
    """An account opened at T0."""
    return AccountOpened(
        account_id=ACCOUNT,
        ts=T0,
        name="demo",
        base_currency="USD",
        initial_cash=Decimal(cash),
        allow_short=allow_short,
        margin_requirement=Decimal("0.5"),
        **kw,
    )


def order(
    order_id: str,
    side: OrderSide = OrderSide.BUY,
    quantity: str = "10",
    symbol: str = "AAPL",
    **kw: Any,
) -> PlaceOrder:
    """A PlaceOrder (market by default)."""
    kw.setdefault("order_type", OrderType.MARKET)
    return PlaceOrder(
        account_id=ACCOUNT,
        order_id=OrderId(order_id),
        symbol=Symbol(symbol),
        side=side,
        quantity=Decimal(quantity),
        **kw,
    )


def fill(
    order_id: str,
    price: str,
    quantity: str = "10",
    fee: str = "0",
    fill_id: str | None = None,
    ts: datetime | None = None,
    bid: str | None = None,
    ask: str | None = None,
) -> ApplyFill:
    """An ApplyFill for an order (with the market's bid and ask when given)."""
    return ApplyFill(
        account_id=ACCOUNT,
        fill_id=FillId(fill_id or f"f-{order_id}-{price}-{quantity}"),
        order_id=OrderId(order_id),
        price=Decimal(price),
        quantity=Decimal(quantity),
        fee=Decimal(fee),
        ts=ts or at(1),
        bid=None if bid is None else Decimal(bid),
        ask=None if ask is None else Decimal(ask),
    )


def mark(
    price: str,
    symbol: str = "AAPL",
    ts: datetime | None = None,
    bid: str | None = None,
    ask: str | None = None,
) -> ApplyMark:
    """An ApplyMark (with the market's bid and ask when given)."""
    return ApplyMark(
        account_id=ACCOUNT,
        symbol=Symbol(symbol),
        price=Decimal(price),
        ts=ts or at(1),
        bid=None if bid is None else Decimal(bid),
        ask=None if ask is None else Decimal(ask),
    )


class Scenario:
    """An account built by commands, as the portfolio service would: decide, then evolve."""

    def __init__(self, *given: AccountEvent, marks: dict[str, str] | None = None) -> None:
        self.events: list[AccountEvent] = list(given)
        self.state: AccountState = replay(self.events)
        prices = marks if marks is not None else {"AAPL": "100"}
        self.marks = {Symbol(k): Decimal(v) for k, v in prices.items()}

    def when(self, command: AccountCommand, now: datetime | None = None) -> list[AccountEvent]:
        """Decide ``command``, record its events, and return them."""
        context = DecisionContext(now=now or at(1), marks=self.marks)
        new = decide(command, self.state, context)
        self.events += new
        self.state = replay(new, self.state)
        return new

    def given(self, *commands: AccountCommand, now: datetime | None = None) -> Scenario:
        """Apply commands whose outcome the test does not check."""
        for command in commands:
            self.when(command, now)
        return self


WIDE_LIMITS = RiskLimits(
    max_position_pct=Decimal(1000),
    max_risk_per_trade_pct=Decimal(100),
    max_portfolio_heat_pct=Decimal(100),
    max_daily_loss_pct=Decimal(100),
    max_trades_per_day=10_000,
)


def wide_open(cash: str = "10000", allow_short: bool = False) -> AccountOpened:
    """An account whose limits stay out of the way of the rule under test."""
    return opened(cash, allow_short, limits=WIDE_LIMITS)


def kinds(events: list[AccountEvent]) -> list[str]:
    """The type names of events, for compact assertions."""
    return [type(e).__name__ for e in events]
