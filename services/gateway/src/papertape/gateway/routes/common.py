"""What every route shares: the route decorators (scope, documented errors) and dependencies."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from litestar import Request, delete, get, patch, post, put
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec

from papertape.contract.events.apikeys import ApiScope
from papertape.contract.ids import Actor
from papertape.gateway.access.guards import OPERATOR, SCOPE, principal
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.errors import ApiError, invalid
from papertape.gateway.state import Gateway, gateway_of

_ACCOUNT = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")

_ERRORS = {
    400: "invalid_request: the request is malformed (``field`` names what is wrong)",
    401: "unauthorized: no API key, or an unknown or revoked one",
    403: "forbidden: the key lacks the scope, or is for another account",
    404: "not_found: no such account, order or position",
    409: "conflict: the account or id exists already",
    413: "payload_too_large: the body is over the gateway's cap",
    422: "the account refused the command (its reason code)",
    429: "rate_limited: too many requests for this key (see Retry-After)",
    503: "service_unavailable: a service did not answer (see Retry-After)",
}
ERROR_RESPONSES: dict[int, ResponseSpec] = {
    status: ResponseSpec(
        data_container=ApiError,
        description=description,
        generate_examples=False,
    )
    for status, description in _ERRORS.items()
}


def _gateway(request: Request[Any, Any, Any]) -> Gateway:
    return gateway_of(request.app)


def _key(request: Request[Any, Any, Any]) -> ApiKey:
    return principal(request)


DEPENDENCIES = {
    "gateway": Provide(_gateway, sync_to_thread=False),
    "key": Provide(_key, sync_to_thread=False),
}


def _route(
    maker: Any, path: str, scope: ApiScope, operator: bool, kwargs: dict[str, Any]
) -> Callable[[Any], Any]:
    opt = {SCOPE: str(scope), OPERATOR: operator}
    return maker(path, opt=opt, responses=ERROR_RESPONSES, security=[{"ApiKey": []}], **kwargs)  # type: ignore[no-any-return]


def reading(path: str, **kwargs: Any) -> Callable[[Any], Any]:
    """GET that needs the read scope."""
    return _route(get, path, ApiScope.READ, False, kwargs)


def acting(
    path: str,
    scope: ApiScope = ApiScope.TRADE,
    *,
    operator: bool = False,
    method: str = "post",
    **kwargs: Any,
) -> Callable[[Any], Any]:
    """POST (or PUT, PATCH, DELETE) that needs ``scope``."""
    makers = {"post": post, "put": put, "patch": patch, "delete": delete, "get": get}
    return _route(makers[method], path, scope, operator, kwargs)


def actor(key: ApiKey) -> Actor:
    """Who the log records as the author of a request through the gateway."""
    return Actor(f"gateway:{key.key_id}")


def aware(moment: datetime | None, field: str) -> datetime | None:
    """A time from a query string, refused (400) without a timezone."""
    if moment is not None and moment.tzinfo is None:
        raise invalid(f"{field} must carry a timezone (…Z or +00:00)", field)
    return moment


def account(account_id: str) -> str:
    """An account id from a path, checked before it reaches a subject (400 otherwise)."""
    if not _ACCOUNT.match(account_id):
        raise invalid("account_id must be 1-64 letters, digits, _ or -", "account_id")
    return account_id
