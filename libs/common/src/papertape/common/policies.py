"""Named retry policies (tenacity), written once and used by every service."""

from __future__ import annotations

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from papertape.common.bus.deadletters import TRANSIENT_BUS_ERRORS


def transient_bus_errors() -> AsyncRetrying:
    """Transient JetStream or NATS unavailability: back off, retry, then raise."""
    return AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT_BUS_ERRORS),
        wait=wait_exponential(multiplier=0.05, max=2.0),
        stop=stop_after_attempt(8),
        reraise=True,
    )
