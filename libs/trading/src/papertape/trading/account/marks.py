"""Marks and the equity curve: the trading day, the high-water mark and drawdown."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import msgspec

from papertape.common.money import HUNDRED, ZERO
from papertape.trading.account.state import AccountState, EquityPoint


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


def daily_loss_pct(state: AccountState) -> Decimal:
    """Today's loss as a percentage of the day's starting equity (negative when up)."""
    if state.day_start_equity <= 0:
        return ZERO
    return (state.day_start_equity - state.equity) * HUNDRED / state.day_start_equity


def with_equity_point(state: AccountState, ts: datetime) -> AccountState:
    """Record equity at ``ts``: high-water mark, drawdown, and one curve point per minute."""
    equity = state.equity
    point = EquityPoint(ts=ts, equity=equity, cash=state.cash, exposure=state.exposure)
    hwm = equity if equity > state.high_water_mark else state.high_water_mark
    drawdown = hwm - equity
    max_dd, max_dd_pct = state.max_drawdown, state.max_drawdown_pct
    if drawdown > max_dd:
        max_dd = drawdown
    if hwm > 0 and drawdown > 0:
        dd_pct = drawdown * HUNDRED / hwm
        if dd_pct > max_dd_pct:
            max_dd_pct = dd_pct
    curve = state.curve
    last = state.last_point
    if last is not None and not _same_minute(last.ts, ts):
        curve = curve.append(last)
    return msgspec.structs.replace(
        state, high_water_mark=hwm, max_drawdown=max_dd, max_drawdown_pct=max_dd_pct,
        curve=curve, last_point=point,
    )


def _same_minute(a: datetime, b: datetime) -> bool:
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)
