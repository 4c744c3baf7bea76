"""Named retry policies (tenacity), written once and used by every service."""

from __future__ import annotations

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from papertape.common.bus.deadletters import TRANSIENT_BUS_ERRORS

BUS_RETRY_S = 20.0


def transient_bus_errors() -> AsyncRetrying:
    """Transient JetStream or NATS unavailability: back off, retry, then raise.

    Long enough to ride through a clustered stream's leader election (seconds when a server
    dies; tests/e2e/test_nats_cluster.py), short of a consumer's ack wait (30 s).
    """
    return AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT_BUS_ERRORS),
        wait=wait_exponential(multiplier=0.05, max=2.0),
        stop=stop_after_delay(BUS_RETRY_S),
        reraise=True,
    )
