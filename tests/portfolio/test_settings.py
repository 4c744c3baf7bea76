"""The portfolio refuses to start on a setting out of range, naming the variable to fix."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from papertape.common.settings import SettingsError, load_settings
from papertape.portfolio.settings import PortfolioSettings


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("PAPERTAPE_SNAPSHOT_EVERY", "-1", "snapshot_every"),
        ("PAPERTAPE_SNAPSHOT_EVERY", "0", "snapshot_every"),
        ("PAPERTAPE_SNAPSHOT_OF_SIZE", "-0.5", "snapshot_of_size"),
        ("PAPERTAPE_SNAPSHOT_OF_SIZE", "nan", "snapshot_of_size"),
        ("PAPERTAPE_MARK_INTERVAL_S", "-1", "mark_interval_s"),
        ("PAPERTAPE_MARK_INTERVAL_S", "0", "mark_interval_s"),
        ("PAPERTAPE_MARK_INTERVAL_S", "nan", "mark_interval_s"),
        ("PAPERTAPE_RELAY_BATCH", "0", "relay_batch"),
        ("PAPERTAPE_METRICS_PORT", "70000", "metrics_port"),
        ("PAPERTAPE_METRICS_PORT", "-2", "metrics_port"),
        ("PAPERTAPE_DEMO_ACCOUNT", "a.b", "demo_account"),
        ("PAPERTAPE_NAMESPACE", "t 1", "namespace"),
        ("PAPERTAPE_NATS_URL", "localhost", "nats_url"),
        ("PAPERTAPE_DATABASE_URL", "mysql://x", "database_url"),
        ("PAPERTAPE_LOG_LEVEL", "loud", "log_level"),
    ],
)
def test_a_setting_out_of_range_is_refused_naming_it(variable: str, value: str, field: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(PortfolioSettings, env={variable: value})
    assert caught.value.field == field
    assert variable in str(caught.value)


def test_the_defaults_and_sane_values_load() -> None:
    env = {"PAPERTAPE_SNAPSHOT_EVERY": "1", "PAPERTAPE_MARK_INTERVAL_S": "0.05"}
    settings = load_settings(PortfolioSettings, env=env)
    assert settings.snapshot_every == 1
    assert settings.mark_interval_s == 0.05


def test_the_service_stops_at_start_with_a_message_naming_the_setting() -> None:
    env = {**os.environ, "PAPERTAPE_MARK_INTERVAL_S": "-1"}
    run = subprocess.run(
        [sys.executable, "-m", "papertape.portfolio"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    assert "PAPERTAPE_MARK_INTERVAL_S" in run.stderr


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("PAPERTAPE_PARTITIONS", "0", "partitions"),
        ("PAPERTAPE_PARTITIONS", "17", "partitions"),
        ("PAPERTAPE_REPLICA", "a.b", "replica"),
    ],
)
def test_partitions_and_the_replica_name_out_of_range_are_refused(
    variable: str, value: str, field: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(PortfolioSettings, env={variable: value})
    assert caught.value.field == field


def test_one_partition_by_default_and_a_replica_named_after_its_host_and_process() -> None:
    settings = load_settings(PortfolioSettings, env={})
    assert settings.partitions == 1
    assert settings.replica.endswith(f"-{os.getpid()}")
    named = load_settings(
        PortfolioSettings, env={"PAPERTAPE_PARTITIONS": "4", "PAPERTAPE_REPLICA": "p-2"}
    )
    assert (named.partitions, named.replica) == (4, "p-2")
