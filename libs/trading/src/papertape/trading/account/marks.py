"""Marks and the equity curve: the trading day, the high-water mark and drawdown."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from papertape.contract.events.account import OrderFilledV2
from papertape.contract.events.reports import EquityPoint
from papertape.contract.money import HUNDRED, ZERO
from papertape.trading.account.state import AccountState


def utc_date(ts: datetime) -> date:
    """The trading day of a moment: its UTC calendar date."""
    return ts.date() if ts.tzinfo is UTC else ts.astimezone(UTC).date()


def trading_day_rolled(state: AccountState, ts: datetime) -> AccountState:
    """The state as of the trading day of ``ts``: trade counter and circuit breaker reset.

    A trading day is the UTC date; its starting equity is the equity before its first event.
    """
    day = utc_date(ts)
    if state.day is not None and day <= state.day:
        return state
    return msgspec.structs.replace(
        state, day=day, day_start_equity=state.equity, trades_today=0, breaker_tripped=False
    )


def exit_mark(price: Decimal, bid: Decimal | None, ask: Decimal | None, held: Decimal) -> Decimal:
    """Where a position stands: the side of the market it would exit at, if known.

    A long exits at the bid and a short at the ask, so equity shows the spread a trader would
    pay to get out, right after a fill and on every mark after it; without a quote (older
    events, bar paths, a source with one price) it stands at ``price``.
    """
    side = bid if held > 0 else ask if held < 0 else None
    return side if side is not None and side > 0 else price


def after_fill_mark(fill: OrderFilledV2, held: Decimal) -> Decimal:
    """Where a position stands right after a fill (see ``exit_mark``)."""
    return exit_mark(fill.price, fill.bid, fill.ask, held)


def daily_loss_pct(state: AccountState) -> Decimal:
    """Today's loss as a percentage of the day's starting equity (negative when up)."""
    if state.day_start_equity <= 0:
        return ZERO
    return (state.day_start_equity - state.equity) * HUNDRED / state.day_start_equity


def with_equity_point(
    state: AccountState, ts: datetime, flow: Decimal = ZERO, **changes: Any
) -> AccountState:
    """The state with ``changes`` and equity recorded at ``ts``: HWM, drawdown, the curve.

    ``changes`` may replace ``cash`` and ``positions``; they are applied in the same copy.
    ``flow`` is a deposit (or, negative, a withdrawal) in the equity: the point records it.
    """
    # One pass and one copy: evolve's hot path (every fill and mark) comes through here.
    cash = changes.get("cash", state.cash)
    value = exposure = ZERO
    for position in changes.get("positions", state.positions).values():
        value += position.market_value
        gross = position.notional
        exposure += gross if gross >= 0 else -gross
    equity = cash + value
    curve = state.curve
    last = state.last_point
    if last is not None and (flow != 0 or not _same_minute(last.ts, ts)):
        # A flow always starts a new point, so the point before it is where its sub-period
        # begins (time-weighted returns put the flow there).
        curve = curve.append(last)
    elif last is not None:
        # The point replaces the minute's last one: it carries that one's flow too.
        flow += last.flow
    point = EquityPoint(ts=ts, equity=equity, cash=cash, exposure=exposure, flow=flow)
    hwm = equity if equity > state.high_water_mark else state.high_water_mark
    drawdown = hwm - equity
    max_dd, max_dd_pct = state.max_drawdown, state.max_drawdown_pct
    if drawdown > max_dd:
        max_dd = drawdown
    if drawdown > 0 and hwm > 0:
        dd_pct = drawdown * HUNDRED / hwm
        if dd_pct > max_dd_pct:
            max_dd_pct = dd_pct
    return msgspec.structs.replace(
        state,
        high_water_mark=hwm,
        max_drawdown=max_dd,
        max_drawdown_pct=max_dd_pct,
        curve=curve,
        last_point=point,
        **changes,
    )


_MINUTE = timedelta(minutes=1)


def _same_minute(a: datetime, b: datetime) -> bool:
    return a.minute == b.minute and -_MINUTE < b - a < _MINUTE
