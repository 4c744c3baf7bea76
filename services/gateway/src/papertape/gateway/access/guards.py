"""The one guard on every route and the socket: key, rate limit, scope, account.

A handler declares what it needs in its ``opt``: ``scope`` (read, trade or admin; none: a
public route such as /health), and ``operator`` when only an admin key for every account may
call it. A route with an ``account_id`` path parameter is refused (403) to a key of another
account. The key comes in ``Authorization: Bearer <key>`` or ``X-API-Key`` (a browser's
WebSocket, which cannot set headers, may pass ``?api_key=``).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.status_codes import (
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_429_TOO_MANY_REQUESTS,
)

from papertape.contract.events.apikeys import ApiScope
from papertape.gateway.access.keys import ApiKey
from papertape.gateway.access.limits import retry_after
from papertape.gateway.errors import ApiException
from papertape.gateway.state import Gateway, gateway_of

PRINCIPAL = "principal"
SCOPE = "scope"
OPERATOR = "operator"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="papertape"'}


def presented_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The key a request presents, if any."""
    header = connection.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    key = connection.headers.get("x-api-key") or None
    if key is None and str(connection.scope["type"]) == "websocket":
        key = connection.query_params.get("api_key") or None
    return key


def unauthorized(message: str) -> ApiException:
    return ApiException(HTTP_401_UNAUTHORIZED, "unauthorized", message, headers=_CHALLENGE)


def forbidden(message: str) -> ApiException:
    return ApiException(HTTP_403_FORBIDDEN, "forbidden", message)


async def authorize(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Litestar guard: 401, 429 or 403, or the key stored as the connection's principal."""
    scope = handler.opt.get(SCOPE)
    state = _state(connection)
    if scope is None or isinstance(state.get(PRINCIPAL), ApiKey):
        return  # a public route, or a request a lane has authorized already
    gateway = gateway_of(connection.app)
    key = await authenticate(gateway, presented_key(connection))
    wait = gateway.limiter.take(key.key_id)
    if wait > 0:
        gateway.metrics.rate_limited.inc()
        raise ApiException(
            HTTP_429_TOO_MANY_REQUESTS,
            "rate_limited",
            f"too many requests for this key: retry in {retry_after(wait)}s",
            headers={"Retry-After": retry_after(wait)},
        )
    check(key, ApiScope(scope), connection.path_params.get("account_id"))
    if handler.opt.get(OPERATOR) and not key.operator:
        raise forbidden("only an operator's admin key (for every account) may do this")
    state[PRINCIPAL] = key


async def authenticate(gateway: Gateway, presented: str | None) -> ApiKey:
    """The live key presented, or 401."""
    if presented is None:
        raise unauthorized("an API key is required (Authorization: Bearer <key>)")
    key = await gateway.keys.authenticate(presented)
    if key is None:
        raise unauthorized("the API key is unknown or revoked")
    return key


def check(key: ApiKey, scope: ApiScope, account_id: str | None) -> None:
    """403 unless the key has ``scope`` and may reach ``account_id`` (when one is named)."""
    if not key.allows(scope):
        raise forbidden(f"the key lacks the {scope} scope")
    if account_id is not None and not key.may_reach(account_id):
        raise forbidden(f"the key is not for account {account_id}")


def _state(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    """The connection's state (what ``connection.state`` wraps in a new ``State`` each time)."""
    state: dict[str, Any] = connection.scope.setdefault("state", {})
    return state


def principal(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey:
    """The key the guard accepted (a dependency of every guarded handler)."""
    key = _state(connection).get(PRINCIPAL)
    if not isinstance(key, ApiKey):
        raise unauthorized("an API key is required (Authorization: Bearer <key>)")
    return key
