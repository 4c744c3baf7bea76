"""What the gateway's handlers share: the service client, the keys, the limits, the sockets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar

from papertape.gateway.access.keys import KeyStore
from papertape.gateway.access.limits import RateLimiter
from papertape.gateway.bus import Services
from papertape.gateway.metrics import GatewayMetrics
from papertape.gateway.orders import Placements
from papertape.gateway.settings import GatewaySettings
from papertape.gateway.sockets.hub import Hub

STATE_KEY = "gateway"


@dataclass
class Gateway:
    """Everything a request handler may need, wired once by the bootstrap."""

    settings: GatewaySettings
    services: Services
    keys: KeyStore
    limiter: RateLimiter
    metrics: GatewayMetrics
    placements: Placements
    hub: Hub | None = None
    readiness: dict[str, Any] = field(default_factory=dict)


def gateway_of(app: Litestar) -> Gateway:
    """The gateway an app was built for."""
    found = app.state[STATE_KEY]
    assert isinstance(found, Gateway)
    return found
