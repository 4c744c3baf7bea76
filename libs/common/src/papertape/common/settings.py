"""Settings: one frozen struct per service, read from the environment once.

Field ``nats_url`` of a struct read with prefix ``PAPERTAPE_`` comes from ``PAPERTAPE_NATS_URL``,
falling back to the unprefixed ``NATS_URL``; values are validated by msgspec (str -> int, bool …).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


class SettingsError(ValueError):
    """A setting is missing or malformed."""


def load_settings(cls: type[S], prefix: str = "PAPERTAPE_", env: Mapping[str, str] | None = None) -> S:
    """Build ``cls`` from the environment; unknown variables are ignored."""
    source = os.environ if env is None else env
    raw: dict[str, str] = {}
    for field in msgspec.structs.fields(cls):
        for key in (f"{prefix}{field.name.upper()}", field.name.upper()):
            if key in source and source[key] != "":
                raw[field.name] = source[key]
                break
    try:
        return msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid settings for {cls.__name__}: {exc}") from exc


class CommonSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every service needs: where the bus and the log are, and its namespace."""

    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/papertape"
    namespace: str = ""
    metrics_port: int = 0
    log_level: str = "INFO"
    log_json: bool = False
