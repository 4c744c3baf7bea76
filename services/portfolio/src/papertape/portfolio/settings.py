"""The portfolio service's settings, read once from the environment."""

from __future__ import annotations

from papertape.common.settings import CommonSettings, load_settings


class PortfolioSettings(CommonSettings, frozen=True, kw_only=True):
    """Where the log and the bus are, and how often to snapshot and persist marks."""

    metrics_port: int = 9101
    database_role: str = "papertape_service"
    """The role the log is used as: it may read and append, never rewrite ("" for the login)."""
    snapshot_every: int = 100
    mark_interval_s: float = 15.0
    relay_batch: int = 500
    demo_account: str = ""


def read_settings() -> PortfolioSettings:
    """The settings from ``PAPERTAPE_*`` (or bare) environment variables."""
    return load_settings(PortfolioSettings)
