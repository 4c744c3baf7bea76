"""The execution service refuses to start on a setting out of range, naming the variable."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from papertape.common.settings import SettingsError, load_settings
from papertape.execution.settings import ExecutionSettings


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("PAPERTAPE_VOLATILITY_MULTIPLIER", "NaN", "volatility_multiplier"),
        ("PAPERTAPE_VOLATILITY_MULTIPLIER", "-1", "volatility_multiplier"),
        ("PAPERTAPE_IMPACT", "Infinity", "impact"),
        ("PAPERTAPE_IMPACT", "1e30", "impact"),
        ("PAPERTAPE_IMPACT", "-1e400", "impact"),
        ("PAPERTAPE_MAX_VOLUME_SHARE", "-0.5", "max_volume_share"),
        ("PAPERTAPE_LATENCY_MS", "-5", "latency_ms"),
        ("PAPERTAPE_EXPIRY_SWEEP_S", "0", "expiry_sweep_s"),
        ("PAPERTAPE_EXPIRY_SWEEP_S", "-1", "expiry_sweep_s"),
        ("PAPERTAPE_BAR_TIMEFRAME", "7m", "bar_timeframe"),
        ("PAPERTAPE_METRICS_PORT", "65536", "metrics_port"),
        ("PAPERTAPE_PARTITIONS", "0", "partitions"),
    ],
)
def test_a_setting_out_of_range_is_refused_naming_it(variable: str, value: str, field: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(ExecutionSettings, env={variable: value})
    assert caught.value.field == field
    assert variable in str(caught.value)


def test_overrides_out_of_range_are_refused_when_the_venue_is_configured() -> None:
    overrides = '{"acc-1:AAPL": {"fees": {"bps": "NaN"}}}'
    settings = load_settings(ExecutionSettings, env={"PAPERTAPE_OVERRIDES": overrides})
    with pytest.raises(ValueError, match="bps must be finite"):
        settings.venue_config()


def test_the_defaults_load_and_configure_the_venue() -> None:
    settings = load_settings(ExecutionSettings, env={"PAPERTAPE_IMPACT": "0.2"})
    assert settings.venue_config().default.slippage.impact == Decimal("0.2")


def test_one_partition_by_default_and_a_replica_named_after_its_host_and_process() -> None:
    settings = load_settings(ExecutionSettings, env={})
    assert settings.partitions == 1
    assert settings.replica_name().endswith(f"-{os.getpid()}")
    named = load_settings(ExecutionSettings, env={"PAPERTAPE_REPLICA": "exec-a"})
    assert named.replica_name() == "exec-a"
