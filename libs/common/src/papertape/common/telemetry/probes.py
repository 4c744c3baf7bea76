"""/health and /ready beside /metrics on a service's metrics port: what an orchestrator probes.

``/health`` answers 200 while the process serves HTTP at all (liveness: a hung or dead process
is restarted). ``/ready`` answers 200 once the service has started its subscribers and said
READY, and only while every readiness check holds (its NATS connection is up); 503 before,
during a reconnect and once it is stopping (readiness: no traffic, no restart). Any other path
is Prometheus's exposition, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from papertape.common.telemetry.metrics import ServiceMetrics

HEALTH_PATH = "/health"
READY_PATH = "/ready"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Probes:
    """Whether the service is ready: said READY, not stopping, and every check holds."""

    def __init__(self, checks: Iterable[Callable[[], bool]] = ()) -> None:
        self._ready = threading.Event()
        self._checks = list(checks)

    def add_check(self, check: Callable[[], bool]) -> None:
        """Another condition of readiness (called from the HTTP thread: keep it a cheap read)."""
        self._checks.append(check)

    def mark_ready(self) -> None:
        self._ready.set()

    def mark_stopping(self) -> None:
        self._ready.clear()

    def is_ready(self) -> bool:
        return self._ready.is_set() and all(_holds(check) for check in self._checks)


def _holds(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except Exception:  # a check that cannot even tell (a connection torn down) says not ready
        return False


def probed_app(metrics_app: WsgiApp, probes: Probes) -> WsgiApp:
    """``metrics_app`` with /health and /ready in front of it."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            return _plain(start_response, "200 OK", b"ok\n")
        if path == READY_PATH:
            if probes.is_ready():
                return _plain(start_response, "200 OK", b"ready\n")
            return _plain(start_response, "503 Service Unavailable", b"not ready\n")
        return metrics_app(environ, start_response)

    return app


def _plain(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]


class _QuietHandler(WSGIRequestHandler):
    """No access log line per probe (an orchestrator probes every few seconds)."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def start_probed_metrics_server(
    metrics: ServiceMetrics, probes: Probes, port: int, host: str = "127.0.0.1"
) -> int:
    """Serve /metrics, /health and /ready on ``port`` (0 picks a free one) in a daemon thread;
    returns the port."""
    app = probed_app(make_wsgi_app(metrics.registry), probes)
    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return int(server.server_port)
