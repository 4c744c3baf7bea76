"""The signal service's settings, read once from the environment (prefix ``PAPERTAPE_``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from papertape.common.settings import CommonSettings, Interval, Port, load_settings
from papertape.contract.events.sessions import WARMUP_BARS


class SignalSettings(CommonSettings, frozen=True, kw_only=True):
    """Where the log and the bus are; how often accounts and runtime limits are looked at."""

    metrics_port: Port = 9104
    database_role: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_]{0,63}$")] = (
        "papertape_service"
    )
    """The role the log is used as: it may read and append, never rewrite ("" for the login)."""
    relay_role: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_]{0,63}$")] = "papertape_relay"
    """The relay's own role: it reads the log and moves its checkpoint ("" for the login)."""
    account_interval_s: Interval = 2.0
    """How often each running session's account is looked at (equity for sizing, halts)."""
    clock_interval_s: Interval = 1.0
    """How often runtime limits are checked and unanswered orders asked for again."""
    horizon: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 20
    """Bars after which an actionable signal that reached neither stop nor target is scored."""
    bar_batch: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    """The most bars handled as one batch (one append per session, one group commit)."""
    bar_wait_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0
    """How long one fetch of bars waits for a first bar (a bar that came is handled at once,
    with whatever came with it)."""
    warmup_bars: Annotated[int, msgspec.Meta(ge=0, le=WARMUP_BARS)] = 200
    """History bars a new session's strategies are warmed up with, per symbol (0: none)."""
    relay_batch: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    history: Annotated[int, msgspec.Meta(ge=100, le=10_000_000)] = 100_000
    """Signals, and outcomes, kept in memory for the history and calibration queries (the log
    keeps them all): calibration is over the latest ``history`` outcomes."""
    demo_account: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_\-]{0,64}$")] = ""
    """``make run``: start a demo bot session on this account (once)."""
    demo_symbols: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_\-]+(,[A-Za-z0-9_\-]+)*$")] = (
        "AAPL,MSFT,BTCUSD"
    )


def read_settings() -> SignalSettings:
    """The settings from ``PAPERTAPE_*`` (or bare) environment variables."""
    return load_settings(SignalSettings)
