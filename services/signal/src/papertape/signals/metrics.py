"""Signal-service metrics: signals by strategy and decision, bot sessions by status."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

import msgspec
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from papertape.common.eventlog import RecordedEvent
from papertape.contract.events.base import message_name
from papertape.contract.events.sessions import SessionStatus
from papertape.contract.events.signals import SignalGenerated


class _Counted(msgspec.Struct, frozen=True):
    """The fields of a stored signal it is counted by (the rest is not parsed)."""

    strategy: str
    decision: str


_counted = msgspec.json.Decoder(_Counted)
_SIGNAL = message_name(SignalGenerated)


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

    def published(self, batch: Iterable[RecordedEvent]) -> None:
        """Count the signals among the stored events the relay published."""
        for recorded in batch:
            if recorded.type == _SIGNAL:
                seen = _counted.decode(recorded.data)
                self.signals.labels(seen.strategy, seen.decision).inc()
