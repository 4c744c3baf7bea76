"""Market-data refuses to start on an unknown feed or a setting out of range, naming it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from papertape.common.settings import SettingsError, load_settings
from papertape.contract.ids import Symbol
from papertape.marketdata.settings import MarketDataSettings
from papertape.trading.account.currency import rate_for


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("PAPERTAPE_FEED", "bogus", "feed"),
        ("PAPERTAPE_REPLAY_KIND", "ticks", "replay_kind"),
        ("PAPERTAPE_QUOTE_RATE", "-1", "quote_rate"),
        ("PAPERTAPE_TIME_SCALE", "0", "time_scale"),
        ("PAPERTAPE_REPLAY_SPEED", "-2", "replay_speed"),
        ("PAPERTAPE_POLL_INTERVAL_S", "0", "poll_interval_s"),
        ("PAPERTAPE_BAR_CLOSE_GRACE_S", "-0.1", "bar_close_grace_s"),
        ("PAPERTAPE_TIMEFRAMES", "1m,7m", "timeframes"),
        ("PAPERTAPE_SYMBOLS", "AAPL,,MSFT", "symbols"),
        ("PAPERTAPE_SEED", "-1", "seed"),
        ("PAPERTAPE_METRICS_PORT", "99999", "metrics_port"),
    ],
)
def test_a_setting_out_of_range_is_refused_naming_it(variable: str, value: str, field: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(MarketDataSettings, env={variable: value})
    assert caught.value.field == field
    assert variable in str(caught.value)


def test_the_defaults_and_every_feed_name_load() -> None:
    for feed in ("synthetic", "replay", "live"):
        assert load_settings(MarketDataSettings, env={"PAPERTAPE_FEED": feed}).feed == feed
    settings = load_settings(MarketDataSettings, env={"PAPERTAPE_TIMEFRAMES": "1m, 5m"})
    assert [t.value for t in settings.timeframe_list()] == ["1m", "5m"]


@pytest.mark.parametrize("base", ["USD", "EUR", "GBP", "JPY"])
def test_the_default_symbols_convert_each_other_for_accounts_in_the_major_currencies(
    base: str,
) -> None:
    symbols = MarketDataSettings().symbol_list()
    marks = {Symbol(s): Decimal(1) for s in symbols}  # what a rate is made of, not its value
    assert all(rate_for(marks, symbol, base) is not None for symbol in symbols)
