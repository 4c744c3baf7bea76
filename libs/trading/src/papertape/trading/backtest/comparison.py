"""Two runs of the same trading compared fill by fill: paper against backtest, or what-if.

Fills are matched one to one by a key both runs share: for a session's fills, the signal's
symbol and bar, the leg of the order (entry, close, stop-loss, take-profit) and the fill's rank
within it (a session's ids differ between runs, its signals' bars do not); for what-if, the
order id itself. Each match gives its differences in time, price, quantity, fee and realized
P&L; a fill on one side only is listed as unmatched. The summary compares the runs' metrics
(the account's own ``performance``) and warns where a difference passes its threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from papertape.contract.events.account import OrderFilledV2
from papertape.contract.events.reports import PerformanceMetrics
from papertape.contract.events.sessions import SessionOrderRequested
from papertape.contract.events.signals import SignalGenerated

ZERO = Decimal(0)
LEGS = (("-sl", "stop_loss"), ("-tp", "take_profit"))


class FillDelta(msgspec.Struct, frozen=True, kw_only=True):
    """One fill on both sides; each delta is right minus left."""

    key: str
    symbol: str
    side: str
    left_ts: datetime
    right_ts: datetime
    seconds: float
    left_price: Decimal
    right_price: Decimal
    price: Decimal
    quantity: Decimal
    fee: Decimal
    pnl: Decimal

    @property
    def zero(self) -> bool:
        return not (self.seconds or self.price or self.quantity or self.fee or self.pnl)


class Unmatched(msgspec.Struct, frozen=True, kw_only=True):
    """A fill that only one side has."""

    key: str
    side: str
    symbol: str
    ts: datetime
    price: Decimal
    quantity: Decimal
    fee: Decimal


class SummaryDelta(msgspec.Struct, frozen=True, kw_only=True):
    """One metric on both sides, the difference, its threshold and whether it passes it."""

    metric: str
    left: Decimal | None
    right: Decimal | None
    delta: Decimal | None
    threshold: Decimal
    warning: bool


class Thresholds(msgspec.Struct, frozen=True, kw_only=True):
    """How far a summary metric may differ before a warning (absolute differences)."""

    win_rate_pct: Decimal = Decimal(5)
    average_r: Decimal = Decimal("0.2")
    net_profit: Decimal = Decimal(100)
    max_drawdown_pct: Decimal = Decimal(1)


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    """Everything that differed between two runs (``left`` and ``right`` name them)."""

    left: str
    right: str
    matched: list[FillDelta]
    only_left: list[Unmatched]
    only_right: list[Unmatched]
    summary: list[SummaryDelta]
    fee_total: Decimal
    pnl_total: Decimal

    @property
    def divergent(self) -> int:
        """Fills that differ, plus fills on one side only."""
        return sum(not d.zero for d in self.matched) + len(self.only_left) + len(self.only_right)

    @property
    def warnings(self) -> list[str]:
        return [s.metric for s in self.summary if s.warning]


Keyed = dict[str, OrderFilledV2]


def by_order(fills: Iterable[OrderFilledV2]) -> Keyed:
    """Fills keyed by order id and rank within the order (what-if: the same orders)."""
    out: Keyed = {}
    seen: dict[str, int] = {}
    for fill in fills:
        rank = seen[fill.order_id] = seen.get(fill.order_id, 0) + 1
        out[f"{fill.order_id}#{rank}"] = fill
    return out


def by_signal(fills: Iterable[OrderFilledV2], session: Sequence[Any]) -> Keyed:
    """Fills keyed by their signal's symbol and bar, the order's leg and the fill's rank."""
    bars = {e.signal_id: e.bar.start for e in session if isinstance(e, SignalGenerated)}
    legs: dict[str, str] = {}
    for event in session:
        if isinstance(event, SessionOrderRequested):
            start = bars.get(event.signal_id)
            where = f"{event.symbol}@{start.isoformat() if start else event.signal_id}"
            leg = "close" if event.reduce_only else "entry"
            legs[event.order_id] = f"{where}:{leg}"
            for suffix, name in LEGS:
                legs[f"{event.order_id}{suffix}"] = f"{where}:{name}"
    out: Keyed = {}
    seen: dict[str, int] = {}
    for fill in fills:
        order = legs.get(fill.order_id)
        if order is None:
            continue  # not the session's (a manual order on the same account)
        rank = seen[order] = seen.get(order, 0) + 1
        out[f"{order}#{rank}"] = fill
    return out


def _delta(key: str, left: OrderFilledV2, right: OrderFilledV2) -> FillDelta:
    return FillDelta(
        key=key,
        symbol=left.symbol,
        side=str(left.side),
        left_ts=left.ts,
        right_ts=right.ts,
        seconds=(right.ts - left.ts).total_seconds(),
        left_price=left.price,
        right_price=right.price,
        price=right.price - left.price,
        quantity=right.quantity - left.quantity,
        fee=right.fee - left.fee,
        pnl=right.realized_pnl - left.realized_pnl,
    )


def _unmatched(key: str, fill: OrderFilledV2) -> Unmatched:
    return Unmatched(
        key=key,
        side=str(fill.side),
        symbol=fill.symbol,
        ts=fill.ts,
        price=fill.price,
        quantity=fill.quantity,
        fee=fill.fee,
    )


def _summary(
    left: PerformanceMetrics, right: PerformanceMetrics, limits: Thresholds
) -> list[SummaryDelta]:
    out: list[SummaryDelta] = []
    for metric in ("win_rate_pct", "average_r", "net_profit", "max_drawdown_pct"):
        a, b = getattr(left, metric), getattr(right, metric)
        threshold: Decimal = getattr(limits, metric)
        delta = None if a is None or b is None else b - a
        warn = (a is None) != (b is None) or (delta is not None and abs(delta) > threshold)
        out.append(
            SummaryDelta(
                metric=metric, left=a, right=b, delta=delta, threshold=threshold, warning=warn
            )
        )
    return out


def compare(
    names: tuple[str, str],
    fills: tuple[Keyed, Keyed],
    metrics: tuple[PerformanceMetrics, PerformanceMetrics],
    thresholds: Thresholds | None = None,
) -> Comparison:
    """The comparison of two runs' keyed fills and metrics (right minus left)."""
    left, right = fills
    matched = [_delta(k, left[k], right[k]) for k in left if k in right]
    return Comparison(
        left=names[0],
        right=names[1],
        matched=matched,
        only_left=[_unmatched(k, f) for k, f in left.items() if k not in right],
        only_right=[_unmatched(k, f) for k, f in right.items() if k not in left],
        summary=_summary(*metrics, thresholds or Thresholds()),
        fee_total=sum((d.fee for d in matched), ZERO),
        pnl_total=sum((d.pnl for d in matched), ZERO),
    )
