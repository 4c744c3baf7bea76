"""Signal-service metrics: signals by strategy and decision, bot sessions by status."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from papertape.contract.events.envelope import Envelope
from papertape.contract.events.sessions import SessionStatus
from papertape.contract.events.signals import SignalGenerated


class _HasStatus(Protocol):
    @property
    def state(self) -> Any: ...


class _Sessions(Collector):
    """``papertape_sessions{status}``, counted from the book when Prometheus scrapes."""

    def __init__(self, bots: Mapping[str, _HasStatus]) -> None:
        self._bots = bots

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "papertape_sessions", "Bot sessions, by status", labels=["status"]
        )
        counts = dict.fromkeys((s.value for s in SessionStatus), 0)
        for bot in list(self._bots.values()):
            status = bot.state.status
            if status is not None:
                counts[str(status)] = counts.get(str(status), 0) + 1
        for status, count in counts.items():
            family.add_metric([status], count)
        yield family


class SignalMetrics:
    """The families of the signal service, in the runtime's registry."""

    def __init__(self, registry: CollectorRegistry, bots: Mapping[str, _HasStatus]) -> None:
        self.signals = Counter(
            "papertape_signals_total",
            "Signals published, by strategy and decision",
            ["strategy", "decision"],
            registry=registry,
        )
        registry.register(_Sessions(bots))

    def published(self, envelopes: Iterable[Envelope[Any]]) -> None:
        """Count the signals among envelopes the relay published."""
        for envelope in envelopes:
            event = envelope.data
            if isinstance(event, SignalGenerated):
                self.signals.labels(event.strategy, event.decision.value).inc()
