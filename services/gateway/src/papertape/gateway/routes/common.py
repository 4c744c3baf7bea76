"""What every route shares: the route decorators (scope, documented errors) and dependencies."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, delete, get, patch, post, put
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from papertape.contract.events.apikeys import ApiScope
from papertape.contract.ids import Actor, OrderId
from papertape.gateway.access.guards import OPERATOR, SCOPE, principal
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.errors import ApiError, invalid
from papertape.gateway.lane import LANE, Lane
from papertape.gateway.state import Gateway, gateway_of

_ACCOUNT = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")

_ERRORS: dict[int, tuple[str, ApiError]] = {
    400: (
        "the request is malformed (``field`` names what is wrong)",
        ApiError(
            code="invalid_request",
            message="amount must be 0 <= x <= 1E+12, got -5",
            field="amount",
        ),
    ),
    401: (
        "no API key, or an unknown or revoked one",
        ApiError(code="unauthorized", message="the API key is unknown or revoked"),
    ),
    403: (
        "the key lacks the scope, or is for another account",
        ApiError(code="forbidden", message="the key is not for account alice"),
    ),
    404: (
        "no such account, order or position",
        ApiError(code="unknown_account", message="no account 'alice'"),
    ),
    409: (
        "the account or the id exists already",
        ApiError(code="account_already_open", message="account is open already"),
    ),
    413: (
        "the body is over the gateway's cap",
        ApiError(code="payload_too_large", message="Request Entity Too Large"),
    ),
    422: (
        "the account refused the command (its reason code)",
        ApiError(
            code="insufficient_buying_power",
            message="order needs 21500.00, buying power is 10000.00",
        ),
    ),
    429: (
        "too many requests for this key (see Retry-After)",
        ApiError(code="rate_limited", message="too many requests for this key: retry in 1s"),
    ),
    503: (
        "a service did not answer (see Retry-After)",
        ApiError(
            code="service_unavailable",
            message="the portfolio service did not answer (TimeoutError)",
        ),
    ),
}
_BODY_ERRORS: dict[int, tuple[str, ApiError]] = {
    415: (
        "the body is not sent as application/json",
        ApiError(
            code="unsupported_media_type",
            message="the body is sent as text/plain: application/json is expected",
        ),
    ),
}


def _responses(errors: dict[int, tuple[str, ApiError]]) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=ApiError,
            description=description,
            generate_examples=False,
            examples=[Example(summary=example.code, value=msgspec.to_builtins(example))],
        )
        for status, (description, example) in errors.items()
    }


ERROR_RESPONSES = _responses(_ERRORS)
"""The errors every route documents."""
BODY_ERROR_RESPONSES = _responses(_ERRORS | _BODY_ERRORS)
"""The errors a route that takes a body documents: those, and its body sent as another type."""


def _gateway(request: Request[Any, Any, Any]) -> Gateway:
    return gateway_of(request.app)


def _key(request: Request[Any, Any, Any], gateway: Gateway) -> ApiKey:
    # ``gateway`` is not used: it makes the key a dependency of the gateway, so the two are
    # resolved one after the other. Litestar resolves independent dependencies side by side in
    # an anyio task group, a task each: a fifth of the gateway's CPU on a placement (py-spy).
    return principal(request)


DEPENDENCIES = {
    "gateway": Provide(_gateway, sync_to_thread=False),
    "key": Provide(_key, sync_to_thread=False),
}


def _route(
    maker: Any,
    path: str,
    scope: ApiScope,
    operator: bool,
    kwargs: dict[str, Any],
    lane: Lane | None = None,
) -> Callable[[Any], Any]:
    opt: dict[str, Any] = {SCOPE: str(scope), OPERATOR: operator}
    if lane is not None:
        opt[LANE] = lane

    def route(handler: Callable[..., Any]) -> Any:
        # A handler takes a body when it has Litestar's ``data`` parameter.
        takes_body = "data" in inspect.signature(handler).parameters
        responses = BODY_ERROR_RESPONSES if takes_body else ERROR_RESPONSES
        decorate = maker(path, opt=opt, responses=responses, security=[{"ApiKey": []}], **kwargs)
        return decorate(handler)

    return route


def reading(path: str, **kwargs: Any) -> Callable[[Any], Any]:
    """GET that needs the read scope."""
    return _route(get, path, ApiScope.READ, False, kwargs)


def acting(
    path: str,
    scope: ApiScope = ApiScope.TRADE,
    *,
    operator: bool = False,
    method: str = "post",
    lane: Lane | None = None,
    **kwargs: Any,
) -> Callable[[Any], Any]:
    """POST (or PUT, PATCH, DELETE) that needs ``scope`` (``lane``: served down that lane,
    ``papertape.gateway.lane``)."""
    makers = {"post": post, "put": put, "patch": patch, "delete": delete, "get": get}
    return _route(makers[method], path, scope, operator, kwargs, lane)


def actor(key: ApiKey) -> Actor:
    """Who the log records as the author of a request through the gateway."""
    return Actor(f"gateway:{key.key_id}")


def aware(moment: datetime | None, field: str) -> datetime | None:
    """A time from a query string, refused (400) without a timezone."""
    if moment is not None and moment.tzinfo is None:
        raise invalid(f"{field} must carry a timezone (…Z or +00:00)", field)
    return moment


def time_range(
    since: datetime | None, until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """``since`` and ``until`` from a query string: each with a timezone, in order (400)."""
    since, until = aware(since, "since"), aware(until, "until")
    if since is not None and until is not None and until < since:
        raise invalid("until must not be before since", "until")
    return since, until


def order_ref(order_id: str) -> OrderId:
    """An order id from a path, checked as the contract checks it (400 otherwise)."""
    if not 1 <= len(order_id) <= 200:
        raise invalid("order_id must be 1-200 characters", "order_id")
    return OrderId(order_id)


def account(account_id: str) -> str:
    """An account id from a path, checked before it reaches a subject (400 otherwise)."""
    if not _ACCOUNT.match(account_id):
        raise invalid("account_id must be 1-64 letters, digits, _ or -", "account_id")
    return account_id
