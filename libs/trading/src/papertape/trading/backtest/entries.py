"""Entries that rest in the venue (``FillAt.BAR_PATH``).

A session asks for a market entry; on the bar path the backtest places it as a limit at the
signal's entry price instead, good till the end of the bar after the signal, so the venue's
own path model decides whether and where it fills. The venue expires what the path never
reached; the account records ``OrderExpired`` and the session ``SessionOrderExpired``
(``requests.entry_expired``, as the signal service records it), which frees the symbol and
tells the strategy it holds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from papertape.contract.events.account import PlaceOrder
from papertape.contract.events.orders import OrderType, TimeInForce
from papertape.contract.events.sessions import SessionOrderRequested
from papertape.contract.events.signals import SignalGenerated


def resting_entry(
    command: PlaceOrder,
    order: SessionOrderRequested,
    events: Sequence[object],
    until: datetime,
) -> PlaceOrder:
    """The entry as a limit at its signal's entry price, good till ``until`` (a signal with no
    entry price, or a close, is left a market order)."""
    if order.reduce_only:
        return command
    price = next(
        (
            e.entry
            for e in events
            if isinstance(e, SignalGenerated) and e.signal_id == order.signal_id
        ),
        None,
    )
    if price is None:
        return command
    return msgspec.structs.replace(
        command,
        order_type=OrderType.LIMIT,
        limit_price=price,
        time_in_force=TimeInForce.GTD,
        expire_at=until,
    )
