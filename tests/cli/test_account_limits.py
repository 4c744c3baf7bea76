"""``papertape account limits show|set`` and ``account reset`` against a real portfolio service."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from papertape.cli.commands.accounts import LIMIT_OPTIONS
from papertape.contract.limits import RiskLimits
from papertape.contract.subjects import Subjects
from papertape.portfolio.bootstrap import Portfolio
from tests.cli.accountlog import papertape
from tests.portfolio import conftest as portfolio_fixtures

pytestmark = pytest.mark.integration

portfolio = portfolio_fixtures.portfolio

# 10 AAPL at 150 is 1500: 15% of a 10,000 account, over the default limit of 10%.
LARGE_ORDER = ("order", "place", "alice", "AAPL", "buy", "10", "--type", "limit", "--limit", "150")


@pytest.fixture
def bus(nats_url: str, subjects: Subjects) -> tuple[str, ...]:
    return ("--nats-url", nats_url, "--namespace", subjects.namespace)


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await papertape(*argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_risk_limit_has_an_option_of_limits_set() -> None:
    assert list(LIMIT_OPTIONS) == list(RiskLimits.__struct_fields__)


async def test_limits_show_prints_the_default_limits(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)

    code, out, _ = await _cli(capsys, "account", "limits", "show", "alice", *bus)
    assert code == 0
    assert "risk limits of account alice" in out
    assert "max_position_pct" in out

    code, out, _ = await _cli(capsys, "account", "limits", "show", "alice", "--json", *bus)
    limits = json.loads(out)
    assert code == 0
    assert Decimal(limits["max_position_pct"]) == 10
    assert limits["max_trades_per_day"] == 50


async def test_a_larger_position_limit_lets_a_refused_order_through_and_keeps_the_others(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)
    code, _, err = await _cli(capsys, *LARGE_ORDER, *bus)
    assert code == 1
    assert "refused: max_position_size:" in err

    code, out, _ = await _cli(
        capsys, "account", "limits", "set", "alice", "--max-position-pct", "20", *bus
    )
    assert code == 0
    assert "risk limits set: max_position_pct 20 (account alice at version 3)" in out
    assert (await _cli(capsys, *LARGE_ORDER, *bus))[0] == 0

    _, out, _ = await _cli(capsys, "account", "limits", "show", "alice", "--json", *bus)
    limits = json.loads(out)
    assert Decimal(limits["max_position_pct"]) == 20
    assert Decimal(limits["max_risk_per_trade_pct"]) == 2
    assert limits["max_trades_per_day"] == 50


async def test_limits_set_answers_json_with_the_limits_event(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)

    code, out, _ = await _cli(
        capsys, "account", "limits", "set", "alice", "--max-trades-per-day", "7", "--json", *bus
    )

    result = json.loads(out)
    assert code == 0
    (event,) = result["events"]
    assert event["data"]["type"] == "risk_limits_set.v1"
    assert event["data"]["limits"]["max_trades_per_day"] == 7


async def test_limits_refused_by_the_account_exit_1_with_the_reason(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)

    code, _, err = await _cli(
        capsys, "account", "limits", "set", "alice", "--max-position-pct", "0", *bus
    )

    assert code == 1
    assert "refused: invalid_limits:" in err


async def test_limits_set_without_a_limit_is_a_usage_error(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)

    code, _, err = await _cli(capsys, "account", "limits", "set", "alice", *bus)

    assert code == 2
    assert "nothing to set: give one or more of --max-position-pct" in err


async def test_reset_starts_a_new_epoch_with_the_cash_given_and_no_working_orders(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", *bus)
    await _cli(capsys, "account", "deposit", "alice", "500", *bus)
    order = ("order", "place", "alice", "AAPL", "buy", "5", "--type", "limit", "--limit", "100")
    assert (await _cli(capsys, *order, *bus))[0] == 0

    code, out, _ = await _cli(
        capsys, "account", "reset", "alice", "--cash", "5000", "--reason", "new season", *bus
    )
    assert code == 0
    assert "reset with 5000 (account alice at version" in out

    _, out, _ = await _cli(capsys, "account", "show", "alice", "--json", *bus)
    summary = json.loads(out)["summary"]
    assert Decimal(summary["cash"]) == 5000
    assert summary["epoch"] == 1
    assert json.loads(out)["open_orders"] == []


async def test_reset_without_cash_goes_back_to_the_initial_cash_and_answers_json(
    portfolio: Portfolio, bus: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    await _cli(capsys, "account", "open", "alice", "--cash", "25000", *bus)
    await _cli(capsys, "account", "withdraw", "alice", "1000", *bus)

    code, out, _ = await _cli(capsys, "account", "reset", "alice", "--json", *bus)

    result = json.loads(out)
    assert code == 0
    (reset,) = [e["data"] for e in result["events"] if e["data"]["type"] == "account_reset.v1"]
    assert Decimal(reset["initial_cash"]) == 25000
    _, out, _ = await _cli(capsys, "account", "show", "alice", "--json", *bus)
    assert Decimal(json.loads(out)["summary"]["cash"]) == 25000
