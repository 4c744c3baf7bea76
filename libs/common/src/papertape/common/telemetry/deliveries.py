"""Metrics of outbound deliveries (webhooks, e-mail): the names every notifier uses.

A service that delivers builds ``DeliveryMetrics(runtime.metrics.registry)`` once and calls
``delivered`` for each attempt: deliveries by channel and outcome, the latency of an attempt,
and the failures by reason (``timeout``, ``http_5xx``, ``http_4xx``, ``refused`` …, a short
fixed vocabulary, never a URL or a message). Dead letters go through the runtime's
``dead_letter`` like any other message, counted in ``papertape_dead_letters_total``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

OK = "ok"
FAILED = "failed"
RETRIED = "retried"


class DeliveryMetrics:
    """``papertape_webhook_*`` families (channel ``webhook``, ``email`` …) in one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "papertape_webhook_deliveries_total",
            "Delivery attempts, by channel and outcome (ok, retried, failed)",
            ["channel", "outcome"],
            registry=registry,
        )
        self.failures = Counter(
            "papertape_webhook_failures_total",
            "Failed delivery attempts, by channel and reason",
            ["channel", "reason"],
            registry=registry,
        )
        self.seconds = Histogram(
            "papertape_webhook_delivery_seconds",
            "Time of one delivery attempt",
            ["channel"],
            registry=registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )

    def delivered(
        self, channel: str, outcome: str, seconds: float, reason: str | None = None
    ) -> None:
        """Count one attempt; a failed or retried one counts its ``reason`` too."""
        self.deliveries.labels(channel, outcome).inc()
        self.seconds.labels(channel).observe(seconds)
        if outcome != OK:
            self.failures.labels(channel, reason or "unknown").inc()
