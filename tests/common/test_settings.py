"""Settings come from the environment once, validated, with errors that name the field."""

from __future__ import annotations

import msgspec
import pytest

from papertape.common.settings import CommonSettings, SettingsError, load_settings


class ServiceSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A service's settings, for the tests."""

    api_key: str
    batch_size: int = 100
    dry_run: bool = False
    fee_bps: float = 1.5


def test_defaults_apply_when_the_environment_is_silent() -> None:
    settings = load_settings(CommonSettings, env={})
    assert settings == CommonSettings()


def test_prefixed_variable_wins_over_the_plain_one() -> None:
    env = {"PAPERTAPE_NATS_URL": "nats://a:4222", "NATS_URL": "nats://b:4222"}
    assert load_settings(CommonSettings, env=env).nats_url == "nats://a:4222"


def test_plain_variable_is_the_fallback() -> None:
    env = {"DATABASE_URL": "postgresql://x/y", "METRICS_PORT": "9100"}
    settings = load_settings(CommonSettings, env=env)
    assert settings.database_url == "postgresql://x/y"
    assert settings.metrics_port == 9100


def test_values_are_converted_from_strings() -> None:
    env = {
        "PAPERTAPE_API_KEY": "k",
        "PAPERTAPE_BATCH_SIZE": " 250 ",
        "DRY_RUN": "true",
        "FEE_BPS": "0.25",
    }
    assert load_settings(ServiceSettings, env=env) == ServiceSettings(
        api_key="k", batch_size=250, dry_run=True, fee_bps=0.25
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("yes", True), ("On", True), ("0", False), ("no", False), ("off", False)],
)
def test_booleans_read_as_shells_write_them(raw: str, expected: bool) -> None:
    assert load_settings(ServiceSettings, env={"API_KEY": "k", "DRY_RUN": raw}).dry_run is expected


def test_empty_variables_count_as_unset() -> None:
    settings = load_settings(ServiceSettings, env={"API_KEY": "k", "PAPERTAPE_BATCH_SIZE": ""})
    assert settings.batch_size == 100


def test_other_prefixes_read_their_own_variables() -> None:
    env = {"MD_API_KEY": "md", "PAPERTAPE_API_KEY": "pt"}
    assert load_settings(ServiceSettings, prefix="MD_", env=env).api_key == "md"


def test_malformed_value_raises_settings_error_naming_field_and_variables() -> None:
    with pytest.raises(SettingsError, match="batch_size") as caught:
        load_settings(ServiceSettings, env={"API_KEY": "k", "BATCH_SIZE": "many"})
    assert caught.value.field == "batch_size"
    assert "PAPERTAPE_BATCH_SIZE" in str(caught.value)


def test_missing_required_value_raises_settings_error_naming_the_field() -> None:
    with pytest.raises(SettingsError, match="api_key") as caught:
        load_settings(ServiceSettings, env={})
    assert caught.value.field == "api_key"


def test_unknown_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTAPE_NOT_A_SETTING", "x")
    monkeypatch.setenv("PAPERTAPE_LOG_LEVEL", "DEBUG")
    assert load_settings(CommonSettings).log_level == "DEBUG"


def test_a_cluster_is_a_comma_separated_list_of_its_servers() -> None:
    env = {"NATS_URL": "nats://a:4222,nats://b:4222, nats://c:4222"}
    with pytest.raises(SettingsError, match="NATS_URL"):
        load_settings(CommonSettings, env=env)  # no blanks inside the list
    env = {"NATS_URL": "nats://a:4222,nats://b:4222,nats://c:4222"}
    servers = load_settings(CommonSettings, env=env).nats_servers()
    assert servers == ["nats://a:4222", "nats://b:4222", "nats://c:4222"]
    with pytest.raises(SettingsError, match="nats_url"):
        load_settings(CommonSettings, env={"NATS_URL": "nats://a:4222,http://b"})
