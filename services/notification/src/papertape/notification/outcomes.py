"""How a delivery attempt is counted: its channel, outcome and, when it failed, why.

Every attempt of every channel goes through ``Outcomes.count`` (the dispatcher's ``on_outcome``):
``papertape_webhook_deliveries_total{channel,outcome}`` (``ok``; ``retried``: failed, due again;
``failed``: failed for good, a dead letter), ``papertape_webhook_delivery_seconds{channel}`` and
``papertape_webhook_failures_total{channel,reason}`` with a short fixed vocabulary of reasons
(never a URL, an address or a message). Every channel's series exist at 0 from the start, so a
dashboard shows a flat line, not "no data", before the first delivery.
"""

from __future__ import annotations

from papertape.common.telemetry.deliveries import FAILED, OK, RETRIED, DeliveryMetrics
from papertape.contract.events.notifications import DeliveryStatus, EndpointKind
from papertape.notification.channels.destinations import NOT_PUBLIC
from papertape.notification.store import Attempt

TIMEOUT = "timeout"
REFUSED = "refused"
"""The connection failed: refused, reset, no route, a name that does not resolve."""
HTTP_3XX, HTTP_4XX, HTTP_5XX = "http_3xx", "http_4xx", "http_5xx"
"""An answer that is not a success (redirects are not followed: a failure too)."""
NO_SECRET = "no_secret"
"""The endpoint has no signing secret or bot token (a permanent failure)."""
NOT_PUBLIC_TARGET = "not_public"
"""The target is not a public address and private targets are not allowed (nothing was sent;
a permanent failure: ``channels/destinations.py``)."""
REJECTED = "rejected"
"""The server answered but refused the message (an SMTP refusal, Telegram's ``ok: false``)."""
OTHER = "other"
REASONS = (
    TIMEOUT,
    REFUSED,
    HTTP_3XX,
    HTTP_4XX,
    HTTP_5XX,
    NO_SECRET,
    NOT_PUBLIC_TARGET,
    REJECTED,
    OTHER,
)
OUTCOMES = (OK, RETRIED, FAILED)
_UNREACHABLE = frozenset(
    {
        "ClientConnectorError",
        "ClientConnectionError",
        "ClientOSError",
        "ServerDisconnectedError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "OSError",
        "gaierror",
        "SMTPConnectError",
        "SMTPServerDisconnected",
    }
)
"""Exception names (the channels' errors start with them) of a target that was not reached."""


def reason_of(attempt: Attempt) -> str:
    """Why an attempt failed, in the metrics' vocabulary."""
    code, error = attempt.status_code, attempt.error
    if code is not None:
        return {3: HTTP_3XX, 4: HTTP_4XX, 5: HTTP_5XX}.get(code // 100, REJECTED)
    name = error.split(":", 1)[0]
    if error.startswith("the endpoint has no"):
        return NO_SECRET
    if error.startswith(NOT_PUBLIC):
        return NOT_PUBLIC_TARGET
    if error == "timed out" or "Timeout" in name:
        return TIMEOUT
    if name in _UNREACHABLE:
        return REFUSED
    return REJECTED if name.startswith("SMTP") else OTHER


def outcome_of(attempt: Attempt, status: DeliveryStatus) -> str:
    if attempt.ok:
        return OK
    return FAILED if status is DeliveryStatus.DEAD else RETRIED


class Outcomes:
    """The delivery metrics of one service, their series made for every channel up front."""

    def __init__(self, metrics: DeliveryMetrics) -> None:
        self.metrics = metrics
        for kind in EndpointKind:
            metrics.seconds.labels(kind.value)
            for outcome in OUTCOMES:
                metrics.deliveries.labels(kind.value, outcome)
            for reason in REASONS:
                metrics.failures.labels(kind.value, reason)

    def count(self, kind: EndpointKind, attempt: Attempt, status: DeliveryStatus) -> None:
        outcome = outcome_of(attempt, status)
        reason = None if attempt.ok else reason_of(attempt)
        seconds = float(attempt.latency_ms) / 1000
        self.metrics.delivered(kind.value, outcome, seconds, reason)
