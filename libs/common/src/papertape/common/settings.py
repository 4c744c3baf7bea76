"""Settings: one frozen struct per service, read from the environment once.

Field ``nats_url`` of a struct read with prefix ``PAPERTAPE_`` comes from ``PAPERTAPE_NATS_URL``,
falling back to the unprefixed ``NATS_URL``; values are validated by msgspec (str -> int, bool …)
against the constraints of the struct's fields (``msgspec.Meta`` ranges and patterns, and the
Decimal bounds of papertape.contract.bounds), so a service with a bad setting stops at start
with a ``SettingsError`` that names the variable to fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, TypeVar

import msgspec

from papertape.contract.bounds import Bounded

S = TypeVar("S", bound=msgspec.Struct)


class SettingsError(ValueError):
    """A setting is missing or malformed; ``field`` names it when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


_FIELD_IN_ERROR = re.compile(
    r"at `\$\.(?P<at>\w+)|missing required field `(?P<missing>\w+)`|^(?P<bounded>\w+) must "
)
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
        name = (match["at"] or match["missing"] or match["bounded"]) if match else None
        where = f" (set {' or '.join(_variables(name, prefix))})" if name else ""
        raise SettingsError(f"invalid settings for {cls.__name__}: {exc}{where}", name) from exc


_NATS_URL = r"(nats|tls|ws|wss)://[^\s,]+"
_NATS_URLS = rf"^{_NATS_URL}(,{_NATS_URL})*$"

Port = Annotated[int, msgspec.Meta(ge=-1, le=65535)]
"""A TCP port to listen on: 0 picks a free one, -1 turns the listener off."""
Interval = Annotated[float, msgspec.Meta(gt=0, le=86400)]
"""A period in seconds of a loop (0 or less would spin)."""
Rate = Annotated[float, msgspec.Meta(ge=0, le=1e6)]
"""A speed or rate; 0 means as fast as possible."""


class CommonSettings(Bounded, frozen=True, kw_only=True):
    """What every service needs: where the bus and the log are, and its namespace."""

    nats_url: Annotated[str, msgspec.Meta(pattern=_NATS_URLS)] = "nats://127.0.0.1:4222"
    """One server, or a comma-separated list of a cluster's servers to try first."""
    database_url: Annotated[str, msgspec.Meta(pattern=r"^postgres(ql)?://\S+$")] = (
        "postgresql://postgres@127.0.0.1:5432/papertape"
    )
    namespace: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_\-]{0,32}$")] = ""
    metrics_port: Port = 0
    metrics_host: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] = "127.0.0.1"
    log_level: Annotated[str, msgspec.Meta(pattern=r"^(?i:debug|info|warning|error|critical)$")] = (
        "INFO"
    )
    log_json: bool = False
    metrics_targets_dir: Annotated[str, msgspec.Meta(max_length=4096)] = ""
    """Where to write this service's Prometheus scrape target (file_sd); "" writes none."""
    traces_exporter: Annotated[str, msgspec.Meta(pattern=r"^(none|otlp)$")] = "none"
    """Where spans go: ``otlp`` (OTLP over HTTP) or ``none``."""
    otlp_endpoint: Annotated[str, msgspec.Meta(pattern=r"^(https?://\S+)?$")] = ""
    """The OTLP/HTTP traces URL (``…/v1/traces``); "" uses ``OTEL_EXPORTER_OTLP_*`` or the
    exporter's default (``http://localhost:4318/v1/traces``)."""

    def nats_servers(self) -> list[str]:
        """The servers of ``nats_url``, in order (a cluster tells its other members itself)."""
        return nats_servers(self.nats_url)


def nats_servers(nats_url: str) -> list[str]:
    """The servers of a NATS URL that may list several, comma-separated."""
    return [url.strip() for url in nats_url.split(",") if url.strip()]
