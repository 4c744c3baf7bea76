"""FastStream's Prometheus middleware, labelled by subject pattern instead of raw subject.

FastStream labels its bus metrics (``papertape_bus_received_processed_messages_total`` by
``handler`` and ``status``, ``..._duration_seconds``, ``papertape_bus_published_messages_total``
by ``destination``) with the message's subject, which names an account or a symbol: one
series per account and per symbol. Here every subject is reduced to its ``subject_pattern``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faststream.message.message import StreamMessage
from faststream.nats.prometheus.provider import settings_provider_factory
from faststream.prometheus import ConsumeAttrs, PrometheusMiddleware
from nats.aio.msg import Msg
from prometheus_client import CollectorRegistry

from papertape.common.telemetry.subjects import subject_pattern

BUS_METRICS_PREFIX = "papertape_bus"


class _Patterned:
    """A FastStream metrics-settings provider whose subjects are patterns."""

    __slots__ = ("_inner", "_namespace", "messaging_system")

    def __init__(self, inner: Any, namespace: str) -> None:
        self._inner = inner
        self._namespace = namespace
        self.messaging_system: str = inner.messaging_system

    def get_consume_attrs_from_message(self, msg: StreamMessage[Any]) -> ConsumeAttrs:
        attrs: ConsumeAttrs = self._inner.get_consume_attrs_from_message(msg)
        attrs["destination_name"] = subject_pattern(attrs["destination_name"], self._namespace)
        return attrs

    def get_publish_destination_name_from_cmd(self, cmd: Any) -> str:
        destination = str(self._inner.get_publish_destination_name_from_cmd(cmd))
        return subject_pattern(destination, self._namespace)


class BusMetricsMiddleware(PrometheusMiddleware[Any, Any]):
    """Bus throughput, latency and errors per subject pattern, in the service's registry."""

    def __init__(self, *, registry: CollectorRegistry, service: str, namespace: str) -> None:
        def provider(msg: Msg | Sequence[Msg] | None) -> _Patterned | None:
            inner = settings_provider_factory(msg)
            return None if inner is None else _Patterned(inner, namespace)

        super().__init__(
            settings_provider_factory=provider,
            registry=registry,
            app_name=service,
            metrics_prefix=BUS_METRICS_PREFIX,
        )
