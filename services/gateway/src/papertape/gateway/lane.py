"""Lanes: the hottest route, placing an order, served past Litestar's per-request machinery,
with the same guard, validation, errors and documentation.

Through Litestar alone a placement paid more for the machinery around its handler than for its
own work (py-spy under ``bench/gateway_bench.py``): a signature model over every argument, the
dependencies, the response built through its layers. A route marked with a ``Lane``
(``acting(..., lane=...)``) is still routed, documented (OpenAPI) and body-capped by Litestar;
this middleware then serves it itself:

- the route's own guards (key, rate limit, scope, account), which note the key on the request;
- the body as Litestar reads it (``Request.body``, its cap), decoded straight into the lane's
  body type, not strict, as Litestar's signature model converts it (``msgspec.convert`` of
  what ``Request.json`` decoded: a pass over the body and a dict less);
- the lane's function (the one the route handler calls too), its ``Response`` sent as Litestar
  sends it: when no layer adds to a response (no ``after_request`` hook, response headers,
  cookies, return DTO or background task) and the response is a plain JSON one, its content is
  encoded with the route's own serializer and sent as the two ASGI messages Litestar's
  ``ASGIResponse`` sends, the same bytes without building a ``Response``'s ASGI response through
  its layers (else through the route handler, as Litestar does); any exception is turned into
  the one error shape by Litestar's own exception middleware with the route's handlers.

A body that does not decode or convert goes on to the route itself, so that Litestar words
the error: the body read stays on the request's scope, and the guard, having run, lets
the request through without taking a second token from the key's rate limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import msgspec
from litestar import Response
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler

# Litestar's own middleware, as it wraps every route: the same handlers, logging and hooks.
from litestar.middleware._internal.exceptions.middleware import ExceptionHandlerMiddleware
from litestar.serialization import encode_json, get_serializer
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
    Serializer,
)

from papertape.gateway.access.guards import principal
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.state import Gateway

LANE = "lane"
"""The key of a route handler's ``opt`` that names its lane."""

Serve = Callable[[Gateway, ApiKey, str, Any], Awaitable[Response[Any]]]


@dataclass(frozen=True)
class Lane:
    """How a lane serves its route: the body's type and the function that answers it (given
    the gateway, the key, the path's ``account_id`` and the body)."""

    body: type[Any]
    serve: Serve

    @cached_property
    def decoder(self) -> msgspec.json.Decoder[Any]:
        """The body's decoder, built once."""
        return msgspec.json.Decoder(self.body, strict=False)


_JSON = MediaType.JSON.value
_CONTENT_TYPE = (b"content-type", _JSON.encode("latin-1"))


def plain_serializer(handler: HTTPRouteHandler) -> Serializer | None:
    """The route's serializer when no layer of the route adds to a response it sends (then a
    plain JSON response is its content encoded, with its own headers), else None."""
    if (
        any(layer.after_request for layer in handler.ownership_layers)
        or handler.resolve_response_headers()
        or handler.resolve_response_cookies()
        or handler.resolve_return_dto()
        or handler.background is not None
        or handler.resolve_response_class() is not Response
        or handler.media_type not in ("", _JSON)  # unset: JSON, as Litestar takes it
    ):
        return None
    return get_serializer(handler.resolve_type_encoders())


async def send_plain(response: Response[Any], serializer: Serializer, send: Send) -> bool:
    """Send ``response`` as Litestar's ``ASGIResponse`` would when it is a plain JSON one (no
    cookies, background task, encoders or media type of its own, a status with a body): True
    when sent, False when it is not plain (nothing sent)."""
    status = response.status_code
    if (
        status is None  # the route's status, as Litestar would take it: not here
        or status < 200
        or status in (204, 304)
        or type(response) is not Response
        or response.cookies
        or response.background is not None
        or response.response_type_encoders
        or response.media_type not in (None, _JSON)
        or isinstance(response.content, bytes | str)
    ):
        return False
    body = encode_json(response.content, serializer)
    headers = [
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()),
        _CONTENT_TYPE,
        (b"content-length", str(len(body)).encode("latin-1")),
    ]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    whole: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(whole)
    return True


def lanes(gateway: Gateway) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware (inside ``measured``): a request to a route with a lane goes down it."""

    plain: dict[HTTPRouteHandler, Serializer | None] = {}

    def middleware(app: ASGIApp) -> ASGIApp:
        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            handler = scope["route_handler"]
            assert isinstance(handler, HTTPRouteHandler)
            lane: Lane = handler.opt[LANE]
            request = handler.resolve_request_class()(scope=scope, receive=receive, send=send)
            for guard in handler.resolve_guards():
                if (checking := guard(request, handler)) is not None:
                    await checking
            body = await request.body()  # a body over the cap is refused here, as by the route
            try:
                data = lane.decoder.decode(body)
            except Exception:  # not JSON, or not the body: the route says which
                await app(scope, receive, send)  # the route words the error, from the body kept
                return
            account_id = str(request.path_params["account_id"])
            response = await lane.serve(gateway, principal(request), account_id, data)
            if handler not in plain:
                plain[handler] = plain_serializer(handler)
            serializer = plain[handler]
            if serializer is not None and await send_plain(response, serializer, send):
                return
            asgi = await handler.to_response(scope["litestar_app"], response, request)
            await asgi(scope, receive, send)

        served = ExceptionHandlerMiddleware(serve, debug=None)

        async def run(scope: Scope, receive: Receive, send: Send) -> None:
            handler = scope.get("route_handler")
            if str(scope["type"]) == "http" and handler is not None and LANE in handler.opt:
                await served(scope, receive, send)
            else:
                await app(scope, receive, send)

        return run

    return middleware
