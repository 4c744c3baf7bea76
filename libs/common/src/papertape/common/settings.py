"""Settings: one frozen struct per service, read from the environment once.

Field ``nats_url`` of a struct read with prefix ``PAPERTAPE_`` comes from ``PAPERTAPE_NATS_URL``,
falling back to the unprefixed ``NATS_URL``; values are validated by msgspec (str -> int, bool …).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


class SettingsError(ValueError):
    """A setting is missing or malformed; ``field`` names it when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


_FIELD_IN_ERROR = re.compile(r"at `\$\.(?P<at>\w+)|missing required field `(?P<missing>\w+)`")
_BOOLEANS = {"yes": "true", "on": "true", "no": "false", "off": "false"}


def _variables(field: str, prefix: str) -> tuple[str, str]:
    return f"{prefix}{field.upper()}", field.upper()


def setting_from_env(
    name: str, env: Mapping[str, str] | None = None, prefix: str = "PAPERTAPE_"
) -> str:
    """One setting as the services read it: ``PAPERTAPE_<NAME>``, else ``<NAME>``; "" if unset."""
    source = os.environ if env is None else env
    for key in _variables(name, prefix):
        value = source.get(key, "").strip()
        if value:
            return value
    return ""


def load_settings(
    cls: type[S], prefix: str = "PAPERTAPE_", env: Mapping[str, str] | None = None
) -> S:
    """Build ``cls`` from the environment; unknown variables are ignored."""
    raw: dict[str, str] = {}
    for field in msgspec.structs.fields(cls):
        value = setting_from_env(field.name, env, prefix)
        if value:
            if field.type is bool:  # yes/no and on/off: booleans as shells write them
                value = _BOOLEANS.get(value.lower(), value)
            raw[field.name] = value
    try:
        return msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        match = _FIELD_IN_ERROR.search(str(exc))
        name = (match["at"] or match["missing"]) if match else None
        where = f" (set {' or '.join(_variables(name, prefix))})" if name else ""
        raise SettingsError(f"invalid settings for {cls.__name__}: {exc}{where}", name) from exc


class CommonSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every service needs: where the bus and the log are, and its namespace."""

    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/papertape"
    namespace: str = ""
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    log_level: str = "INFO"
    log_json: bool = False
