"""The gateway's request: Litestar's, whose body may hold no NUL in any string.

The contract's codec refuses a NUL (``\\u0000``) in every message a service decodes (PostgreSQL
can store none); the gateway refuses it at its own edge too, so the caller gets 400 naming the
body's field rather than the service's refusal of the command built from it. The check is one
substring search of the body read; the body is decoded again only when it finds the escape.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from papertape.contract.codec import nul_in, nul_refusal


class GatewayRequest(Request[Any, Any, Any]):
    """A request whose body, once read, is known to hold no NUL in a string or a key."""

    async def body(self) -> bytes:
        """The body as Litestar reads it (capped); ``ValidationException`` when a string of
        it holds a NUL."""
        body = await super().body()
        try:
            where = nul_in(body)
        except msgspec.DecodeError:
            return body  # not JSON: the route's decoding says what is wrong with it
        if where is not None:
            message = nul_refusal(where)
            field = where.removeprefix("$").removeprefix(".") or "data"
            raise ValidationException(detail=message, extra=[{"message": message, "key": field}])
        return body
