"""/health, /ready and /metrics: for the operator and the orchestrator, without a key."""

from __future__ import annotations

import asyncio

from litestar import Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from papertape.contract.events.market import ListInstruments
from papertape.contract.events.portfolio import ListAccounts
from papertape.contract.events.sessions import ListStrategies
from papertape.contract.ids import Actor
from papertape.gateway.bodies import Health, Readiness
from papertape.gateway.bus import MARKETDATA, PORTFOLIO, SIGNALS, Refused, ServiceUnavailable
from papertape.gateway.state import Gateway

_PROBE = Actor("gateway:ready")
_PROBE_TIMEOUT_S = 2.0


def operations(gateway: Gateway, registry: CollectorRegistry) -> list[object]:
    """The operations routes, bound to the gateway and the metrics registry."""

    @get("/health", tags=["operations"], summary="The process is up")
    async def health() -> Health:
        return Health()

    @get(
        "/ready",
        tags=["operations"],
        summary="NATS connected and every service answering (503 otherwise)",
        responses=None,
    )
    async def ready() -> Response[Readiness]:
        nats_up = gateway.services.nc.is_connected
        wanted = [s.strip() for s in gateway.settings.services.split(",") if s.strip()]
        answers = await asyncio.gather(*(_answers(gateway, s) for s in wanted)) if nats_up else []
        services = (
            dict(zip(wanted, answers, strict=False)) if nats_up else dict.fromkeys(wanted, False)
        )
        ok = nats_up and all(services.values())
        status = HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE
        headers = {} if ok else {"Retry-After": str(gateway.settings.retry_after_s)}
        body = Readiness(ready=ok, nats=nats_up, services=services)
        return Response(body, status_code=status, headers=headers)

    @get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        media_type=CONTENT_TYPE_LATEST,
    )
    async def metrics() -> Response[bytes]:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [health, ready, metrics]


async def _answers(gateway: Gateway, service: str) -> bool:
    """Whether ``service`` answers a cheap query in time."""
    services = gateway.services
    try:
        if service == PORTFOLIO:
            await asyncio.wait_for(services.query(ListAccounts(), _PROBE), _PROBE_TIMEOUT_S)
        elif service == MARKETDATA:
            await asyncio.wait_for(services.market(ListInstruments(), _PROBE), _PROBE_TIMEOUT_S)
        elif service == SIGNALS:
            await asyncio.wait_for(services.signals(ListStrategies(), _PROBE), _PROBE_TIMEOUT_S)
        else:
            return False
    except (ServiceUnavailable, Refused, TimeoutError):
        return False
    return True
