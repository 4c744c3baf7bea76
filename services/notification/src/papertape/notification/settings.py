"""The notification service's settings, read once from the environment (prefix ``PAPERTAPE_``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from papertape.common.settings import CommonSettings, Interval, Port, load_settings

Role = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_]{0,63}$")]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]


class NotificationSettings(CommonSettings, frozen=True, kw_only=True):
    """Where the log, the bus and the mail server are; how deliveries are retried."""

    metrics_port: Port = 9105
    database_role: Role = "papertape_service"
    """The role the log is used as: it may read and append, never rewrite ("" for the login)."""
    store_role: Role = "papertape_notification"
    """The delivery store's own role: its tables only, no event log ("" for the login)."""
    secrets_key: Annotated[str, msgspec.Meta(pattern=r"^([A-Za-z0-9_\-]{43}=?)?$")] = ""
    """A urlsafe-base64 AES-256 key: endpoint secrets are stored sealed with it (see README)."""
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=100)] = 8
    """Attempts of a delivery before it is a dead letter."""
    backoff_base_s: Seconds = 1.0
    """The pause after the first failed attempt; it doubles with each failure (plus jitter)."""
    backoff_max_s: Seconds = 600.0
    timeout_s: Seconds = 10.0
    """How long one attempt may take (connect, send, answer) before it counts as failed."""
    per_target: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
    """Deliveries in flight to one endpoint at once (a slow one never holds back the rest)."""
    poll_interval_s: Interval = 1.0
    """How often due retries are looked for (new deliveries are sent at once)."""
    watch_interval_s: Interval = 30.0
    """How often accounts with drawdown or daily P&L rules are looked at."""
    smtp_host: Annotated[str, msgspec.Meta(max_length=255)] = "127.0.0.1"
    smtp_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 25
    smtp_starttls: bool = False
    smtp_username: Annotated[str, msgspec.Meta(max_length=255)] = ""
    smtp_password: Annotated[str, msgspec.Meta(max_length=255)] = ""
    smtp_sender: Annotated[str, msgspec.Meta(max_length=320)] = "papertape@localhost"
    telegram_base_url: Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$")] = (
        "https://api.telegram.org"
    )
    allow_private_targets: bool = False
    """Webhooks to addresses that are not public (loopback, private, link-local, the cloud's
    metadata service) and to ``localhost``: refused unless set (``papertape run`` sets it, for a
    receiver on the same machine), see ``channels/destinations.py``."""


def read_settings() -> NotificationSettings:
    """The settings from ``PAPERTAPE_*`` (or bare) environment variables."""
    return load_settings(NotificationSettings)
