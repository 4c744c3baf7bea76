"""The portfolio service's settings, read once from the environment."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import msgspec

from papertape.common.settings import CommonSettings, Interval, Port, load_settings
from papertape.contract.bounds import Ratio
from papertape.contract.partitions import MAX_PARTITIONS
from papertape.trading.venue.sanity import DEFAULT_PRICE_BAND


def default_replica() -> str:
    """A replica's name when none is given: its host and process, unique while it runs."""
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())
    return f"{host[:40]}-{os.getpid()}"


class PortfolioSettings(CommonSettings, frozen=True, kw_only=True):
    """Where the log and the bus are, and how often to snapshot and persist marks."""

    metrics_port: Port = 9101
    database_role: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_]{0,63}$")] = (
        "papertape_service"
    )
    """The role the log is used as: it may read and append, never rewrite ("" for the login)."""
    relay_role: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_]{0,63}$")] = "papertape_relay"
    """The relay's own role: it reads the log and moves its checkpoint ("" for the login)."""
    snapshot_every: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 100
    snapshot_of_size: Annotated[float, msgspec.Meta(ge=0, le=10)] = 0.25
    """And no sooner than this fraction of the account's size in entries (orders, fills, trades,
    equity points) after the last snapshot, so a long history is not encoded every 100 events."""
    mark_interval_s: Interval = 15.0
    relay_batch: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    command_workers: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 256
    """Commands handled at once (across accounts; one account's decided in arrival order)."""
    report_batch: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 256
    """Execution reports pulled at once (applied in order per account, accounts at once)."""
    anchor_interval_s: Interval = 60.0
    """How often the log's head is anchored to the ANCHORS stream."""
    anchor_file: Annotated[str, msgspec.Meta(max_length=4096)] = ""
    """A file of JSON lines each anchor is appended to as well ("" for none)."""
    price_band: Ratio = DEFAULT_PRICE_BAND
    """A quote this far (a fraction) from the last good mark is refused as a mark; 0: no band."""
    partitions: Annotated[int, msgspec.Meta(ge=1, le=MAX_PARTITIONS)] = 1
    """Accounts are split into this many partitions, each owned by one replica at a time
    (``papertape.portfolio.ownership``); 1: one process serves every account, as always."""
    replica: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_\-]{1,64}$")] = msgspec.field(
        default_factory=default_replica
    )
    """This replica's name (logs, metrics); by default its host and process id."""
    demo_account: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_\-]{0,64}$")] = ""


def read_settings() -> PortfolioSettings:
    """The settings from ``PAPERTAPE_*`` (or bare) environment variables."""
    return load_settings(PortfolioSettings)
