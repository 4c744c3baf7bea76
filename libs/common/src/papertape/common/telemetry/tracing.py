"""OpenTelemetry tracing with the W3C trace context carried in NATS headers."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()


def configure_tracing(service: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """A tracer provider for the service; spans go to ``exporter`` when one is given."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"papertape-{service}"}))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def inject_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers with ``traceparent``/``tracestate`` of the current span added."""
    carrier = dict(headers or {})
    _propagator.inject(carrier)
    return carrier


def extract_context(headers: Mapping[str, str] | None) -> otel_context.Context:
    """The trace context a message's headers carry (empty context when none)."""
    return _propagator.extract(dict(headers or {}))


def trace_fields() -> tuple[str | None, str | None]:
    """The current span's (traceparent, tracestate), for storing in an envelope."""
    carrier = inject_headers()
    return carrier.get("traceparent"), carrier.get("tracestate")
