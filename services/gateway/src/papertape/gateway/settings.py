"""The gateway's settings, read from the environment once (prefix ``PAPERTAPE_``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from papertape.common.settings import CommonSettings, Interval, Port, Rate, load_settings

Host = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class GatewaySettings(CommonSettings, frozen=True, kw_only=True):
    """Where the API listens, how long it waits for a service, how much it lets a key do."""

    metrics_port: Port = -1
    """The gateway serves /metrics on its own HTTP port; a separate listener is off."""
    http_host: Host = "127.0.0.1"
    http_port: Port = 8000
    database_role: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_]{0,63}$")] = (
        "papertape_service"
    )
    """The role the key log is used as: it may read and append, never rewrite."""
    request_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=120)] = 5.0
    """How long a service may take to answer before the client gets 503."""
    retry_after_s: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 2
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024, le=16 * 1024 * 1024)] = 64 * 1024
    rate_per_second: Rate = 50.0
    """Requests a key may make per second, sustained."""
    rate_burst: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 100
    """Requests a key may make at once before it is slowed to ``rate_per_second``."""
    ws_buffer: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000
    """Messages held for a slow WebSocket client; one more and it is disconnected."""
    keys_refresh_s: Interval = 5.0
    """How often the key store reads keys issued or revoked by another replica."""
    keys_file: Annotated[str, msgspec.Meta(max_length=4096)] = ""
    """Where ``papertape run`` wants the local admin and demo keys written ("" for nowhere)."""
    demo_account: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_\-]{0,64}$")] = ""
    """The account the demo key is for (with ``keys_file``)."""
    services: Annotated[str, msgspec.Meta(max_length=200)] = "portfolio,marketdata"
    """The services /ready asks (comma-separated)."""


def read_settings() -> GatewaySettings:
    """The settings from the environment."""
    return load_settings(GatewaySettings)
