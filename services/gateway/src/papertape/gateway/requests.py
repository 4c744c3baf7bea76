"""The gateway's request: Litestar's, whose body is JSON sent as JSON, and whose body, path and
query may hold no NUL anywhere.

Litestar decodes a route's body as JSON whatever its ``Content-Type`` says (``text/plain``, a
form's ``application/x-www-form-urlencoded``, none at all): a body read is refused with 415
``unsupported_media_type`` unless it is sent as ``application/json`` (parameters such as
``; charset=utf-8`` aside, in any case) or a ``+json`` type. The check is in reading the body,
which every route with a body does and the placement lane does too, so a route that takes none
(resuming a session, resending a dead letter) is served with or without a Content-Type, as
before, and an empty body is told it is missing (400), not that it is of the wrong type.

The contract's codec refuses a NUL (``\\u0000``) in every message a service decodes (PostgreSQL
can store none); the gateway refuses it at its own edge too, so the caller gets 400 naming the
body's field or the parameter rather than the service's refusal of the command built from it
(which names the envelope's ``body.symbol``). The body's check is one substring search of the
body read, decoded again only when it finds the escape; a parameter's (``no_nul_parameters``,
the first guard of every route) is a substring search of the path and of the query string,
parsed again only when one holds ``%00``.

A JSON number past a float's range (``1e400``) is read as a Decimal: Litestar's untyped
decoding of the body would refuse it as ``Number out of range - at `$[...]``` naming no field,
where the body's own type refuses it naming the field and its bound.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import SerializationException, ValidationException
from litestar.handlers.base import BaseRouteHandler

from papertape.contract.codec import nul_in, nul_refusal
from papertape.gateway.errors import invalid, unsupported_media_type

_NUL = "\x00"
_ESCAPED_NUL = b"%00"
_OUT_OF_RANGE = "Number out of range"
_DECIMALS = msgspec.json.Decoder(float_hook=Decimal)
_JSON = "application/json"
_JSON_SUFFIX = "+json"
_APPLICATION = "application/"


def is_json(media_type: str) -> bool:
    """Whether a request's media type (lower case, without parameters) says its body is JSON:
    ``application/json``, or a type of JSON syntax (RFC 6839's ``application/*+json``)."""
    return media_type == _JSON or (
        media_type.startswith(_APPLICATION) and media_type.endswith(_JSON_SUFFIX)
    )


class GatewayRequest(Request[Any, Any, Any]):
    """A request whose body, once read, is known to be sent as JSON and to hold no NUL in a
    string or a key."""

    async def body(self) -> bytes:
        """The body as Litestar reads it (capped); 415 when one is sent as anything but JSON,
        ``ValidationException`` when a string of it holds a NUL."""
        body = await super().body()
        if body and not is_json(media_type := self.content_type[0]):
            raise unsupported_media_type(media_type)
        try:
            where = nul_in(body)
        except msgspec.DecodeError:
            return body  # not JSON: the route's decoding says what is wrong with it
        if where is not None:
            message = nul_refusal(where)
            field = where.removeprefix("$").removeprefix(".") or "data"
            raise ValidationException(detail=message, extra=[{"message": message, "key": field}])
        return body

    async def json(self) -> Any:
        """The body decoded as Litestar decodes it; a number past a float's range, a Decimal."""
        try:
            return await super().json()
        except SerializationException as error:
            if _OUT_OF_RANGE not in str(error):
                raise
            self._json = self._connection_state.json = _DECIMALS.decode(await self.body())
            return self._json


async def no_nul_parameters(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """Litestar guard: 400 ``invalid_request`` naming the path or query parameter that holds a
    NUL (``%00``), before any other guard or the parameter's own validation. A coroutine, though
    it awaits nothing: Litestar runs a plain function given as a guard in a worker thread, on
    every request (that cost a placement 0.05 ms of the gateway's CPU, about a sixth)."""
    if _NUL in connection.scope["path"]:
        for name, value in connection.path_params.items():
            if isinstance(value, str) and _NUL in value:
                raise invalid(f"the path parameter {name} may not hold a NUL character", name)
    if _ESCAPED_NUL in connection.scope.get("query_string", b""):
        for name, value in connection.query_params.multi_items():
            if _NUL in name or _NUL in value:
                field = name.replace(_NUL, "\\u0000")
                raise invalid(f"the query parameter {field} may not hold a NUL character", field)
