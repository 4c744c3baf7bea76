"""Which socket messages an account event becomes, on which channel."""

from __future__ import annotations

from decimal import Decimal

from papertape.contract.codec import upcast
from papertape.contract.events.account import (
    AccountEvent,
    OrderCancelled,
    OrderExpired,
    OrderFilledV2,
    OrderPlaced,
    OrderRejected,
    OrderTriggered,
    PositionClosed,
    PositionMarked,
)
from papertape.contract.events.envelope import Envelope
from papertape.contract.ids import AccountId, Symbol
from papertape.contract.sockets import (
    Channel,
    OrderUpdate,
    PortfolioUpdate,
    PositionUpdated,
    SocketMessage,
    TradeExecuted,
)

ORDER_EVENTS = (OrderPlaced, OrderRejected, OrderCancelled, OrderExpired, OrderTriggered)

Routed = list[tuple[Channel, SocketMessage]]


def account_of(envelope: Envelope[AccountEvent]) -> AccountId:
    return envelope.data.account_id


def messages_for(envelope: Envelope[AccountEvent]) -> Routed:
    """The socket messages an account event is sent as, each with its channel."""
    event = upcast(envelope.data)  # a stored v1 fill is sent as the current version
    account_id, version = event.account_id, envelope.stream_version
    position, at = envelope.position, envelope.occurred_at

    def portfolio() -> PortfolioUpdate:
        return PortfolioUpdate(
            account_id=account_id,
            stream_version=version,
            position=position,
            occurred_at=at,
            event=event,
        )

    def order() -> OrderUpdate:
        return OrderUpdate(
            account_id=account_id,
            stream_version=version,
            position=position,
            occurred_at=at,
            event=event,
        )

    def moved(symbol: Symbol, quantity: Decimal | None) -> PositionUpdated:
        return PositionUpdated(
            account_id=account_id,
            stream_version=version,
            position=position,
            occurred_at=at,
            symbol=symbol,
            quantity=quantity,
            event=event,
        )

    if isinstance(event, ORDER_EVENTS):
        return [(Channel.ORDERS, order())]
    if isinstance(event, OrderFilledV2):
        fill = TradeExecuted(
            account_id=account_id,
            stream_version=version,
            position=position,
            occurred_at=at,
            event=event,
        )
        return [
            (Channel.FILLS, fill),
            (Channel.ORDERS, order()),
            (Channel.POSITIONS, moved(event.symbol, event.position_quantity)),
            (Channel.ACCOUNT, portfolio()),
        ]
    if isinstance(event, PositionClosed):
        return [
            (Channel.POSITIONS, moved(event.symbol, Decimal(0))),
            (Channel.ACCOUNT, portfolio()),
        ]
    if isinstance(event, PositionMarked):
        return [(Channel.POSITIONS, moved(event.symbol, None))]
    return [(Channel.ACCOUNT, portfolio())]
