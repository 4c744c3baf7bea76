"""Spans of a service that exports none: each is its context, the one the SDK would give."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from papertape.common.telemetry import tracing
from papertape.common.telemetry.tracing import (
    continued_headers,
    continuing,
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


@pytest.mark.parametrize("flags", ["01", "00"])
def test_a_continued_context_gets_the_headers_its_span_would_send_without_a_span(
    flags: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = ContextTracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    stored = f"00-{TRACE}-{PARENT}-{flags}"
    with continuing("account_opened publish", stored):
        through_a_span = inject_headers()
    spans: list[str] = []

    @contextmanager
    def counted(name: str, *args: object, **kwargs: object) -> Iterator[None]:
        spans.append(name)
        yield

    monkeypatch.setattr(tracing, "continuing", counted)
    direct = continued_headers("account_opened publish", stored)
    assert spans == []  # no span was made
    assert set(direct) == set(through_a_span) == {"traceparent"}
    version, trace_id, span_id, sent_flags = _parts(direct["traceparent"])
    assert [version, trace_id, sent_flags] == [
        part for n, part in enumerate(_parts(through_a_span["traceparent"])) if n != 2
    ]
    assert (trace_id, sent_flags) == (TRACE, flags)
    assert span_id not in (PARENT, "0" * 16)
    assert len(span_id) == 16
    assert continued_headers("x", stored) != direct  # a new span id each time


@pytest.mark.parametrize(
    ("provider", "traceparent", "tracestate"),
    [
        (ContextTracerProvider(), f"00-{TRACE}-{PARENT}-01", "vendor=x"),  # a trace state
        (ContextTracerProvider(), f"00-{'0' * 32}-{PARENT}-01", None),  # an invalid trace
        (ContextTracerProvider(), f"01-{TRACE}-{PARENT}-01", None),  # another version
        (ContextTracerProvider(), None, None),  # no context
        (TracerProvider(), f"00-{TRACE}-{PARENT}-01", None),  # spans recorded
    ],
)
def test_any_other_continued_context_goes_through_a_span(
    provider: trace.TracerProvider,
    traceparent: str | None,
    tracestate: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    spans: list[tuple[str | None, str | None]] = []
    real = tracing.continuing

    @contextmanager
    def counted(name: str, parent: str | None, state: str | None = None) -> Iterator[None]:
        spans.append((parent, state))
        with real(name, parent, state):
            yield

    monkeypatch.setattr(tracing, "continuing", counted)
    headers = continued_headers("account_opened publish", traceparent, tracestate)
    assert spans == [(traceparent, tracestate)]
    if tracestate:
        assert headers["tracestate"] == tracestate
        assert _parts(headers["traceparent"])[1] == TRACE
