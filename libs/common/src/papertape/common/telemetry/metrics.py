"""Prometheus metrics every service exposes, and the HTTP endpoint that serves them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from papertape.common.collector import CollectorMetrics

CommitObserver = Callable[[float, int], None]
"""Called after each event-log transaction with its seconds and the appends it committed."""


class CommitObserved(Protocol):
    """An event log that reports its transactions (``PostgresEventLog``)."""

    def observe(self, observer: CommitObserver) -> None: ...


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
        self.consumer_pending = Gauge(
            "papertape_consumer_pending_messages",
            "Messages of the stream a durable consumer has not been delivered yet",
            ["service", "stream", "durable"],
            registry=self.registry,
        )
        self.consumer_ack_pending = Gauge(
            "papertape_consumer_ack_pending_messages",
            "Messages delivered to a durable consumer and not acknowledged yet",
            ["service", "stream", "durable"],
            registry=self.registry,
        )
        self.consumer_redelivered = Gauge(
            "papertape_consumer_redelivered_messages",
            "Messages a durable consumer has had delivered more than once (server's count)",
            ["service", "stream", "durable"],
            registry=self.registry,
        )
        self.append_seconds = Histogram(
            "papertape_eventlog_append_seconds",
            "Time of one event-log transaction (a group commit or a lone append)",
            ["service"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
        )
        self.append_group_size = Histogram(
            "papertape_eventlog_append_group_size",
            "Appends committed together in one event-log transaction",
            ["service"],
            registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )
        self.up = Gauge(
            "papertape_up", "1 while the service runs", ["service"], registry=self.registry
        )
        self.up.labels(service).set(1)
        self.registry.register(CollectorMetrics(service))  # the collector's pauses, at scrape

    def committed(self, seconds: float, appends: int) -> None:
        """Observe one event-log transaction (the log's ``CommitObserver``)."""
        self.append_seconds.labels(self.service).observe(seconds)
        self.append_group_size.labels(self.service).observe(appends)

    def rebuilt(self, seconds: float, events: int) -> None:
        """Record how long the start-up rebuild took and how many events it replayed."""
        self.rebuild_seconds.labels(self.service).set(seconds)
        self.rebuild_events.labels(self.service).set(events)


def start_metrics_server(metrics: ServiceMetrics, port: int, host: str = "127.0.0.1") -> int:
    """Serve /metrics on ``port`` (0 picks a free one); returns the port."""
    server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    return int(server.server_port)
