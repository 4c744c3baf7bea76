"""Telemetry: the trace context travels in headers, metrics count, logs carry fields."""

from __future__ import annotations

import json
import logging

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import generate_latest

from papertape.common.telemetry.logs import JsonFormatter
from papertape.common.telemetry.metrics import ServiceMetrics
from papertape.common.telemetry.tracing import configure_tracing, extract_context, inject_headers


def test_the_trace_context_survives_a_round_trip_through_message_headers() -> None:
    exporter = InMemorySpanExporter()
    provider = configure_tracing("test")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("publish") as span:
        headers = inject_headers({"Nats-Msg-Id": "e-1"})
        sent_trace = span.get_span_context().trace_id
    assert headers["Nats-Msg-Id"] == "e-1"
    assert headers["traceparent"].split("-")[1] == format(sent_trace, "032x")

    with tracer.start_as_current_span("consume", context=extract_context(headers)) as child:
        assert child.get_span_context().trace_id == sent_trace
    assert [s.name for s in exporter.get_finished_spans()] == ["publish", "consume"]


def test_no_trace_gives_no_traceparent() -> None:
    assert "traceparent" not in inject_headers({})
    assert not trace.get_current_span(extract_context({})).get_span_context().is_valid


def test_service_metrics_are_exposed_in_their_own_registry() -> None:
    metrics = ServiceMetrics("portfolio")
    metrics.handled.labels("portfolio", "command", "ok").inc()
    metrics.dead_letters.labels("portfolio", "malformed").inc(2)
    text = generate_latest(metrics.registry).decode()
    assert (
        'papertape_messages_handled_total{handler="command",outcome="ok",service="portfolio"} 1.0'
        in text
    )
    assert 'papertape_dead_letters_total{reason="malformed",service="portfolio"} 2.0' in text
    assert 'papertape_up{service="portfolio"} 1.0' in text


def test_json_logs_carry_structured_fields() -> None:
    record = logging.LogRecord("papertape.x", logging.INFO, __file__, 1, "appended %d", (3,), None)
    record.account_id = "alice"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "appended 3"
    assert line["account_id"] == "alice"
    assert line["level"] == "info"
