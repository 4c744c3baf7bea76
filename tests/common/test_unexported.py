"""Spans of a service that exports none: each is its context, the one the SDK would give."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from papertape.common.telemetry.tracing import (
    extract_context,
    inject_headers,
    install_tracing,
    trace_fields,
)
from papertape.common.telemetry.unexported import ContextTracerProvider

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


def _parts(traceparent: str) -> list[str]:
    return traceparent.split("-")


@pytest.mark.parametrize("flags", ["01", "00"])
def test_a_span_continues_the_trace_it_is_started_in_with_a_span_id_of_its_own(flags: str) -> None:
    tracer = ContextTracerProvider().get_tracer("test")
    headers = {"traceparent": f"00-{TRACE}-{PARENT}-{flags}", "tracestate": "vendor=x"}
    with tracer.start_as_current_span(
        "portfolio.command process", context=extract_context(headers), kind=SpanKind.CONSUMER
    ) as span:
        sent = inject_headers()
        stored = trace_fields()
    version, trace_id, span_id, sent_flags = _parts(sent["traceparent"])
    assert (version, trace_id, sent_flags) == ("00", TRACE, flags)
    assert span_id not in (PARENT, "0" * 16)
    assert span_id == format(span.get_span_context().span_id, "016x")
    assert sent["tracestate"] == "vendor=x"
    assert stored == (sent["traceparent"], "vendor=x")
    assert not span.is_recording()


def test_a_span_without_a_parent_starts_a_sampled_trace_and_is_current_only_inside() -> None:
    tracer = ContextTracerProvider().get_tracer("test")
    assert not trace.get_current_span().get_span_context().is_valid
    with tracer.start_as_current_span("POST") as outer:
        context = outer.get_span_context()
        assert context.is_valid
        assert context.trace_flags.sampled
        with tracer.start_as_current_span("publish") as inner:  # a child of the current span
            assert inner.get_span_context().trace_id == context.trace_id
            assert inner.get_span_context().span_id != context.span_id
        assert trace.get_current_span() is outer
    assert not trace.get_current_span().get_span_context().is_valid
    assert "traceparent" not in inject_headers()


def test_each_trace_and_span_is_new() -> None:
    tracer = ContextTracerProvider().get_tracer("test")
    contexts = [tracer.start_span("x").get_span_context() for _ in range(100)]
    assert len({c.trace_id for c in contexts}) == len({c.span_id for c in contexts}) == 100


def test_the_context_is_restored_when_the_block_raises() -> None:
    tracer = ContextTracerProvider().get_tracer("test")
    with pytest.raises(ValueError, match="refused"), tracer.start_as_current_span("x"):
        raise ValueError("refused")
    assert not trace.get_current_span().get_span_context().is_valid


def test_a_service_exporting_none_gets_the_context_provider_one_exporting_gets_the_sdk() -> None:
    assert isinstance(install_tracing("test", "none"), ContextTracerProvider)
    exporting = install_tracing("test", "otlp", "http://127.0.0.1:1/v1/traces")
    assert isinstance(exporting, TracerProvider)
    exporting.shutdown()
