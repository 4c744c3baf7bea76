"""The gateway's own metrics, in the service's registry (served on /metrics)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class GatewayMetrics:
    """HTTP requests, rate limiting and WebSocket connections."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "papertape_http_requests_total",
            "HTTP requests answered, by method, route and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "papertape_http_request_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
        )
        # Each label set's child, found once: ``labels()`` takes a lock and builds a key each time.
        self._counted: dict[tuple[str, str, str], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}
        self.rate_limited = Counter(
            "papertape_http_rate_limited_total", "Requests refused with 429", registry=registry
        )
        self.sockets = Gauge(
            "papertape_ws_connections", "WebSocket clients connected", registry=registry
        )
        self.socket_messages = Counter(
            "papertape_ws_messages_sent_total",
            "Messages sent to WebSocket clients",
            registry=registry,
        )
        self.slow_clients = Counter(
            "papertape_ws_slow_clients_total",
            "WebSocket clients disconnected because their buffer filled",
            registry=registry,
        )

    def answered(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count an HTTP request answered and the time it took."""
        labels = (method, route, str(status))
        if (count := self._counted.get(labels)) is None:
            count = self._counted[labels] = self.requests.labels(*labels)
        count.inc()
        if (timing := self._timed.get(labels[:2])) is None:
            timing = self._timed[labels[:2]] = self.request_seconds.labels(method, route)
        timing.observe(seconds)
