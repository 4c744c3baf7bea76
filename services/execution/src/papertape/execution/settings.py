"""The execution service's settings, read from the environment once (prefix ``PAPERTAPE_``)."""

from __future__ import annotations

import os
import socket
from decimal import Decimal
from typing import Annotated

import msgspec

from papertape.common.settings import CommonSettings, Interval, Port, load_settings
from papertape.contract.bounds import Millis, Ratio, Seed
from papertape.contract.events.execution import (
    ExecutionModels,
    FillPolicy,
    SlippageKind,
    SlippageModel,
    TriggerSource,
)
from papertape.contract.events.market import Timeframe
from papertape.trading.venue import VenueConfig
from papertape.trading.venue.sanity import DEFAULT_PRICE_BAND


class ExecutionSettings(CommonSettings, frozen=True, kw_only=True):
    """The venue's default models; ``overrides`` is JSON: {"<account>:<symbol>": models, ...}.

    Fees and the fixed slippage bps are not the venue's: each account's cost schedule sets them.
    """

    metrics_port: Port = 9103
    slippage_kind: SlippageKind = SlippageKind.FIXED_BPS
    volatility_multiplier: Ratio = Decimal(1)
    impact: Ratio = Decimal("0.1")
    seed: Seed = 0
    fill_on_touch: bool = False
    trigger_source: TriggerSource = TriggerSource.LAST
    max_volume_share: Ratio = Decimal(1)
    cap_at_quote_size: bool = False
    latency_ms: Millis = 0
    bar_timeframe: Timeframe = Timeframe.M1
    overrides: str = ""
    expiry_sweep_s: Interval = 1.0
    price_band: Ratio = DEFAULT_PRICE_BAND
    """A quote or bar this far (a fraction) from the last good price is refused; 0: no band."""
    """How often GTD and DAY orders are expired on the clock, without waiting for a quote."""
    partitions: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 1
    """Accounts are split into this many partitions, each owned by one replica at a time (a NATS
    KV lease) with its own book and market consumer; 1: one process owns every account."""
    replica: str = ""
    """This replica's name in the leases it holds ("": host and process id)."""

    def replica_name(self) -> str:
        """The name this replica holds its leases under."""
        return self.replica or f"{socket.gethostname()}-{os.getpid()}"

    def venue_config(self) -> VenueConfig:
        """The domain's configuration from these settings."""
        default = ExecutionModels(
            slippage=SlippageModel(
                kind=self.slippage_kind,
                volatility_multiplier=self.volatility_multiplier,
                impact=self.impact,
                seed=self.seed,
            ),
            fills=FillPolicy(
                fill_on_touch=self.fill_on_touch,
                max_volume_share=self.max_volume_share,
                cap_at_quote_size=self.cap_at_quote_size,
                latency_ms=self.latency_ms,
            ),
        )
        overrides = (
            msgspec.json.decode(self.overrides, type=dict[str, ExecutionModels])
            if self.overrides
            else {}
        )
        return VenueConfig(
            default=default,
            overrides=overrides,
            trigger_source=self.trigger_source,
            bar_timeframe=self.bar_timeframe,
            price_band=self.price_band,
        )


def read_settings() -> ExecutionSettings:
    """The settings from the environment."""
    return load_settings(ExecutionSettings)
