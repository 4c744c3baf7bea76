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
- the lane's function (the one the route handler calls too), its ``Response`` sent through the
  route handler as Litestar sends it, and any exception turned into the one error shape by
  Litestar's own exception middleware with the route's handlers.

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
from litestar.handlers import HTTPRouteHandler

# Litestar's own middleware, as it wraps every route: the same handlers, logging and hooks.
from litestar.middleware._internal.exceptions.middleware import ExceptionHandlerMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

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


def lanes(gateway: Gateway) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware (inside ``measured``): a request to a route with a lane goes down it."""

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
