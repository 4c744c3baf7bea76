"""Prometheus metrics every service exposes, and the HTTP endpoint that serves them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class ServiceMetrics:
    """The common metric families, registered once per service in its own registry."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry or CollectorRegistry()
        self.handled = Counter(
            "papertape_messages_handled_total",
            "Messages handled, by handler and outcome",
            ["service", "handler", "outcome"],
            registry=self.registry,
        )
        self.handling_seconds = Histogram(
            "papertape_message_handling_seconds",
            "Time to handle one message",
            ["service", "handler"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
        )
        self.dead_letters = Counter(
            "papertape_dead_letters_total",
            "Messages sent to the dead-letter stream",
            ["service", "reason"],
            registry=self.registry,
        )
        self.events_appended = Counter(
            "papertape_events_appended_total",
            "Events appended to the event log",
            ["service", "type"],
            registry=self.registry,
        )
        self.rebuild_seconds = Gauge(
            "papertape_rebuild_seconds",
            "Time the last start-up rebuild took",
            ["service"],
            registry=self.registry,
        )
        self.rebuild_events = Gauge(
            "papertape_rebuild_events",
            "Events replayed by the last start-up rebuild",
            ["service"],
            registry=self.registry,
        )
        self.log_position = Gauge(
            "papertape_subscriber_position",
            "Global log position a subscriber has reached",
            ["service", "subscriber"],
            registry=self.registry,
        )
        self.task_failures = Counter(
            "papertape_task_failures_total",
            "Failures of a background task (each is logged, then the task goes on)",
            ["service", "task"],
            registry=self.registry,
        )
        self.market_refused = Counter(
            "papertape_market_data_refused_total",
            "Quotes and bars refused as the market (crossed, not positive, beyond the band)",
            ["service", "check"],
            registry=self.registry,
        )
        self.up = Gauge(
            "papertape_up", "1 while the service runs", ["service"], registry=self.registry
        )
        self.up.labels(service).set(1)


def start_metrics_server(metrics: ServiceMetrics, port: int, host: str = "127.0.0.1") -> int:
    """Serve /metrics on ``port`` (0 picks a free one); returns the port."""
    server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    return int(server.server_port)
