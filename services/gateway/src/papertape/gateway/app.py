"""The Litestar application: routes, the one guard, the one error shape, OpenAPI at /schema."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from papertape.common.telemetry.tracing import extract_context
from papertape.gateway import errors
from papertape.gateway.access.guards import authorize
from papertape.gateway.bus import Refused, ServiceUnavailable
from papertape.gateway.dashboard.routes import dashboard_routes
from papertape.gateway.lane import lanes
from papertape.gateway.requests import GatewayRequest, no_nul_parameters
from papertape.gateway.routes.accounts import AccountsController
from papertape.gateway.routes.deadletters import DeadLettersController
from papertape.gateway.routes.keys import KeysController
from papertape.gateway.routes.market import MarketController
from papertape.gateway.routes.notifications import NotificationsController
from papertape.gateway.routes.operations import operations
from papertape.gateway.routes.orders import OrdersController
from papertape.gateway.routes.sessions import (
    SessionsController,
    SignalsController,
    StrategiesController,
)
from papertape.gateway.routes.trades import TradesController
from papertape.gateway.state import STATE_KEY, Gateway

API_VERSION = "1.0.0"
DESCRIPTION = """The HTTP API of papertape, an event-sourced paper-trading platform.

Every request but /health, /ready, /metrics and /schema needs an API key
(`Authorization: Bearer <key>` or `X-API-Key: <key>`). A key has scopes (read < trade < admin)
and belongs to one account (or, for an operator's admin key, to every account). Every error has
the same body: `{"code": ..., "message": ..., "field": ...}`.
"""


_TRACE_HEADERS = (b"traceparent", b"tracestate")


def measured(gateway: Gateway) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware: count and time every HTTP request by method, route and status, each in
    a server span (continuing the caller's trace when it sends a ``traceparent``)."""
    metrics = gateway.metrics
    tracer = trace.get_tracer("papertape.gateway")

    def middleware(app: ASGIApp) -> ASGIApp:
        async def run(scope: Scope, receive: Receive, send: Send) -> None:
            if str(scope["type"]) != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500
            method = str(scope.get("method", ""))
            headers = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in scope.get("headers", ())
                if k in _TRACE_HEADERS
            }
            # No trace sent: the span starts a trace of its own (the request's task runs in a
            # context with no span), with no empty carrier to extract.
            parent = extract_context(headers) if headers else None

            async def sending(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            with tracer.start_as_current_span(method, context=parent, kind=SpanKind.SERVER) as span:
                try:
                    await app(scope, receive, sending)
                finally:
                    route = str(scope.get("path_template") or "unmatched")
                    if span.is_recording():  # a span exported: named and described
                        span.update_name(f"{method} {route}")
                        span.set_attribute("http.route", route)
                        span.set_attribute("http.response.status_code", status)
                    metrics.answered(method, route, status, time.perf_counter() - started)

        return run

    return middleware


def build_app(
    gateway: Gateway, registry: CollectorRegistry, extra: list[Any] | None = None
) -> Litestar:
    """The application for a wired gateway (``extra``: more route handlers, the socket)."""

    openapi = OpenAPIConfig(
        title="papertape gateway",
        version=API_VERSION,
        description=DESCRIPTION,
        path="/schema",
        render_plugins=[JsonRenderPlugin(), SwaggerRenderPlugin()],
        components=Components(
            security_schemes={
                "ApiKey": SecurityScheme(type="http", scheme="bearer", description="an API key")
            }
        ),
        create_examples=False,
    )
    handlers: list[Any] = [
        AccountsController,
        TradesController,
        OrdersController,
        MarketController,
        KeysController,
        StrategiesController,
        SessionsController,
        SignalsController,
        DeadLettersController,
        NotificationsController,
        *operations(gateway, registry),
        *dashboard_routes(),
        *(extra or []),
    ]
    config = AppConfig(
        route_handlers=handlers,
        guards=[no_nul_parameters, authorize],
        openapi_config=openapi,
        state=State({STATE_KEY: gateway}),
        request_max_body_size=gateway.settings.max_body_bytes,
        request_class=GatewayRequest,
        exception_handlers={
            ValidationException: errors.on_validation,
            HTTPException: errors.on_http,
            Refused: errors.on_refused,
            ServiceUnavailable: errors.on_unavailable(gateway.settings.retry_after_s),
            ValueError: errors.on_value_error,
            RecursionError: errors.on_too_deep,
            Exception: errors.on_internal,
        },
        middleware=[measured(gateway), lanes(gateway)],
    )
    return Litestar.from_config(config)
