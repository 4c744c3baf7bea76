"""NATS's own monitoring endpoint as Prometheus metrics, for the real-Prometheus test.

deploy/ scrapes NATS through prometheus-nats-exporter (a container of the compose stack, run
with ``-varz``); no package installs it here, so the test serves the server's ``/varz`` by the
exporter's own rule for it in its place: every numeric top-level field is a gauge
``gnatsd_varz_<field>`` labelled ``server_id``, read from the server at each scrape. The NATS
job of deploy/'s configuration then scrapes it under the job's name and labels.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import httpx
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tests.deploy.prometheus import free_port


class VarzCollector(Collector):
    """``/varz`` of one server, at each scrape."""

    def __init__(self, monitoring_url: str) -> None:
        self.url = f"{monitoring_url}/varz"

    def collect(self) -> Iterable[Metric]:
        varz = httpx.get(self.url, timeout=5).json()
        server_id = str(varz["server_id"])
        for field, value in sorted(varz.items()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                gauge = GaugeMetricFamily(f"gnatsd_varz_{field}", field, labels=["server_id"])
                gauge.add_metric([server_id], float(value))
                yield gauge


@contextlib.contextmanager
def running_exporter(monitoring_url: str) -> Iterator[str]:
    """The exporter on a free loopback port; yields its ``host:port``."""
    registry = CollectorRegistry()
    registry.register(VarzCollector(monitoring_url))
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
