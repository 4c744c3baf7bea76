"""One error shape for every 4xx and 5xx: a code, a message and, for validation, the field.

Every exception a handler raises becomes an ``ApiError`` body here: a refusal by a service
keeps the service's code (``insufficient_buying_power``, ``unknown_account``), a request the
gateway could not validate is ``invalid_request`` naming the field, a service that did not
answer is 503 ``service_unavailable`` with ``Retry-After``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from papertape.contract.events.envelope import ReplyErrorCode
from papertape.contract.events.orders import RejectReason
from papertape.gateway.bus import Refused, ServiceUnavailable

log = logging.getLogger("papertape.gateway")


class ApiError(msgspec.Struct, frozen=True, kw_only=True):
    """The body of every error response."""

    code: str
    """Machine-readable: ``invalid_request``, ``unauthorized``, ``forbidden``, ``not_found``,
    ``rate_limited``, ``payload_too_large``, ``unsupported_media_type``, ``service_unavailable``,
    or a service's own code (an account's ``RejectReason``, a reply's ``ReplyErrorCode``)."""
    message: str
    field: str | None = None
    """The request field that was wrong (validation errors only)."""


class ApiException(HTTPException):
    """An error with a code of its own, raised by the gateway's handlers and guards."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=message, status_code=status_code, headers=headers)
        self.code = code
        self.message = message
        self.field = field


def invalid(message: str, field: str | None = None) -> ApiException:
    """400 ``invalid_request``."""
    return ApiException(HTTP_400_BAD_REQUEST, "invalid_request", message, field=field)


def not_found(message: str) -> ApiException:
    """404 ``not_found``."""
    return ApiException(HTTP_404_NOT_FOUND, "not_found", message)


def unsupported_media_type(sent: str) -> ApiException:
    """415 ``unsupported_media_type``: a body sent as ``sent`` (a media type, or "" for none)."""
    as_sent = f"as {sent}" if sent else "with no Content-Type"
    message = f"the body is sent {as_sent}: application/json is expected"
    return ApiException(HTTP_415_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)


_CONFLICTS = {
    RejectReason.ACCOUNT_ALREADY_OPEN,
    RejectReason.DUPLICATE_CLIENT_ORDER_ID,
    "duplicate_request",
}
_NOT_FOUND = {
    ReplyErrorCode.UNKNOWN_ACCOUNT,
    RejectReason.UNKNOWN_ORDER,
    RejectReason.UNKNOWN_SYMBOL,
    RejectReason.NO_POSITION,
    "unknown_session",
    "unknown_rule",
    "unknown_endpoint",
    "unknown_delivery",
}
_BAD = {ReplyErrorCode.MALFORMED_REQUEST}
_UNAVAILABLE = {ReplyErrorCode.NO_BAR_STORE, ReplyErrorCode.NO_MARKET_PRICE}


def status_of_refusal(code: str) -> int:
    """The HTTP status of a service's refusal code."""
    if code in _CONFLICTS:
        return HTTP_409_CONFLICT
    if code in _NOT_FOUND:
        return HTTP_404_NOT_FOUND
    if code in _BAD:
        return HTTP_400_BAD_REQUEST
    if code == ReplyErrorCode.INTERNAL_ERROR:
        return HTTP_500_INTERNAL_SERVER_ERROR
    if code in _UNAVAILABLE:
        return HTTP_404_NOT_FOUND
    return HTTP_422_UNPROCESSABLE_ENTITY


_FIELD = re.compile(
    r"(?:at `\$\.?(?P<at>[\w.\[\]]*)`|^(?P<bounded>\w+) must |field `(?P<f>\w+)`"
    r"|^(?P<valued>\w+) \S+ is (?:not a (?:positive )?multiple of|on the wrong side of) "
    r"|^(?P<past>\w+) is in the past)"
)


def field_of(message: str) -> str | None:
    """The field a validation message or an account's refusal names (msgspec's ``at `$.x```, a
    bound's ``x must``, an order's ``limit_price 1.001 is not a positive multiple of the tick``,
    ``stop_loss 120 is on the wrong side of 100``, ``expire_at is in the past``)."""
    match = _FIELD.search(message)
    if match is None:
        return None
    return match["at"] or match["bounded"] or match["f"] or match["valued"] or match["past"] or None


def _body(error: ApiError, status: int, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content=error, status_code=status, headers=headers, media_type="application/json"
    )


def on_validation(_request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's own validation errors (path, query, body) in the one shape."""
    message = str(exc.detail)
    field: str | None = None
    if isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0]
        if isinstance(first, dict):
            message = str(first.get("message", message))
            key = first.get("key")
            # A body's own error names its field in the message; the key is then just "data".
            field = field_of(message) or (str(key) if key else None)
            if key == "data" and message == "'data'":  # Litestar's KeyError: no body at all
                message = "the request has no body: a JSON object is expected"
    return _body(
        ApiError(code="invalid_request", message=message, field=field or field_of(message)),
        HTTP_400_BAD_REQUEST,
    )


_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def on_http(_request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Every HTTPException (the gateway's own and Litestar's) in the one shape."""
    if isinstance(exc, ApiException):
        error = ApiError(code=exc.code, message=exc.message, field=exc.field)
    else:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        error = ApiError(code=code, message=str(exc.detail))
    return _body(error, exc.status_code, dict(exc.headers or {}))


def on_refused(_request: Request[Any, Any, Any], exc: Refused) -> Response[Any]:
    """A service's refusal: its code, at the status it stands for."""
    error = ApiError(code=exc.code, message=exc.message, field=field_of(exc.message))
    return _body(error, status_of_refusal(exc.code))


def on_unavailable(retry_after_s: int) -> Any:
    """503 with Retry-After when a service does not answer."""

    def handle(_request: Request[Any, Any, Any], exc: ServiceUnavailable) -> Response[Any]:
        error = ApiError(code="service_unavailable", message=str(exc))
        return _body(error, HTTP_503_SERVICE_UNAVAILABLE, {"Retry-After": str(retry_after_s)})

    return handle


def on_value_error(_request: Request[Any, Any, Any], exc: ValueError) -> Response[Any]:
    """A command built out of the contract's bounds (the body was fine, the command is not)."""
    message = str(exc)
    error = ApiError(code="invalid_request", message=message, field=field_of(message))
    return _body(error, HTTP_400_BAD_REQUEST)


def on_too_deep(_request: Request[Any, Any, Any], _exc: RecursionError) -> Response[Any]:
    """A body nested deeper than the decoder goes (thousands of brackets): refused, not a 500."""
    error = ApiError(code="invalid_request", message="the body is nested too deeply")
    return _body(error, HTTP_400_BAD_REQUEST)


def on_internal(_request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything else: 500, logged, with no detail that would leak internals."""
    log.exception("unhandled error", exc_info=exc)
    error = ApiError(code="internal_error", message="the gateway failed handling this request")
    return _body(error, HTTP_500_INTERNAL_SERVER_ERROR)
