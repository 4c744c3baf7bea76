"""OpenTelemetry tracing with the W3C trace context carried in NATS headers.

Spans are exported over OTLP/HTTP when the service's ``traces_exporter`` is ``otlp`` (to
``otlp_endpoint``, else where the standard ``OTEL_EXPORTER_OTLP_*`` variables say), and not at
all with ``none``, where a span is its context alone (``papertape.common.telemetry.unexported``).
The provider is the process's global one too, so every library tracer (the bus middleware, the
gateway, the relays) reports to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from papertape.common.telemetry.subjects import subject_pattern
from papertape.common.telemetry.unexported import ContextTracerProvider, new_span_id

_propagator = TraceContextTextMapPropagator()
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_NO_TRACE, _NO_SPAN = "0" * 32, "0" * 16
TRACES_EXPORTERS = ("none", "otlp")


def configure_tracing(service: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """A tracer provider for the service; spans go to ``exporter`` when one is given."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"papertape-{service}"}))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    return provider


def span_exporter(kind: str, endpoint: str = "") -> SpanExporter | None:
    """The exporter a service's settings name (``otlp``: OTLP over HTTP; ``none``: None)."""
    if kind == "none":
        return None
    if kind != "otlp":
        raise ValueError(f"traces_exporter must be one of {TRACES_EXPORTERS}, not {kind!r}")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=endpoint or None, timeout=5)


def install_tracing(
    service: str, kind: str, endpoint: str = ""
) -> TracerProvider | ContextTracerProvider:
    """The service's provider, exporting as configured, made the process's global one.

    With ``none`` spans are still made (and their context propagated, logged and stored in
    the envelopes), only not recorded, as nothing would export them. The global provider is
    set once per process (a service is one process; tests that run several keep the first).
    """
    exporter = span_exporter(kind, endpoint)
    provider = ContextTracerProvider() if exporter is None else configure_tracing(service, exporter)
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    return provider


@contextmanager
def continuing(
    name: str,
    traceparent: str | None,
    tracestate: str | None = None,
    *,
    kind: SpanKind = SpanKind.PRODUCER,
    tracer: trace.Tracer | None = None,
) -> Iterator[None]:
    """A span continuing the trace an envelope recorded (none when it recorded none): work
    done later for an event, like relaying it, joins the trace of what caused the event."""
    if not traceparent:
        yield
        return
    spans = tracer or trace.get_tracer("papertape")
    with spans.start_as_current_span(name, context=context_of(traceparent, tracestate), kind=kind):
        yield


def continued_headers(
    name: str, traceparent: str | None, tracestate: str | None = None
) -> dict[str, str]:
    """The trace headers of a producer span ``continuing`` a stored trace context, for a
    message sent for it (a relayed event).

    Where no span is recorded (the global provider is ``ContextTracerProvider``) and the
    context is a plain version-00 ``traceparent`` (no ``tracestate``), that span is only its
    header: the same trace and flags, a new span id, written here directly; anything else goes
    through a span and the propagator.
    """
    if (
        not tracestate
        and traceparent
        and isinstance(trace.get_tracer_provider(), ContextTracerProvider)
    ) and (parts := _TRACEPARENT.fullmatch(traceparent)) is not None:
        trace_id, parent, flags = parts.groups()
        if trace_id != _NO_TRACE and parent != _NO_SPAN:
            return {"traceparent": f"00-{trace_id}-{new_span_id():016x}-{flags}"}
    with continuing(name, traceparent, tracestate):
        return inject_headers()


@contextmanager
def consuming_batch(messages: Sequence[Any], namespace: str = "") -> Iterator[None]:
    """A consumer span over a fetched batch, continuing the trace of its first message (the
    others are linked): what the batch's handling sends, it sends within that trace."""
    if not messages:
        yield
        return
    first, *rest = messages
    links = [Link(span.get_span_context()) for span in _spans_of(rest)]
    spans = trace.get_tracer("papertape")
    with spans.start_as_current_span(
        f"{subject_pattern(first.subject, namespace)} process",
        context=extract_context(first.headers),
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={"messaging.batch.message_count": len(messages)},
    ):
        yield


def _spans_of(messages: Sequence[Any]) -> Iterator[trace.Span]:
    for message in messages:
        span = trace.get_current_span(extract_context(message.headers))
        if span.get_span_context().is_valid:
            yield span


def inject_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers with ``traceparent``/``tracestate`` of the current span added: what the W3C
    propagator writes (``TraceContextTextMapPropagator.inject``), written here without its
    getters and setters (a request from the gateway, a command's reply, sends them)."""
    carrier = dict(headers) if headers else {}
    span_context = trace.get_current_span().get_span_context()
    if span_context == trace.INVALID_SPAN_CONTEXT:
        return carrier
    carrier["traceparent"] = (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}"
        f"-{span_context.trace_flags:02x}"
    )
    if span_context.trace_state:
        carrier["tracestate"] = span_context.trace_state.to_header()
    return carrier


def extract_context(headers: Mapping[str, str] | None) -> otel_context.Context:
    """The trace context a message's headers carry (empty context when none)."""
    return _propagator.extract(dict(headers or {}))


def context_of(traceparent: str | None, tracestate: str | None = None) -> otel_context.Context:
    """The trace context an envelope's stored fields carry (empty context when none)."""
    carrier = {"traceparent": traceparent} if traceparent else {}
    if traceparent and tracestate:
        carrier["tracestate"] = tracestate
    return _propagator.extract(carrier)


def trace_fields() -> tuple[str | None, str | None]:
    """The current span's (traceparent, tracestate), for storing in an envelope."""
    carrier = inject_headers()
    return carrier.get("traceparent"), carrier.get("tracestate")
