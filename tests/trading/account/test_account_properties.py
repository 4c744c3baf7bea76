"""Laws of the account, over random command sequences (hypothesis)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papertape.contract import codec
from papertape.contract.events.account import (
    AccountCommand,
    AccountEvent,
    ApplyFill,
    ApplyMark,
    CancelOrder,
    Deposit,
    ExpireOrder,
    HaltTrading,
    OpenAccount,
    PlaceOrder,
    ResetAccount,
    ResumeTrading,
    SetRiskLimits,
    TriggerOrder,
    Withdraw,
)
from papertape.contract.events.orders import OrderSide, OrderType
from papertape.contract.ids import FillId, OrderId, Symbol
from papertape.contract.limits import RiskLimits
from papertape.trading.account import (
    AccountSnapshot,
    AccountState,
    DecisionContext,
    decide,
    evolve,
    from_snapshot,
    replay,
    to_snapshot,
)
from papertape.trading.account.scenarios import ACCOUNT, T0, WIDE_LIMITS

SYMBOLS = [Symbol("AAPL"), Symbol("MSFT")]
prices = st.integers(min_value=5000, max_value=15000).map(lambda c: Decimal(c) / 100)


def next_command(data: st.DataObject, state: AccountState, step: int) -> AccountCommand:
    """Draw a plausible next command for the account as it stands."""
    kind = data.draw(
        st.sampled_from(
            ["place"] * 12
            + ["fill"] * 12
            + ["mark"] * 6
            + [
                "cancel",
                "deposit",
                "withdraw",
                "halt",
                "resume",
                "reset",
                "expire",
                "trigger",
                "limits",
            ]
        )
    )
    symbol = data.draw(st.sampled_from(SYMBOLS))
    working = sorted(state.orders)
    if kind == "fill" and working:
        order = state.orders[data.draw(st.sampled_from(working))]
        quantity = data.draw(st.integers(1, max(1, int(order.remaining))))
        price = order.limit_price if order.limit_price is not None else data.draw(prices)
        return ApplyFill(
            account_id=ACCOUNT,
            fill_id=FillId(f"f{step}"),
            order_id=order.order_id,
            price=price,
            quantity=Decimal(quantity),
            fee=data.draw(st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1)])),
            ts=T0 + timedelta(minutes=step),
        )
    if kind in ("cancel", "expire", "trigger") and working:
        order_id = data.draw(st.sampled_from(working))
        if kind == "cancel":
            return CancelOrder(account_id=ACCOUNT, order_id=order_id)
        if kind == "expire":
            return ExpireOrder(account_id=ACCOUNT, order_id=order_id, ts=T0)
        return TriggerOrder(
            account_id=ACCOUNT,
            order_id=order_id,
            trigger_price=Decimal(100),
            ts=T0 + timedelta(minutes=step),
        )
    if kind == "mark":
        return ApplyMark(
            account_id=ACCOUNT,
            symbol=symbol,
            price=data.draw(prices),
            ts=T0 + timedelta(minutes=step),
        )
    if kind in ("deposit", "withdraw"):
        amount = Decimal(data.draw(st.integers(0, 5000)))  # negatives are malformed (bounds)
        cls = Deposit if kind == "deposit" else Withdraw
        return cls(account_id=ACCOUNT, amount=amount)
    if kind == "halt":
        return HaltTrading(account_id=ACCOUNT, reason="test")
    if kind == "resume":
        return ResumeTrading(account_id=ACCOUNT)
    if kind == "reset":
        return ResetAccount(account_id=ACCOUNT)
    if kind == "limits":
        return SetRiskLimits(
            account_id=ACCOUNT,
            limits=data.draw(
                st.sampled_from(
                    [WIDE_LIMITS, RiskLimits(), RiskLimits(max_daily_loss_pct=Decimal(1))]
                )
            ),
        )
    side = data.draw(st.sampled_from(list(OrderSide)))
    limit = data.draw(st.booleans())
    reference = data.draw(prices)
    bracket = data.draw(st.booleans())
    sign = side.sign
    return PlaceOrder(
        account_id=ACCOUNT,
        order_id=OrderId(f"o{step}"),
        symbol=symbol,
        side=side,
        quantity=Decimal(data.draw(st.integers(1, 12))),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=reference if limit else None,
        stop_loss=(reference - sign * 2) if bracket and limit else None,
        take_profit=(reference + sign * 4) if bracket and limit else None,
        reduce_only=data.draw(st.booleans()) and not bracket,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), allow_short=st.booleans(), steps=st.integers(1, 80))
def test_replaying_the_log_equals_the_live_state_and_the_books_balance(
    data: st.DataObject, allow_short: bool, steps: int
) -> None:
    log: list[AccountEvent] = []
    state = AccountState()
    opening = OpenAccount(account_id=ACCOUNT, name="prop", allow_short=allow_short)
    limits = SetRiskLimits(account_id=ACCOUNT, limits=WIDE_LIMITS)
    commands: list[AccountCommand] = [opening, limits]
    for step in range(steps):
        command = commands[step] if step < len(commands) else next_command(data, state, step)
        marks = {s: data.draw(prices) for s in SYMBOLS}
        now = T0 + timedelta(minutes=step, seconds=30)
        for event in decide(command, state, DecisionContext(now=now, marks=marks)):
            log.append(event)
            state = evolve(state, event)
        if not allow_short:
            assert state.cash >= 0
            assert all(p.quantity > 0 for p in state.positions.values())
        positions_at_marks = sum(
            (p.quantity * p.mark for p in state.positions.values()), Decimal(0)
        )
        assert state.equity == state.cash + positions_at_marks
    assert replay(log) == state
    decoded = codec.Codec[list[AccountEvent]](list[AccountEvent]).decode(codec.encode(log))
    assert replay(decoded) == state
    snapshot = codec.Codec[AccountSnapshot](AccountSnapshot).decode(
        codec.encode(to_snapshot(state))
    )
    assert from_snapshot(snapshot) == state


def test_replay_of_a_prefix_is_untouched_by_later_events() -> None:
    opening = OpenAccount(account_id=ACCOUNT, name="p")
    context = DecisionContext(now=T0, marks={Symbol("AAPL"): Decimal(100)})
    events = decide(opening, AccountState(), context)
    state = replay(events)
    place = PlaceOrder(
        account_id=ACCOUNT,
        order_id=OrderId("o1"),
        symbol=Symbol("AAPL"),
        side=OrderSide.BUY,
        quantity=Decimal(1),
    )
    first = replay(decide(place, state, context), state)
    other = PlaceOrder(
        account_id=ACCOUNT,
        order_id=OrderId("o2"),
        symbol=Symbol("AAPL"),
        side=OrderSide.BUY,
        quantity=Decimal(2),
    )
    branch = replay(decide(other, state, context), state)
    assert "o1" in first.order_ids
    assert "o1" not in branch.order_ids
    assert "o2" not in first.order_ids
    assert state.order_ids.to_dict() == {}
