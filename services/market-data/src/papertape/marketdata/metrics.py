"""Market-data metrics: what was published, and which source served what."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class MarketDataMetrics:
    """The service's own metric families, in the runtime's registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.published = Counter(
            "papertape_marketdata_published_total",
            "Quotes and bars published to MARKET",
            ["kind", "source"],
            registry=self.registry,
        )
        self.served = Counter(
            "papertape_marketdata_source_served_total",
            "Answers served, by source and what (quote, bars); cache hits have source=cache",
            ["source", "what"],
            registry=self.registry,
        )
        self.source_failures = Counter(
            "papertape_marketdata_source_failures_total",
            "Failed calls to a source, by reason",
            ["source", "reason"],
            registry=self.registry,
        )
        self.publish_failures = Counter(
            "papertape_marketdata_publish_failures_total",
            "Publishes whose acknowledgement failed (retried with the same dedup id)",
            ["kind"],
            registry=self.registry,
        )
        self.feed_restarts = Counter(
            "papertape_marketdata_feed_restarts_total",
            "Times a failed feed was restarted",
            ["feed"],
            registry=self.registry,
        )
