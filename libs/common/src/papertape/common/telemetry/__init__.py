"""Telemetry written once: structured logs, Prometheus metrics, OpenTelemetry traces."""

from papertape.common.telemetry.logs import configure_logging
from papertape.common.telemetry.metrics import ServiceMetrics, start_metrics_server
from papertape.common.telemetry.tracing import (
    configure_tracing,
    extract_context,
    inject_headers,
    trace_fields,
)

__all__ = [
    "ServiceMetrics",
    "configure_logging",
    "configure_tracing",
    "extract_context",
    "inject_headers",
    "start_metrics_server",
    "trace_fields",
]
