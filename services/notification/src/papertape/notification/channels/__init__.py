"""Where deliveries go: signed webhooks, e-mail over SMTP, Telegram's Bot API.

Each channel sends one delivery and says what came of it as an ``Attempt`` (ok, status code,
latency, error); it never raises for the target's failings, and never waits longer than the
service's timeout.
"""

from __future__ import annotations

from typing import Protocol

from papertape.notification.store import Attempt, Delivery


class Channel(Protocol):
    """Sends one delivery."""

    async def send(self, delivery: Delivery, secret: str | None) -> Attempt: ...
