"""Every delivery attempt is counted by channel and outcome, its failures by a fixed reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry

from papertape.common.telemetry.deliveries import DeliveryMetrics
from papertape.contract.events.notifications import DeliveryStatus, EndpointKind
from papertape.notification.outcomes import REASONS, Outcomes, reason_of
from papertape.notification.store import Attempt


def _failed(error: str = "", status_code: int | None = None) -> Attempt:
    return Attempt(ok=False, status_code=status_code, latency_ms=Decimal(12), error=error)


@pytest.mark.parametrize(
    ("attempt", "reason"),
    [
        (_failed("HTTP 503", 503), "http_5xx"),
        (_failed("HTTP 404", 404), "http_4xx"),
        (_failed("HTTP 302", 302), "http_3xx"),
        (_failed("HTTP 200: Bad Request: chat not found", 200), "rejected"),
        (_failed("ClientConnectorError: Cannot connect to host 127.0.0.1:9"), "refused"),
        (_failed("ConnectionRefusedError: [Errno 111] Connection refused"), "refused"),
        (_failed("ClientConnectorError"), "refused"),
        (_failed("TimeoutError"), "timeout"),
        (_failed("timed out"), "timeout"),
        (_failed("the endpoint has no secret"), "no_secret"),
        (_failed("SMTPRecipientsRefused: {'x@example.com': (550, b'no')}"), "rejected"),
        (_failed("ValueError: something new"), "other"),
    ],
)
def test_a_failed_attempt_has_a_reason_of_the_fixed_vocabulary(
    attempt: Attempt, reason: str
) -> None:
    assert reason_of(attempt) == reason
    assert reason in REASONS


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_every_channels_series_exist_at_zero_and_each_attempt_is_counted_once() -> None:
    registry = CollectorRegistry()
    outcomes = Outcomes(DeliveryMetrics(registry))
    for kind in ("webhook", "email", "telegram"):
        for outcome in ("ok", "retried", "failed"):
            got = _value(
                registry, "papertape_webhook_deliveries_total", channel=kind, outcome=outcome
            )
            assert got == 0
        assert (
            _value(registry, "papertape_webhook_failures_total", channel=kind, reason="timeout")
            == 0
        )
        assert _value(registry, "papertape_webhook_delivery_seconds_count", channel=kind) == 0

    ok = Attempt(ok=True, status_code=204, latency_ms=Decimal(250))
    outcomes.count(EndpointKind.WEBHOOK, ok, DeliveryStatus.DELIVERED)
    outcomes.count(EndpointKind.WEBHOOK, _failed("HTTP 500", 500), DeliveryStatus.PENDING)
    outcomes.count(EndpointKind.EMAIL, _failed("TimeoutError"), DeliveryStatus.DEAD)

    def deliveries(channel: str, outcome: str) -> float | None:
        return _value(
            registry, "papertape_webhook_deliveries_total", channel=channel, outcome=outcome
        )

    assert deliveries("webhook", "ok") == 1
    assert deliveries("webhook", "retried") == 1
    assert deliveries("email", "failed") == 1
    assert deliveries("email", "ok") == 0
    failures = "papertape_webhook_failures_total"
    assert _value(registry, failures, channel="webhook", reason="http_5xx") == 1
    assert _value(registry, failures, channel="email", reason="timeout") == 1
    assert _value(registry, failures, channel="webhook", reason="timeout") == 0
    seconds = "papertape_webhook_delivery_seconds"
    assert _value(registry, f"{seconds}_count", channel="webhook") == 2
    assert _value(registry, f"{seconds}_sum", channel="webhook") == pytest.approx(0.262)
    assert _value(registry, f"{seconds}_bucket", channel="webhook", le="0.1") == 1
    assert _value(registry, f"{seconds}_bucket", channel="webhook", le="0.25") == 2
