"""With private targets not allowed, a webhook whose name resolves to loopback is refused where
it is connected to, not only a literal address when the endpoint is added."""

from __future__ import annotations

from datetime import UTC, datetime

from papertape.common.testing.receivers import HttpStandIn
from papertape.contract.events.notifications import EndpointKind, Happening
from papertape.notification.channels.webhooks import WebhookChannel
from papertape.notification.store import Delivery, NewDelivery
from tests.notification.conftest import pending

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _delivery(target: str) -> Delivery:
    new = NewDelivery(
        delivery_id="d-1",
        account_id="acc",
        endpoint_id="hook",
        kind=EndpointKind.WEBHOOK,
        target=target,
        notification_id="n-1",
        happening=Happening.FILL,
        payload=b'{"fill": 1}',
    )
    return pending(new, NOW)


async def test_a_name_that_resolves_to_loopback_is_refused_unless_private_targets_are_allowed() -> (
    None
):
    async with HttpStandIn() as receiver:
        target = f"http://localhost:{receiver.port}/hook"  # a name, not a literal address
        public_only = WebhookChannel(5.0, allow_private=False)
        anywhere = WebhookChannel(5.0, allow_private=True)
        try:
            refused = await public_only.send(_delivery(target), "secret")
            sent = await anywhere.send(_delivery(target), "secret")
        finally:
            await public_only.close()
            await anywhere.close()
    assert not refused.ok
    assert "not a public address" in refused.error
    assert sent.ok
    assert len(receiver.requests) == 1  # only the allowed one reached it
