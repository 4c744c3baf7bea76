"""The account's orders over its whole history, folded from its events (a report: pure).

The state keeps only the orders still working; a trader also asks what was filled, cancelled,
refused and expired. Each order's record is built from its own events in stream order: placed
(or rejected), its fills (quantity, volume-weighted price, fees), then how it ended. An order
that neither filled completely nor was cancelled or expired, and is not working any more, was
ended by an account reset (a reset starts a fresh book).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import msgspec

from papertape.contract import precision
from papertape.contract.codec import upcast
from papertape.contract.events.account import (
    AccountEvent,
    AccountReset,
    OrderCancelled,
    OrderExpired,
    OrderFilledV2,
    OrderPlaced,
    OrderRejected,
)
from papertape.contract.events.portfolio import GetOrders
from papertape.contract.events.reports import (
    OrderHistory,
    OrderPage,
    OrderRecord,
    OrderStatus,
)
from papertape.contract.instruments import instrument_for
from papertape.trading.account.quantization import optional

ZERO = Decimal(0)
RESET = "ended by an account reset"
GONE = "no longer working"


@dataclass
class _Draft:
    record: OrderRecord
    notional: Decimal = ZERO
    fills: list[OrderFilledV2] = field(default_factory=list)
    ended: bool = False


def _placed(event: OrderPlaced) -> _Draft:
    return _Draft(
        OrderRecord(
            order_id=event.order_id,
            client_order_id=event.client_order_id,
            symbol=event.symbol,
            side=event.side,
            quantity=event.quantity,
            order_type=event.order_type,
            limit_price=event.limit_price,
            stop_price=event.stop_price,
            time_in_force=event.time_in_force,
            role=event.role,
            source=event.source,
            reduce_only=event.reduce_only,
            status=OrderStatus.WORKING,
            placed_at=event.ts,
            updated_at=event.ts,
        )
    )


def _rejected(event: OrderRejected) -> _Draft:
    record = OrderRecord(
        order_id=event.order_id,
        client_order_id=event.client_order_id,
        symbol=event.symbol,
        side=event.side,
        quantity=event.quantity,
        status=OrderStatus.REJECTED,
        placed_at=event.ts,
        updated_at=event.ts,
        reason_code=str(event.reason_code),
        reason=event.message,
    )
    return _Draft(record, ended=True)


def _filled(draft: _Draft, fill: OrderFilledV2) -> None:
    record = draft.record
    draft.notional += fill.price * fill.quantity
    draft.fills.append(fill)
    done = record.filled_quantity + fill.quantity
    draft.record = replace_record(
        record,
        filled_quantity=done,
        average_price=draft.notional / done,
        fees=record.fees + fill.fee,
        fills=record.fills + 1,
        updated_at=fill.ts,
        status=OrderStatus.FILLED if fill.order_remaining <= 0 else record.status,
    )
    draft.ended = fill.order_remaining <= 0


def _ended(draft: _Draft, status: OrderStatus, at: datetime, reason: str) -> None:
    if not draft.ended:
        draft.record = replace_record(draft.record, status=status, updated_at=at, reason=reason)
        draft.ended = True


def replace_record(record: OrderRecord, **changes: object) -> OrderRecord:
    """The record with ``changes`` (a frozen struct's copy)."""
    return msgspec.structs.replace(record, **changes)


def _drafts(events: Iterable[AccountEvent], working: Collection[str]) -> dict[str, _Draft]:
    drafts: dict[str, _Draft] = {}
    for stored in events:
        event = upcast(stored)
        if isinstance(event, OrderPlaced):
            drafts[event.order_id] = _placed(event)
        elif isinstance(event, OrderRejected):
            drafts[event.order_id] = _rejected(event)
        elif isinstance(event, AccountReset):
            for earlier in drafts.values():
                if earlier.record.order_id not in working:
                    _ended(earlier, OrderStatus.CANCELLED, event.ts, RESET)
        elif isinstance(event, OrderFilledV2 | OrderCancelled | OrderExpired):
            # An event of an order this history does not hold (none should) is passed over.
            if (found := drafts.get(event.order_id)) is None:
                continue
            if isinstance(event, OrderFilledV2):
                _filled(found, event)
            elif isinstance(event, OrderCancelled):
                _ended(found, OrderStatus.CANCELLED, event.ts, event.reason)
            else:
                _ended(found, OrderStatus.EXPIRED, event.ts, event.reason)
    for left in drafts.values():
        if not left.ended and left.record.order_id not in working:
            _ended(left, OrderStatus.CANCELLED, left.record.updated_at, GONE)
    return drafts


def _shown(record: OrderRecord) -> OrderRecord:
    """Numbers at their precision: prices at the tick, quantities at the lot, fees in money."""
    symbol = record.symbol

    def price(amount: Decimal | None) -> Decimal | None:
        return optional(amount, lambda p: precision.price(p, symbol))

    return replace_record(
        record,
        quantity=precision.quantity(record.quantity, symbol),
        limit_price=price(record.limit_price),
        stop_price=price(record.stop_price),
        filled_quantity=precision.quantity(record.filled_quantity, symbol),
        average_price=price(record.average_price),
        fees=precision.money(record.fees, instrument_for(symbol).quote_currency),
    )


def order_records(events: Iterable[AccountEvent], working: Collection[str]) -> list[OrderRecord]:
    """Every order of the history, newest first (``working``: the ids the state still works)."""
    records = [_shown(d.record) for d in _drafts(events, working).values()]
    return sorted(records, key=lambda r: (r.placed_at, r.order_id), reverse=True)


def order_page(records: list[OrderRecord], query: GetOrders) -> OrderPage:
    """The page of ``records`` the query asks for."""
    chosen = [
        r
        for r in records
        if (query.status is None or r.status is query.status)
        and (query.symbol is None or r.symbol == query.symbol)
        and (query.side is None or r.side is query.side)
        and (query.order_type is None or r.order_type is query.order_type)
        and (query.since is None or r.placed_at >= query.since)
        and (query.until is None or r.placed_at < query.until)
    ]
    page = chosen[query.offset : query.offset + query.limit]
    return OrderPage(orders=page, total=len(chosen), offset=query.offset)


def order_history(
    events: Iterable[AccountEvent], working: Collection[str], order_id: str
) -> OrderHistory | None:
    """One order with its fills (None: the history holds no such order)."""
    draft = _drafts(events, working).get(order_id)
    if draft is None:
        return None
    return OrderHistory(order=_shown(draft.record), fills=draft.fills)
