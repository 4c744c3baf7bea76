"""The /ws handler: authenticate at connect, then read the client's requests until it leaves.

The key is checked at connect: the socket is accepted, and a missing, unknown or revoked key
gets one fatal ``error`` (``unauthorized``) and close code 4401, a rate-limited key 4429 (a
browser sees neither an HTTP status nor a header of a refused handshake). Each request is
decoded as the contract's ``ClientMessage``; a malformed one or one for another account is
answered with ``error`` and the connection stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from papertape.contract.codec import Codec, encode
from papertape.contract.events.apikeys import ApiScope
from papertape.contract.sockets import (
    ClientMessage,
    Ping,
    Pong,
    RequestOpenPositions,
    RequestPerformanceMetrics,
    RequestPortfolioUpdate,
    RequestTradeHistory,
    SocketError,
    Subscribe,
    Unsubscribe,
)
from papertape.gateway.access.guards import presented_key
from papertape.gateway.access.limits import retry_after
from papertape.gateway.bus import Refused, ServiceUnavailable
from papertape.gateway.errors import field_of
from papertape.gateway.sockets.frames import frames_of
from papertape.gateway.sockets.session import Session
from papertape.gateway.state import gateway_of

_requests: Codec[ClientMessage] = Codec(ClientMessage)
UNAUTHORIZED = 4401
RATE_LIMITED = 4429


def socket_route() -> Any:
    """The /ws route handler."""

    @websocket("/ws")
    async def ws(socket: WebSocket[Any, Any, Any]) -> None:
        gateway = gateway_of(socket.app)
        assert gateway.hub is not None
        await socket.accept()
        key = await gateway.keys.authenticate(presented_key(socket) or "")
        if key is None or not key.allows(ApiScope.READ):
            await _refuse(
                socket, UNAUTHORIZED, "unauthorized", "the API key is missing, unknown or revoked"
            )
            return
        if (wait := gateway.limiter.take(key.key_id)) > 0:
            await _refuse(socket, RATE_LIMITED, "rate_limited", f"retry in {retry_after(wait)}s")
            return
        hub = gateway.hub
        session = Session(
            socket,
            key,
            gateway.services,
            gateway.settings.ws_buffer,
            followers=hub.followers,
            on_slow=hub.dropped,
            frames=frames_of(socket.scope),
        )
        hub.join(session)
        drain = asyncio.create_task(session.drain())
        session.confirm()
        try:
            while not drain.done():
                receiving = asyncio.ensure_future(socket.receive_text())
                done, _ = await asyncio.wait(
                    {receiving, drain}, return_when=asyncio.FIRST_COMPLETED
                )
                if receiving not in done:
                    receiving.cancel()
                    break
                text = receiving.result()
                wait = gateway.limiter.take(key.key_id)
                if wait > 0:
                    session.send(
                        SocketError(code="rate_limited", message=f"retry in {retry_after(wait)}s")
                    )
                    continue
                await _handle(session, text)
        except WebSocketDisconnect:
            pass
        finally:
            hub.leave(session)
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await drain

    return ws


async def _refuse(socket: WebSocket[Any, Any, Any], code: int, error: str, message: str) -> None:
    await socket.send_text(encode(SocketError(code=error, message=message, fatal=True)).decode())
    await socket.close(code=code, reason=error)


async def _handle(session: Session, text: str) -> None:
    try:
        request = _requests.decode(text)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        message = str(error)
        session.send(SocketError(code="invalid_request", message=message, field=field_of(message)))
        return
    try:
        await _answer(session, request)
    except Refused as refusal:
        session.send(SocketError(code=refusal.code, message=refusal.message))
    except ServiceUnavailable as error:
        session.send(SocketError(code="service_unavailable", message=str(error)))


async def _answer(session: Session, request: ClientMessage) -> None:
    match request:
        case Subscribe():
            await session.subscribe(request)
        case Unsubscribe():
            session.unsubscribe(request)
        case Ping(nonce=nonce):
            session.send(Pong(nonce=nonce, server_time=datetime.now(UTC)))
        case _:
            if (refusal := session.allowed(request.account_id)) is not None:
                session.send(refusal)
                return
            match request:
                case RequestPortfolioUpdate(account_id=account_id):
                    await session.portfolio(account_id)
                case RequestTradeHistory(account_id=account_id, limit=limit):
                    await session.trades(account_id, limit)
                case RequestOpenPositions(account_id=account_id):
                    await session.positions(account_id)
                case RequestPerformanceMetrics(account_id=account_id):
                    await session.performance(account_id)
